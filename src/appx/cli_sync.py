"""The export and sync commands (registered by the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from appx import cli_options

if TYPE_CHECKING:
    from appx.cli import State


def export(
    ctx: typer.Context,
    file: Annotated[
        str, typer.Argument(help="Where to write it; '-' or nothing: standard output.")
    ] = "-",
) -> None:
    """Write every app, its versions, options and pin as a TOML file for 'appx sync'.

    \b
    Examples:
      appx export apps.toml
      appx export > apps.toml
    """
    from pathlib import Path

    from appx.errors import ReceiptError
    from appx.exportfile import dumps, write_export
    from appx.sync import export_apps, installed_apps

    state: State = ctx.find_root().obj
    apps, unreadable = export_apps(installed_apps(state.paths))
    text = dumps(apps)
    if file == "-":
        state.console.result(text.rstrip("\n"))
    else:
        write_export(Path(file), text)
        state.console.info(f"exported {len(apps)} app{'s' * (len(apps) != 1)} to {file}")
    if unreadable:
        raise ReceiptError(
            f"not exported, their receipts are unreadable: {', '.join(unreadable)}",
            f"repair them with appx install --force, then export again ({unreadable[0]} first)",
        )


def sync(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A file 'appx export' wrote ('-': standard input).")],
    latest: Annotated[
        bool, typer.Option("--latest", help="Newest versions instead of the recorded ones.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Uninstall the apps the file does not list.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Say what would change; change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", "-f", help="Move conflicting files aside, as install --force does."
        ),
    ] = False,
    backend: cli_options.Backend = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Make this machine's apps match an export file: install, move, leave, prune.

    \b
    Examples:
      appx sync apps.toml --dry-run
      appx sync apps.toml --prune
      appx sync apps.toml --latest
    """
    import os
    import sys
    from pathlib import Path

    from appx.exportfile import read_export
    from appx.render_sync import render_sync
    from appx.sync import SyncTools, apply_sync, installed_apps, plan_sync, planned

    state: State = ctx.find_root().obj
    console = state.console
    console.use_json(json_output, {"results": []})
    entries = read_export(Path(file), sys.stdin)
    steps = plan_sync(entries, installed_apps(state.paths), latest=latest, prune=prune)
    if dry_run:
        results = planned(steps)
    else:
        tools = SyncTools(
            os.environ, Path.cwd(), keep_log=console.verbose, force=force, backend_name=backend
        )
        results = apply_sync(state.paths, steps, console, tools)
    render_sync(console, results)


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(sync)
