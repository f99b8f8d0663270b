"""Render upgrade results: a plain line per app, or one JSON document; failures become one error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from appx.output import error_json
from appx.render import failure_of

if TYPE_CHECKING:
    from appx.lifecycle import ReinstallResult, UpgradeResult
    from appx.outdated import Outdated
    from appx.output import Console

SCHEMA = 1


def render_upgrade(console: Console, results: Sequence[UpgradeResult]) -> None:
    failure = failure_of(console, [(r.app, r.error) for r in results])
    if console.json_mode:
        console.emit_json(
            {
                "schema": SCHEMA,
                "results": [_json(r) for r in results],
                "error": None if failure is None else error_json(failure),
            }
        )
    for result in results:
        if result.status == "installed":
            console.info(f"installed {result.app} {result.new_version}")
        elif result.status == "upgraded":
            console.info(f"{result.app} {result.old_version} -> {result.new_version}")
        elif result.status == "held":
            console.info(f"{result.app} {result.old_version}: {result.note}")
        elif result.status == "unchanged":
            console.info(f"{result.app} {result.old_version}: already at the newest version")
        elif result.status == "pinned":
            console.info(f"{result.app} {result.old_version}: pinned")
    if not results:
        console.info("no apps to upgrade")
    if failure is not None:
        raise failure


def _json(result: UpgradeResult) -> dict[str, Any]:
    return {
        "app": result.app,
        "status": result.status,
        "old_version": result.old_version,
        "new_version": result.new_version,
        "commands": list(result.commands),
        "note": result.note,
        "error": None if result.error is None else error_json(result.error),
    }


def render_reinstall(console: Console, results: Sequence[ReinstallResult]) -> None:
    failure = failure_of(console, [(r.app, r.error) for r in results])
    for result in results:
        if result.status == "reinstalled":
            console.info(f"reinstalled {result.app} {result.new_version} (Python {result.python})")
    if not results:
        console.info("no apps to reinstall")
    if failure is not None:
        raise failure


def render_outdated(console: Console, found: Sequence[Outdated]) -> None:
    """Each app upgrade-all would change, and how; an app whose check failed says why."""
    if console.json_mode:
        console.emit_json(
            {
                "schema": SCHEMA,
                "outdated": [
                    {
                        "app": o.app,
                        "version": o.version,
                        "latest": o.latest,
                        "changes": list(o.changes),
                        "pinned": o.pinned,
                        "error": None if o.error is None else error_json(o.error),
                    }
                    for o in found
                ],
            }
        )
        return
    if not found:
        console.result("every app is at its newest version")
    for item in found:
        if item.error is not None:
            console.warn(f"{item.app}: could not check: {item.error.message}")
            continue
        pinned = " (pinned: upgrade-all skips it)" if item.pinned else ""
        console.result(f"{item.app} {item.version} -> {item.latest}{pinned}")
        for change in item.changes:
            console.result(f"  {change}")
