"""Render what `appx doctor` found (and fixed): a line per problem, or one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from appx.errors import ProblemsFoundError
from appx.output import error_json

if TYPE_CHECKING:
    from appx.doctor_fix import Outcome
    from appx.output import Console

SCHEMA = 1


def render_doctor(console: Console, outcomes: Sequence[Outcome], *, fix: bool) -> None:
    """Each problem with the fix it would apply (with --fix: fixed, or not and why); raise
    ProblemsFoundError when any problem is left."""
    unfixed = [o for o in outcomes if not o.fixed]
    failure = _failure(unfixed, fix=fix) if unfixed else None
    if console.json_mode:
        console.emit_json(doctor_json(outcomes, failure))
    else:
        if not outcomes:
            console.result("no problems found")
        for outcome in outcomes:
            console.result(problem_line(outcome))
    if failure is not None:
        raise failure


def problem_line(outcome: Outcome) -> str:
    """``  black: its Python is missing: /x/python3.11 -> would rebuild ...``"""
    problem = outcome.problem
    where = problem.app or "home"
    text = problem.message
    if problem.path and problem.path not in text:
        text += f": {problem.path}"
    if outcome.fixed is None:
        then = problem.fix
    elif outcome.fixed:
        then = "fixed"
    else:
        then = f"not fixed: {outcome.note}"
    return f"  {where}: {text} -> {then}"


def doctor_json(outcomes: Sequence[Outcome], failure: ProblemsFoundError | None) -> dict[str, Any]:
    """The versioned document of `appx doctor --json` (schema in the README)."""
    return {
        "schema": SCHEMA,
        "problems": [
            {
                "app": o.problem.app,
                "kind": o.problem.kind,
                "path": o.problem.path,
                "message": o.problem.message,
                "fix": o.problem.fix,
                "fixed": o.fixed,
            }
            for o in outcomes
        ],
        "fixed": sum(1 for o in outcomes if o.fixed),
        "unfixed": sum(1 for o in outcomes if not o.fixed),
        "error": None if failure is None else error_json(failure),
    }


def _failure(unfixed: Sequence[Outcome], *, fix: bool) -> ProblemsFoundError:
    count = len(unfixed)
    which = sorted({o.problem.app or "home" for o in unfixed})
    if fix:
        return ProblemsFoundError(
            f"{count} problem(s) not fixed, in: {', '.join(which)}",
            "each line above says why; do what it suggests, then run 'appx doctor' again",
        )
    return ProblemsFoundError(
        f"{count} problem(s) found, in: {', '.join(which)}",
        "run 'appx doctor --fix' to mend what can be mended",
    )
