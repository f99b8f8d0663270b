"""The command line: parse, call one operation, render. The only place errors become exit codes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
import typer.main

# typer (0.26 and later) vendors click: these are the classes its parser really raises.
from typer._click.exceptions import UsageError as ClickUsageError

from appx import (
    cli_doctor,
    cli_inject,
    cli_lean,
    cli_lifecycle,
    cli_options,
    cli_run,
    cli_sync,
    errors,
)
from appx.cli_lean import State as State  # noqa: PLC0414 -- the cli_* modules name it from here
from appx.errors import AppxError, UsageError
from appx.output import Console, reader_gone

app = typer.Typer(
    name="appx",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        cli_lean.show_version(_state(ctx))
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only errors and what was asked for (list, environment)."
        ),
    ] = False,
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
    state = _state(ctx)
    state.console.quiet = quiet
    state.console.verbose = verbose


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)  # noqa: S101 -- run() passes it to the root context
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
    extra_index_url: Annotated[
        list[str] | None,
        typer.Option("--extra-index-url", help="Another index to search (repeatable)."),
    ] = None,
    find_links: Annotated[
        list[str] | None,
        typer.Option("--find-links", help="A directory or page of archives (repeatable)."),
    ] = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Use no index: only --find-links.")
    ] = False,
    pre: Annotated[bool, typer.Option("--pre", help="Allow pre-releases.")] = False,
    trusted_host: Annotated[
        list[str] | None,
        typer.Option("--trusted-host", help="A host to trust without valid HTTPS (repeatable)."),
    ] = None,
    constraint: Annotated[
        list[str] | None,
        typer.Option("--constraint", "-c", help="A constraints file (repeatable)."),
    ] = None,
    pip_args: Annotated[
        str, typer.Option(help="Extra arguments for pip, quoted as one string.")
    ] = "",
    editable: Annotated[
        bool, typer.Option("--editable", "-e", help="Install a local project in editable mode.")
    ] = False,
    backend: cli_options.Backend = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Install applications, each in a virtual environment of its own.

    \b
    Examples:
      appx install black pycowsay
      appx install black==24.1.0 --suffix=-24
      appx install ./my-project --editable
      appx install git+https://github.com/user/tool.git --python 3.12
      appx install tool --index-url https://pypi.example.org/simple --pre
      appx install tool --no-index --find-links ./wheels
    """
    from appx.indexes import IndexOptions, absolute_location, split_pip_args
    from appx.install import InstallOptions, install_apps
    from appx.render import render_install

    state = _state(ctx)
    cwd = Path.cwd()
    state.console.use_json(json_output, {"results": []})
    options = InstallOptions(
        python=python,
        force=force,
        suffix=suffix,
        include_deps=include_deps,
        index=IndexOptions(
            index_url=index_url,
            extra_index_urls=tuple(extra_index_url or ()),
            find_links=tuple(absolute_location(place, cwd) for place in find_links or ()),
            no_index=no_index,
            pre=pre,
            trusted_hosts=tuple(trusted_host or ()),
            constraints=tuple(absolute_location(place, cwd) for place in constraint or ()),
            pip_args=split_pip_args(pip_args),
        ),
        editable=editable,
        keep_log=state.console.verbose,
        backend=backend,
    )
    results = install_apps(state.paths, specs, options, state.console, cwd=cwd, environ=os.environ)
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
    cli_lean.uninstall_command(_state(ctx), names)


@app.command("uninstall-all")
def uninstall_all(ctx: typer.Context) -> None:
    """Uninstall every app."""
    cli_lean.uninstall_all_command(_state(ctx))


@app.command("list")
def list_(
    ctx: typer.Context,
    short: Annotated[
        bool, typer.Option("--short", help="One line per app: name and version.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON document (schema 1).")
    ] = False,
    outdated: Annotated[
        bool, typer.Option("--outdated", help="What upgrade-all would change (asks the index).")
    ] = False,
) -> None:
    """List installed apps, their commands, and any problem with them.

    \b
    Examples:
      appx list
      appx list --short
      appx list --json | jq '.apps[].app'
      appx list --outdated
    """
    state = _state(ctx)
    if outdated:
        from appx.outdated import outdated_apps
        from appx.render_lifecycle import render_outdated

        state.console.use_json(json_output)
        found = outdated_apps(state.paths, state.console, environ=os.environ)
        render_outdated(state.console, found)
        return
    cli_lean.list_command(state, short=short, json_output=json_output)


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
    cli_lean.environment_command(_state(ctx), json_output=json_output)


app.command("run", context_settings=cli_run.CONTEXT_SETTINGS)(cli_run.run_command)
app.add_typer(cli_run.cache_app, name="cache")
cli_lifecycle.register(app)
cli_inject.register(app)
cli_sync.register(app)
cli_doctor.register(app)


def _json_requested(argv: Sequence[str]) -> bool:
    """Whether --json is on the command line (before any ``--``), for errors that come before
    a command has read its options: a usage error, or Ctrl-C while parsing."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _usage_error(error: ClickUsageError) -> UsageError:
    """The parser's usage error as appx's own, with a hint to the help of the right command."""
    command = error.ctx.command_path if error.ctx is not None else "appx"
    subject = "the commands" if command == "appx" else "its options"
    message = error.format_message().removesuffix(".")
    return UsageError(message, f"run '{command} --help' to see {subject}")


def _invoke(argv: Sequence[str], state: State) -> int:
    """Parse and run one command; exceptions go through untouched (run() sorts them)."""
    command = typer.main.get_command(app)
    try:
        with command.make_context("appx", list(argv), obj=state) as ctx:
            command.invoke(ctx)
    except typer.Exit as done:  # --help, --version
        return done.exit_code
    return 0


def as_appx_error(error: Exception | KeyboardInterrupt) -> AppxError:
    """The error funnel: every way a call can fail, as one AppxError with its exit code."""
    if isinstance(error, ClickUsageError):
        return _usage_error(error)
    if isinstance(error, typer.Abort):  # the parser's own Ctrl-C
        return errors.as_appx_error(KeyboardInterrupt())
    return errors.as_appx_error(error)


def run(argv: Sequence[str], console: Console | None = None) -> int:
    """Run the CLI and return the exit code; the only place an error becomes one."""
    state = State(console or Console())
    try:
        return _invoke(argv, state)
    except (Exception, KeyboardInterrupt) as raised:  # noqa: BLE001 -- the funnel, see as_appx_error
        if isinstance(raised, BrokenPipeError):
            return reader_gone()  # whatever was done stands; nobody is left to tell
        error = as_appx_error(raised)
        console = state.console
        if not console.json_mode and _json_requested(argv):
            console.use_json(True)  # the command never read its options: a usage error, Ctrl-C
        console.fail(error, origin=None if isinstance(raised, ClickUsageError) else raised)
        return error.exit_code
