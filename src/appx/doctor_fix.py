"""`appx doctor --fix`: mend what `appx.doctor` found, under the locks every change takes.

Broken apps are rebuilt by reinstall (`lifecycle.reinstall_apps`: app lock, then the
bin lock at the commit) at their recorded versions; links are mended by
`reconcile.reconcile_links` under the app locks (sorted) and the bin lock;
housekeeping only try-locks, and skips what is in use, saying so. Then the checks
run again: a problem is fixed when it is no longer found. Nothing here touches a
file appx does not own (such problems have no fix action).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appx import displaced, doctor_home
from appx.cache import delete_env
from appx.doctor import Diagnosis, FixAction, Problem, diagnose
from appx.errors import InterruptedByUser
from appx.locks import app_locks, bin_lock, shared_lock, try_app_lock
from appx.reconcile import reconcile_links
from appx.store import remove_tree

if TYPE_CHECKING:
    from appx.backends.base import Backend
    from appx.output import Reporter
    from appx.paths import AppxPaths

Key = tuple[str | None, str, str | None]


@dataclass(frozen=True)
class Outcome:
    """A problem, and with --fix whether it is gone now (``fixed`` None without --fix)."""

    problem: Problem
    fixed: bool | None = None
    note: str = ""  # why it was not fixed


def run_doctor(
    paths: AppxPaths,
    names: Sequence[str],
    reporter: Reporter,
    *,
    environ: Mapping[str, str],
    fix: bool,
    backend: Backend | None = None,
) -> list[Outcome]:
    """Check (every app and the home, or the apps named) and, with ``fix``, mend."""
    with reporter.step("Checking apps and the home"):
        found = diagnose(paths, names, environ, reporter.warn)
    if not fix or not found.problems:
        return [Outcome(p) for p in found.problems]
    paths.check_usable(write=True)
    try:
        notes = apply_fixes(paths, found, reporter, environ=environ, backend=backend)
    except KeyboardInterrupt:
        raise _stopped() from None
    with reporter.step("Checking again"):
        after = diagnose(paths, names, environ, reporter.warn)
    remaining = {p.key for p in after.problems}
    outcomes = [
        Outcome(p, p.key not in remaining, "" if p.key not in remaining else _why(p, notes))
        for p in found.problems
    ]
    known = {p.key for p in found.problems}
    new = [Outcome(p, False, "found after the fixes") for p in after.problems if p.key not in known]
    return outcomes + new


def _why(problem: Problem, notes: Mapping[Key, str]) -> str:
    if problem.key in notes:
        return notes[problem.key]
    if problem.action is None:
        return problem.fix.removeprefix("none: ")
    return "still found after the fix"


def apply_fixes(
    paths: AppxPaths,
    found: Diagnosis,
    reporter: Reporter,
    *,
    environ: Mapping[str, str],
    backend: Backend | None = None,
) -> dict[Key, str]:
    """Apply each fix once; return why a fix could not be applied, by problem."""
    notes: dict[Key, str] = {}
    by_action: dict[FixAction, list[Problem]] = {}
    for problem in found.problems:
        if problem.action is not None:
            by_action.setdefault(problem.action, []).append(problem)
    if "rebuild" in by_action:
        notes |= _rebuild(paths, found, by_action["rebuild"], reporter, environ, backend)
    if "links" in by_action or "displaced-index" in by_action:
        apps = {p.app for p in by_action.get("links", []) if p.app}
        with app_locks(paths, apps, reporter.warn), bin_lock(paths, reporter.warn):
            if "displaced-index" in by_action:
                set_aside_unreadable(paths.displaced / displaced.INDEX)
            reconcile_links(paths)
    for problem in by_action.get("garbage", []):
        notes |= _collect_garbage(paths, problem)
    _clear_scratch(paths, by_action.get("tmp", []))
    if "shared-pip" in by_action:
        with shared_lock(paths, reporter.warn):
            broken = {p.path for p in doctor_home.shared_pip_problems(paths)}
            for problem in by_action["shared-pip"]:
                if problem.path in broken:
                    _delete_tree(paths, Path(str(problem.path)))
    for problem in by_action.get("run-env", []):
        if not delete_env(paths, Path(str(problem.path)).name):
            notes[problem.key] = "it is being built or run now: skipped; run doctor again later"
    return notes


def _rebuild(
    paths: AppxPaths,
    found: Diagnosis,
    problems: Sequence[Problem],
    reporter: Reporter,
    environ: Mapping[str, str],
    backend: Backend | None,
) -> dict[Key, str]:
    """Rebuild each broken app at its recorded versions, through reinstall."""
    from appx.lifecycle import reinstall_apps  # the rebuild path, as it is

    plans = {app: plan for app, plan in found.rebuilds.items() if not plan.missing}
    pythons = {app: plan.python for app, plan in plans.items() if plan.python is not None}
    results = reinstall_apps(
        paths, sorted(plans), reporter, environ=environ, backend=backend, interpreters=pythons
    )
    if any(isinstance(result.error, InterruptedByUser) for result in results):
        raise _stopped()  # Ctrl-C stops doctor as it stops reinstall (exit 130)
    failed = {r.app: r.error.message for r in results if r.error is not None}
    return {p.key: f"the rebuild failed: {failed[p.app]}" for p in problems if p.app in failed}


def _stopped() -> InterruptedByUser:
    """Ctrl-C during --fix: each fix is whole (a rebuild commits or is discarded), and the
    ones made stand."""
    return InterruptedByUser(
        "interrupted: the fixes made so far stand, each whole",
        "run 'appx doctor --fix' again to mend the rest",
    )


def _collect_garbage(paths: AppxPaths, problem: Problem) -> dict[Key, str]:
    app = str(problem.app)
    with try_app_lock(paths, app) as free:
        if not free:
            return {problem.key: f"another appx is changing {app} now: skipped; run doctor again"}
        paths.apps.collect_garbage(app)
    return {}


def _clear_scratch(paths: AppxPaths, problems: Sequence[Problem]) -> None:
    """Delete the scratch entries found, if no live process owns them still."""
    wanted = {p.path for p in problems}
    for scratch in (paths.apps, paths.runs):
        for path in scratch.abandoned_scratch(strangers=True):
            if str(path) in wanted:
                remove_tree(path)


def _delete_tree(paths: AppxPaths, tree: Path) -> None:
    """Rename a tree into scratch first, so that nobody sees it half deleted."""
    target = paths.apps.scratch_path("discard")
    try:
        os.rename(tree, target)
    except OSError:
        target = tree
    remove_tree(target)


def set_aside_unreadable(index: Path) -> None:
    """Move the journal's lines that do not parse to a file beside it; keep the others
    (caller holds the bin lock: every journal write is made under it)."""
    bad = doctor_home.unreadable_lines(index)
    if not bad:
        return
    numbers = {number for number, _ in bad}
    lines = index.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [line for number, line in enumerate(lines, 1) if number not in numbers]
    aside = index.with_name(index.name + doctor_home.UNREADABLE_SUFFIX)
    _append(aside, "".join(f"{line}\n" for _, line in bad))
    temp = index.with_name(f".{index.name}.{os.getpid()}.tmp")
    temp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    with contextlib.suppress(OSError):
        temp.chmod(0o600)
    os.replace(temp, index)


def _append(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode("utf-8", errors="replace"))
        os.fsync(fd)
    finally:
        os.close(fd)
