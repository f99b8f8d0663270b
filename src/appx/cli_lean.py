"""The lean commands: `--version`, `list`, `environment`, `uninstall`, `uninstall-all`
and `upgrade-all`.

Their bodies live here, and the typer CLI calls them; so does ``run_plain``, which
`__main__` tries first: it reads the plain forms of these commands by itself and runs the
same bodies, without importing typer (whose import and command tree cost more than the
work of any of them). Anything else it does not recognise (another command or option,
``--help``, a usage error) returns None, and the full CLI parses, runs and explains.
Nothing here imports typer, click, rich or pydantic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from appx import __version__
from appx.errors import as_appx_error
from appx.output import Console, reader_gone

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from appx.paths import AppxPaths

# The root options the fast path understands (the root's --help goes to typer).
_ROOT_SWITCHES = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}
# The options of each command the fast path runs (their --help goes to typer).
_COMMAND_FLAGS = {
    "list": frozenset({"--short", "--json"}),
    "environment": frozenset({"--json"}),
    "uninstall-all": frozenset(),
    "upgrade-all": frozenset({"--json", "--include-injected"}),  # --skip APP goes to typer
}


class State:
    """What every command gets: the console, and the paths (read on first use)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._paths: AppxPaths | None = None

    @property
    def paths(self) -> AppxPaths:
        if self._paths is None:
            from appx.paths import AppxPaths

            self._paths = AppxPaths.from_env()
        return self._paths


def show_version(state: State) -> None:
    state.console.result(f"appx {__version__}")


def list_command(state: State, *, short: bool, json_output: bool) -> None:
    """`appx list [--short] [--json]` (not --outdated, which asks the index)."""
    from appx.listing import list_apps
    from appx.render import render_list

    state.console.use_json(json_output)
    render_list(state.console, list_apps(state.paths), short=short)


def environment_command(state: State, *, json_output: bool) -> None:
    from appx.environment import describe_environment
    from appx.render import render_environment

    state.console.use_json(json_output)
    render_environment(state.console, describe_environment(state.paths, os.environ))


def uninstall_command(state: State, names: Sequence[str]) -> None:
    """Uninstall, say so, and only then delete the files, in the background."""
    from appx.render import render_uninstall
    from appx.uninstall import uninstall_apps

    detached: list[Path] = []
    results = uninstall_apps(state.paths, names, state.console, remove=detached.append)
    _render_then_remove(state, lambda: render_uninstall(state.console, results), detached)


def uninstall_all_command(state: State) -> None:
    from appx.render import render_uninstall
    from appx.uninstall import uninstall_all

    detached: list[Path] = []
    results = uninstall_all(state.paths, state.console, remove=detached.append)
    _render_then_remove(state, lambda: render_uninstall(state.console, results), detached)


def upgrade_all_command(
    state: State, *, skip: Sequence[str], include_injected: bool, json_output: bool
) -> None:
    """`appx upgrade-all`: every app but the skipped ones; pinned apps are reported."""
    from appx.lifecycle import upgrade_apps
    from appx.render_lifecycle import render_upgrade
    from appx.uninstall import normalize_app

    state.console.use_json(json_output, {"results": []})
    skipped = {normalize_app(name) for name in skip}
    names = [app for app in state.paths.apps.installed() if app not in skipped]
    results = upgrade_apps(
        state.paths,
        names,
        state.console,
        include_injected=include_injected,
        skip_pinned=True,
        environ=os.environ,
    )
    render_upgrade(state.console, results)


def _render_then_remove(state: State, render: Callable[[], None], detached: list[Path]) -> None:
    # The uninstall committed when each app's directory moved into scratch; deleting the files
    # is nobody's wait: a detached process does it, holding none of appx's output open.
    try:
        render()
    finally:
        state.paths.apps.remove_in_background(detached)


def run_plain(argv: Sequence[str]) -> int | None:
    """Run a plain form of a lean command and return its exit code; None for anything else."""
    call = _parse(argv)
    if call is None:
        return None
    switches, command, args = call
    state = State(Console(quiet="quiet" in switches, verbose="verbose" in switches))
    try:
        if command == "--version":
            show_version(state)
        elif command == "list":
            list_command(state, short="--short" in args, json_output="--json" in args)
        elif command == "environment":
            environment_command(state, json_output="--json" in args)
        elif command == "uninstall":
            uninstall_command(state, args)
        elif command == "upgrade-all":
            upgrade_all_command(
                state,
                skip=(),
                include_injected="--include-injected" in args,
                json_output="--json" in args,
            )
        else:
            uninstall_all_command(state)
    except (Exception, KeyboardInterrupt) as raised:  # noqa: BLE001 -- the funnel, as cli.run's
        if isinstance(raised, BrokenPipeError):
            return reader_gone()  # whatever was done stands; nobody is left to tell
        error = as_appx_error(raised)
        state.console.fail(error, origin=raised)
        return error.exit_code
    return 0


def _parse(argv: Sequence[str]) -> tuple[set[str], str, list[str]] | None:
    """(root switches, command, its arguments) for a plain form; None for anything else."""
    if "--version" in argv and all(arg in _ROOT_SWITCHES or arg == "--version" for arg in argv):
        return {_ROOT_SWITCHES[arg] for arg in argv if arg in _ROOT_SWITCHES}, "--version", []
    position = 0
    while position < len(argv) and argv[position] in _ROOT_SWITCHES:
        position += 1
    if position == len(argv):
        return None  # no command: typer shows the usage
    switches = {_ROOT_SWITCHES[arg] for arg in argv[:position]}
    command, args = argv[position], list(argv[position + 1 :])
    if command in _COMMAND_FLAGS:
        return (switches, command, args) if set(args) <= _COMMAND_FLAGS[command] else None
    if command == "uninstall" and args and not any(arg.startswith("-") for arg in args):
        return switches, command, args
    return None
