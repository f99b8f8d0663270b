"""What `appx doctor` finds in the home as a whole: links without an owner, leftovers of
interrupted changes, the displaced-file journal, the shared pip and the run cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from appx import displaced, store
from appx.doctor import Problem
from appx.linkstate import Scanned, orphan_links
from appx.locks import try_app_lock
from appx.runenv import find_env

if TYPE_CHECKING:
    from appx.paths import AppxPaths

# What a copy of pip in shared/ holds when it is whole (pip's own package layout).
_PIP_PARTS = ("pip/__init__.py", "pip/__main__.py", "pip/_internal/__init__.py", "pip/_vendor")
UNREADABLE_SUFFIX = ".unreadable"


def link_problems(paths: AppxPaths, scanned: Scanned) -> list[Problem]:
    """Links of apps that are not installed, and displaced files that never went back."""
    found = [
        Problem(
            app,
            "orphan-link",
            str(path),
            f"belongs to {app}, which is not installed",
            "would remove the link",
            "links",
        )
        for path, app in orphan_links(paths, scanned)
    ]
    for left in displaced.stranded(paths):
        free = left.blocked_by.kind == "free"
        found.append(
            Problem(
                left.file.app,
                "displaced-stranded",
                str(left.file.moved_to),
                left.describe(),
                "would put it back" if free else "none: move one of them yourself",
                "links" if free else None,
            )
        )
    return found


def home_problems(paths: AppxPaths, environ: Mapping[str, str]) -> list[Problem]:
    """Everything but links: leftovers, the journal, the shared pip, the run cache."""
    return [
        *store_problems(paths),
        *scratch_problems(paths.apps, "APPX_HOME/tmp"),
        *journal_problems(paths),
        *shared_pip_problems(paths),
        *run_cache_problems(paths),
    ]


def store_problems(paths: AppxPaths) -> list[Problem]:
    """Half-built first installs, leftover builds and garbage generations of apps nobody
    works on now (an app whose lock is held is being changed: skipped)."""
    apps = paths.apps
    found = []
    for app in apps.units():
        with _unless_busy(paths, app) as free:
            if not free:
                continue
            unit = apps.unit_dir(app)
            if apps.read_current(app) is None:
                found.append(
                    Problem(
                        app,
                        "half-built",
                        str(unit),
                        "not installed: an interrupted first install (or a deleted"
                        " generation) left its directory",
                        "would remove what is left of it",
                        "garbage",
                    )
                )
                continue
            found += _garbage(apps, app, unit)
    return found


def _garbage(apps: store.Store, app: str, unit: Path) -> Iterator[Problem]:
    kept = {g.name for g in (apps.read_pointer(app, p) for p in ("current", "previous")) if g}
    for entry in sorted(os.listdir(unit)):
        path = str(unit / entry)
        if store.MARKER_RE.match(entry) or entry.startswith(".pointer-"):
            yield Problem(
                app, "leftover-build", path, "left by an interrupted change",
                "would remove it (and stop any installer it names)", "garbage",
            )  # fmt: skip
        elif store.GENERATION_RE.match(entry) and entry not in kept:
            yield Problem(
                app, "garbage-generation", path, "neither current nor previous",
                "would delete it", "garbage",
            )  # fmt: skip


@contextlib.contextmanager
def _unless_busy(paths: AppxPaths, app: str) -> Iterator[bool]:
    """Take the app's lock if it is free at once; a home whose locks cannot be written is
    read as it is."""
    try:
        with try_app_lock(paths, app) as free:
            yield free
    except OSError:
        yield True


def scratch_problems(scratch: store.Store, where: str) -> list[Problem]:
    """Entries in a scratch dir that no live appx process owns."""
    return [
        Problem(
            None,
            "tmp-leftover",
            str(path),
            f"left in {where} by a process that is gone, or not appx's scratch",
            "would delete it",
            "tmp",
        )
        for path in scratch.abandoned_scratch(strangers=True)
    ]


def journal_problems(paths: AppxPaths) -> list[Problem]:
    """Lines of the displaced-file journal that do not parse (they are skipped meanwhile)."""
    index = paths.displaced / displaced.INDEX
    bad = unreadable_lines(index)
    if not bad:
        return []
    aside = index.with_name(index.name + UNREADABLE_SUFFIX)
    return [
        Problem(
            None,
            "displaced-index",
            str(index),
            f"{len(bad)} line(s) of the displaced-file index do not parse (line"
            f" {', '.join(str(n) for n, _ in bad[:5])}{', ...' if len(bad) > 5 else ''})",
            f"would move those lines to {aside}, keeping the others",
            "displaced-index",
        )
    ]


def unreadable_lines(index: Path) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line of the journal that does not parse."""
    try:
        text = index.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and displaced.parse_event(line) is None
    ]


def shared_pip_problems(paths: AppxPaths) -> list[Problem]:
    """Copies of pip in shared/ that are not whole (the next install copies them again)."""
    try:
        entries = sorted(paths.shared.glob("pip-*"))
    except OSError:
        return []
    found = []
    for home in entries:
        missing = [part for part in _PIP_PARTS if not os.path.exists(home / part)]
        if missing:
            found.append(
                Problem(
                    None,
                    "shared-pip",
                    str(home),
                    f"the shared pip is incomplete: {', '.join(missing)} missing",
                    "would delete it (the next install with pip copies it again)",
                    "shared-pip",
                )
            )
    return found


def run_cache_problems(paths: AppxPaths) -> list[Problem]:
    """Run envs a build never finished or that are damaged, and the run cache's scratch."""
    runs = paths.runs
    found = []
    for key in runs.units():
        unit = runs.unit_dir(key)
        markers = [unit / e for e in _listdir(unit) if store.MARKER_RE.match(e)]
        if any(store.live_build(marker) for marker in markers):
            continue  # being built now
        if runs.read_current(key) is None:
            why = "a build that never finished left it"
        elif find_env(paths, key) is None:
            why = "it is damaged (its receipt, launch file, a script or its Python is gone)"
        elif markers:
            why = "an interrupted rebuild left a build behind"
        else:
            continue
        found.append(
            Problem(
                None,
                "run-env",
                str(unit),
                f"run env {key}: {why}",
                "would delete it (the next `appx run` builds it again)",
                "run-env",
            )
        )
    return [*found, *scratch_problems(runs, "the run cache's tmp")]


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
