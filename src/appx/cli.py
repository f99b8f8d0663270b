"""The command line: parse, call one operation, render. The only place errors become exit codes."""

from __future__ import annotations

import os
import shlex
import traceback
from pathlib import Path
from typing import Annotated

import typer

from appx import __version__
from appx.errors import AppxError
from appx.output import Console
from appx.paths import AppxPaths
from appx.signals import install_handlers

app = typer.Typer(
    name="appx",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """What the callback sets up once for every command."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._paths: AppxPaths | None = None

    @property
    def paths(self) -> AppxPaths:
        if self._paths is None:
            self._paths = AppxPaths.from_env()
        return self._paths


def _version(value: bool) -> None:
    if value:
        print(f"appx {__version__}")
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show each step, keep installer logs, show tracebacks."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show appx's version."),
    ] = False,
) -> None:
    """Install Python command-line applications, each in an isolated environment.

    \b
    Examples:
      appx install black          black in its own venv; only its commands on PATH
      appx install 'black[d]==24.1.0' --python 3.12
      appx list
      appx uninstall black
    """
    state = ctx.obj if isinstance(ctx.obj, State) else State(Console())
    state.console.quiet = quiet
    state.console.verbose = verbose
    ctx.obj = state


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)  # noqa: S101 -- set by the callback
    return state


@app.command()
def install(
    ctx: typer.Context,
    specs: Annotated[
        list[str], typer.Argument(help="Package names, paths or URLs.", metavar="SPEC")
    ],
    python: Annotated[
        str | None, typer.Option(help="Python to use: a path, a command or a version such as 3.12.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Reinstall; move conflicting files aside.")
    ] = False,
    suffix: Annotated[str, typer.Option(help="Suffix for the app and its command names.")] = "",
    include_deps: Annotated[
        bool, typer.Option(help="Expose the commands of dependencies too.")
    ] = False,
    index_url: Annotated[
        str | None, typer.Option("--index-url", "-i", help="Package index URL.")
    ] = None,
    pip_args: Annotated[
        str, typer.Option(help="Extra arguments for pip, quoted as one string.")
    ] = "",
    editable: Annotated[
        bool, typer.Option("--editable", "-e", help="Install a local project in editable mode.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Install applications, each in a virtual environment of its own.

    \b
    Examples:
      appx install black pycowsay
      appx install black==24.1.0 --suffix=-24
      appx install ./my-project --editable
      appx install git+https://github.com/user/tool.git --python 3.12
    """
    from appx.install import InstallOptions, install_apps
    from appx.render import render_install

    state = _state(ctx)
    state.console.json_mode = json_output
    options = InstallOptions(
        python=python,
        force=force,
        suffix=suffix,
        include_deps=include_deps,
        index_url=index_url,
        pip_args=tuple(shlex.split(pip_args)),
        editable=editable,
        keep_log=state.console.verbose,
    )
    results = install_apps(
        state.paths, specs, options, state.console, cwd=Path.cwd(), environ=os.environ
    )
    render_install(state.console, results)


@app.command()
def uninstall(
    ctx: typer.Context,
    names: Annotated[
        list[str],
        typer.Argument(help="Apps to uninstall, as 'appx list' names them.", metavar="APP"),
    ],
) -> None:
    """Uninstall apps: their environments and commands go; nothing else is touched.

    \b
    Example:
      appx uninstall black pycowsay
    """
    from appx.render import render_uninstall
    from appx.uninstall import uninstall_apps

    state = _state(ctx)
    render_uninstall(state.console, uninstall_apps(state.paths, names, state.console))


@app.command("uninstall-all")
def uninstall_all(ctx: typer.Context) -> None:
    """Uninstall every app."""
    from appx.render import render_uninstall
    from appx.uninstall import uninstall_all as run_uninstall_all

    state = _state(ctx)
    render_uninstall(state.console, run_uninstall_all(state.paths, state.console))


@app.command("list")
def list_(
    ctx: typer.Context,
    short: Annotated[
        bool, typer.Option("--short", help="One line per app: name and version.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON document (schema 1).")
    ] = False,
) -> None:
    """List installed apps, their commands, and any problem with them.

    \b
    Examples:
      appx list
      appx list --short
      appx list --json | jq '.apps[].app'
    """
    from appx.listing import list_apps
    from appx.render import render_list

    state = _state(ctx)
    render_list(state.console, list_apps(state.paths), short=short, json_output=json_output)


@app.command()
def ensurepath(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option(help="Add the bin dir even if it seems to be on PATH.")
    ] = False,
) -> None:
    """Add appx's bin directory to PATH in your shell's startup files."""
    from appx.environment import ensure_path
    from appx.render import render_ensurepath

    state = _state(ctx)
    render_ensurepath(state.console, ensure_path(state.paths, force=force))


@app.command()
def environment(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show every path and variable appx uses, and where each value came from."""
    from appx.environment import describe_environment
    from appx.render import render_environment

    state = _state(ctx)
    render_environment(state.console, describe_environment(state.paths, os.environ), json_output)


def run(argv: list[str]) -> int:
    """Run the CLI and return the exit code; the only place AppxError becomes one."""
    state = State(Console())
    console = state.console
    install_handlers()  # SIGINT and SIGTERM unwind as KeyboardInterrupt
    try:
        code = app(args=argv, prog_name="appx", standalone_mode=False, obj=state)
        if code == 130:  # typer turns Ctrl-C into a returned 130 once it has cleaned up
            print("\ninterrupted", file=console.err)
    except AppxError as error:
        console.error(error)
        if console.verbose:
            traceback.print_exc()
        return error.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=console.err)
        return 130
    except Exception as error:  # noqa: BLE001 -- the last line of defence turns a bug into exit 1
        if type(error).__name__ == "Abort":  # click's (or typer's vendored click's) Ctrl-C
            print("\ninterrupted", file=console.err)
            return 130
        show, exit_code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):  # a usage error: click prints it
            show()
            return exit_code
        if console.verbose:
            traceback.print_exc()
        print(f"error: unexpected {type(error).__name__}: {error}", file=console.err)
        print("  hint: this is a bug in appx; rerun with --verbose and report it", file=console.err)
        return 1
    return code if isinstance(code, int) else 0
