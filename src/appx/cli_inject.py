"""The inject, uninject and runpip commands (registered by the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from appx.cli import State
    from appx.inject import InjectResult
    from appx.output import Console

# Everything after APP belongs to pip, even `--help`: stop parsing at the first argument.
RUNPIP_SETTINGS = {"allow_interspersed_args": False}


def inject(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to inject into.", metavar="APP")],
    packages: Annotated[
        list[str] | None,
        typer.Argument(help="Requirements, paths or URLs to add.", metavar="PKG..."),
    ] = None,
    requirement: Annotated[
        list[Path] | None,
        typer.Option(
            "--requirement", "-r", help="A file of requirements, one a line (repeatable)."
        ),
    ] = None,
    include_apps: Annotated[
        bool, typer.Option(help="Expose the injected packages' commands too.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add packages to an app's environment: a new generation, the old one kept for rollback.

    \b
    Examples:
      appx inject black black-plugin
      appx inject ipython -r requirements.txt
      appx inject tool helper-tool --include-apps
    """
    from appx.inject import inject_packages, read_requirements

    state: State = ctx.find_root().obj
    state.console.use_json(json_output)
    specs = list(packages or ())
    for path in requirement or ():
        specs += read_requirements(path)
    result = inject_packages(
        state.paths, name, specs, state.console, cwd=Path.cwd(), include_apps=include_apps
    )
    _render(state.console, result)


def uninject(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to take packages out of.", metavar="APP")],
    packages: Annotated[
        list[str], typer.Argument(help="Injected packages to take out.", metavar="PKG...")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Take injected packages (and their own dependencies) out of an app: a new generation.

    \b
    Example:
      appx uninject black black-plugin
    """
    from appx.inject import uninject_packages

    state: State = ctx.find_root().obj
    state.console.use_json(json_output)
    _render(state.console, uninject_packages(state.paths, name, packages, state.console))


def runpip(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app pip is run for.", metavar="APP")],
    args: Annotated[
        list[str] | None,
        typer.Argument(help="pip's subcommand and its arguments.", metavar="[ARGS]..."),
    ] = None,
) -> None:
    """Run pip's read-only subcommands on an app's environment (list, show, freeze...).

    pip install and uninstall are refused: use inject, uninject or upgrade, so that
    every change is a new generation that rollback can undo.

    \b
    Examples:
      appx runpip black list
      appx runpip black show click
      appx runpip black freeze
    """
    from appx.runpip import run_pip

    state: State = ctx.find_root().obj
    code = run_pip(state.paths, name, args or [])
    if code:
        raise typer.Exit(code)


def _render(console: Console, result: InjectResult) -> None:
    if console.json_mode:
        console.emit_json(_json(result))
    packages = ", ".join(result.packages)
    if result.status == "unchanged":
        console.info(f"{packages}: already injected into {result.app} as asked; nothing changed")
        return
    into = "into" if result.status == "injected" else "from"
    console.info(f"{result.status} {packages} {into} {result.app}")
    if result.old_version != result.version:
        console.info(f"  {result.app} {result.old_version} -> {result.version}")
    console.info(f"  commands: {', '.join(result.commands)}")
    if result.injected:
        console.info(f"  injected: {', '.join(result.injected)}")


def _json(result: InjectResult) -> dict[str, Any]:
    from appx.output import SCHEMA

    return {
        "schema": SCHEMA,
        "app": result.app,
        "status": result.status,
        "packages": list(result.packages),
        "old_version": result.old_version,
        "version": result.version,
        "commands": list(result.commands),
        "injected": list(result.injected),
        "error": None,
    }


def register(app: typer.Typer) -> None:
    app.command()(inject)
    app.command()(uninject)
    app.command(context_settings=RUNPIP_SETTINGS)(runpip)
