"""The doctor command (registered by the CLI)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from appx.cli import State


def doctor(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Apps to check (default: every app, and the home).", metavar="APP"),
    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Mend what can be mended.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Check apps and appx's home for problems, and with --fix mend them.

    Finds: a Python that is gone or does not run, an environment that differs from its
    receipt, a receipt that cannot be read, links missing, dangling, stray or without an
    owner, and what interrupted changes left behind. --fix rebuilds broken apps at their
    recorded versions, mends links and clears leftovers; it never touches a file that
    appx does not own. Exit code 13 when problems are found (with --fix: left unfixed).

    \b
    Examples:
      appx doctor
      appx doctor black
      appx doctor --fix
      appx doctor --json | jq '.problems[].message'
    """
    from appx.doctor_fix import run_doctor
    from appx.render_doctor import render_doctor

    state: State = ctx.find_root().obj
    state.console.use_json(json_output, {"problems": [], "fixed": 0, "unfixed": 0})
    outcomes = run_doctor(state.paths, names or [], state.console, environ=os.environ, fix=fix)
    render_doctor(state.console, outcomes, fix=fix)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
