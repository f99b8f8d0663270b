"""The `appx run` command: parse, prepare the run, exec the app (the CLI registers it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appx import cli_options

if TYPE_CHECKING:
    from appx.cli import State

# Everything after APP belongs to the app, even `--help`: stop parsing at the first argument.
CONTEXT_SETTINGS = {"allow_interspersed_args": False}


def run_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="APP", help="The app (or its package) to run.")],
    args: Annotated[
        list[str] | None, typer.Argument(metavar="[ARGS]...", help="Passed to the app as they are.")
    ] = None,
    spec: Annotated[
        str | None,
        typer.Option(help="What to install, when it is not APP: a requirement, path or URL."),
    ] = None,
    with_: Annotated[
        list[str] | None, typer.Option("--with", help="Another package to install (repeatable).")
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="Python to use: a path, a command or a version such as 3.12.")
    ] = None,
    index_url: Annotated[
        str | None, typer.Option("--index-url", "-i", help="Package index URL.")
    ] = None,
    pip_args: Annotated[
        str, typer.Option(help="Extra arguments for pip, quoted as one string.")
    ] = "",
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="A fresh environment, removed when the app exits.")
    ] = False,
    refresh: Annotated[bool, typer.Option(help="Rebuild the cached environment now.")] = False,
    offline: Annotated[
        bool, typer.Option(help="Use the cache only; an app not in it is an error.")
    ] = False,
    backend: cli_options.Backend = None,
) -> None:
    """Run an app from a cached throwaway environment (built on first use, kept a week).

    \b
    Examples:
      appx run pycowsay hello
      appx run black==24.1.0 --version
      appx run --spec httpie http --version
      appx run --with black-plugin black .
      appx run --no-cache cowsay -t hi
    """
    from appx import proc
    from appx.indexes import IndexOptions, split_pip_args
    from appx.run import RunOptions, prepare_run

    state: State = ctx.find_root().obj
    options = RunOptions(
        spec=spec,
        with_=tuple(with_ or ()),
        python=python,
        index=IndexOptions(index_url=index_url, pip_args=split_pip_args(pip_args)),
        no_cache=no_cache,
        refresh=refresh,
        offline=offline,
        keep_log=state.console.verbose,
        backend=backend,
    )
    launch = prepare_run(
        state.paths,
        target,
        args or [],
        options,
        state.console,
        cwd=Path.cwd(),
        environ=os.environ,
    )
    if launch.discard is None:
        proc.exec_app(launch.argv)
    from appx.cache import discard_once

    try:
        code = proc.run_app(launch.argv)
    finally:
        discard_once(state.paths, launch.discard, launch.lock_fd)
    raise typer.Exit(code)


cache_app = typer.Typer(
    help="The cache of `appx run`: list, clear, or locate it.", no_args_is_help=True
)


@cache_app.command("list")
def cache_list(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """What each cached environment holds, its Python, age, size and last use."""
    from appx.cache import cached_envs
    from appx.render_cache import render_cache_list

    state: State = ctx.find_root().obj
    state.console.use_json(json_output)
    render_cache_list(state.console, cached_envs(state.paths, os.environ))


@cache_app.command("clear")
def cache_clear(
    ctx: typer.Context,
    expired: Annotated[bool, typer.Option("--expired", help="Only the expired ones.")] = False,
) -> None:
    """Delete cached environments (those in use are skipped)."""
    from appx.cache import clear

    state: State = ctx.find_root().obj
    removed = clear(state.paths, os.environ, expired_only=expired)
    state.console.info(f"removed {len(removed)} cached environment(s)")


@cache_app.command("dir")
def cache_dir(ctx: typer.Context) -> None:
    """Print the directory of the run cache."""
    state: State = ctx.find_root().obj
    state.console.result(str(state.paths.runs.root))
