"""The lifecycle commands: upgrade, upgrade-all, rollback, pin, unpin (registered by the CLI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appx import cli_options

if TYPE_CHECKING:
    from appx.cli import State


def upgrade(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Apps to upgrade.", metavar="APP")],
    include_injected: Annotated[
        bool, typer.Option(help="Upgrade the injected packages too.")
    ] = False,
    install: Annotated[bool, typer.Option(help="Install an app that is not installed.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Upgrade apps to their newest releases: a new generation each, the old one kept.

    \b
    Examples:
      appx upgrade black
      appx upgrade black pycowsay --json
    """
    from appx.lifecycle import upgrade_apps
    from appx.render_lifecycle import render_upgrade

    state: State = ctx.find_root().obj
    state.console.use_json(json_output, {"results": []})
    results = upgrade_apps(
        state.paths,
        names,
        state.console,
        include_injected=include_injected,
        install_missing=install,
        cwd=Path.cwd(),
        environ=os.environ,
    )
    render_upgrade(state.console, results)


def upgrade_all(
    ctx: typer.Context,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="An app to leave alone (repeatable).")
    ] = None,
    include_injected: Annotated[
        bool, typer.Option(help="Upgrade the injected packages too.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Upgrade every app (pinned ones are skipped), each on its own.

    \b
    Examples:
      appx upgrade-all
      appx upgrade-all --skip black --json
    """
    from appx.cli_lean import upgrade_all_command

    state: State = ctx.find_root().obj
    upgrade_all_command(
        state, skip=skip or (), include_injected=include_injected, json_output=json_output
    )


def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to roll back.", metavar="APP")],
) -> None:
    """Make the app's previous version current again (its commands follow).

    \b
    Example:
      appx rollback black
    """
    from appx.lifecycle import rollback_app

    state: State = ctx.find_root().obj
    result = rollback_app(state.paths, name, state.console)
    state.console.info(f"rolled back {result.app}: {result.old_version} -> {result.version}")


def pin(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to pin.", metavar="APP")],
) -> None:
    """Pin an app: upgrade-all skips it, upgrade refuses it."""
    _pin(ctx, name, pinned=True)


def unpin(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to unpin.", metavar="APP")],
) -> None:
    """Unpin an app, so that upgrades move it again."""
    _pin(ctx, name, pinned=False)


def _pin(ctx: typer.Context, name: str, *, pinned: bool) -> None:
    from appx.lifecycle import set_pinned

    state: State = ctx.find_root().obj
    app = set_pinned(state.paths, name, pinned, state.console)
    state.console.info(f"{'pinned' if pinned else 'unpinned'} {app}")


def reinstall(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Apps to rebuild.", metavar="APP")],
    latest: Annotated[
        bool, typer.Option(help="Resolve afresh instead of the recorded versions.")
    ] = False,
    python: Annotated[
        str | None, typer.Option(help="Move the apps to this Python (a path, command or version).")
    ] = None,
    backend: cli_options.Backend = None,
) -> None:
    """Rebuild apps from their receipts: a new generation each, at the recorded versions.

    \b
    Examples:
      appx reinstall black
      appx reinstall black --python 3.12
      appx reinstall black --backend pip    (the app keeps that backend from now on)
    """
    _reinstall(ctx, names, latest=latest, python=python, backend=backend)


def reinstall_all(
    ctx: typer.Context,
    latest: Annotated[
        bool, typer.Option(help="Resolve afresh instead of the recorded versions.")
    ] = False,
    python: Annotated[
        str | None, typer.Option(help="Move the apps to this Python (a path, command or version).")
    ] = None,
    backend: cli_options.Backend = None,
) -> None:
    """Rebuild every app from its receipt (after a Python upgrade, say)."""
    state: State = ctx.find_root().obj
    _reinstall(ctx, state.paths.apps.installed(), latest=latest, python=python, backend=backend)


def _reinstall(
    ctx: typer.Context, names: list[str], *, latest: bool, python: str | None, backend: str | None
) -> None:
    from appx.lifecycle import reinstall_apps
    from appx.render_lifecycle import render_reinstall

    state: State = ctx.find_root().obj
    results = reinstall_apps(
        state.paths,
        names,
        state.console,
        environ=os.environ,
        latest=latest,
        python=python,
        backend_name=backend,
    )
    render_reinstall(state.console, results)


def register(app: typer.Typer) -> None:
    app.command()(upgrade)
    app.command("upgrade-all")(upgrade_all)
    app.command()(rollback)
    app.command()(pin)
    app.command()(unpin)
    app.command()(reinstall)
    app.command("reinstall-all")(reinstall_all)
