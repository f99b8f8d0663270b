"""Render sync results: a plain line per app, or one JSON document; failures become one error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from appx.output import SCHEMA, error_json
from appx.render import failure_of

if TYPE_CHECKING:
    from appx.output import Console
    from appx.sync import SyncResult


def render_sync(console: Console, results: Sequence[SyncResult]) -> None:
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
        line = sync_line(result)
        if line:
            console.info(line)
    if not results:
        console.info("nothing to do: the file lists no apps and none are installed")
    if failure is not None:
        raise failure


def sync_line(result: SyncResult) -> str:
    """What was done to one app (or would be, in a dry run), in words; "" for a failure."""
    if result.status == "failed":
        return ""
    pin = {True: "; pinned", False: "; unpinned", None: ""}[result.step.pin]
    return _LINES[result.step.action](result, result.status == "done") + pin


def _install(result: SyncResult, done: bool) -> str:
    step = result.step
    return f"{'installed' if done else 'would install'} {step.app} {_version(result, done)}"


def _move(result: SyncResult, done: bool) -> str:
    step = result.step
    verb = "moved" if done else "would move"
    why = "; ".join(step.reasons)
    return f"{verb} {step.app} {step.old_version or '?'} -> {_version(result, done)} ({why})"


def _upgrade(result: SyncResult, done: bool) -> str:
    step = result.step
    if not done:
        return f"would upgrade {step.app} {step.old_version} to its newest version"
    if result.version == step.old_version:
        return f"{step.app} {step.old_version}: already at the newest version"
    return f"{step.app} {step.old_version} -> {result.version}"


def _keep(result: SyncResult, done: bool) -> str:
    step = result.step
    return f"{step.app} {step.old_version}: {'' if done else 'would be '}left as it is"


def _prune(result: SyncResult, done: bool) -> str:
    return f"{'uninstalled' if done else 'would uninstall'} {result.app} (not in the file)"


def _unlisted(result: SyncResult, done: bool) -> str:
    step = result.step
    return f"{step.app} {step.old_version}: not in the file, left alone (--prune uninstalls it)"


def _version(result: SyncResult, done: bool) -> str:
    if done:
        return result.version
    return "at its newest version" if result.step.target == "newest" else result.step.target


_LINES: dict[str, Callable[[SyncResult, bool], str]] = {
    "install": _install,
    "move": _move,
    "upgrade": _upgrade,
    "keep": _keep,
    "prune": _prune,
    "unlisted": _unlisted,
}


def _json(result: SyncResult) -> dict[str, Any]:
    step = result.step
    return {
        "app": step.app,
        "action": step.action,
        "status": result.status,
        "old_version": step.old_version,
        "target": step.target,
        "version": result.version,
        "reasons": list(step.reasons),
        "pin": step.pin,
        "commands": list(result.commands),
        "error": None if result.error is None else error_json(result.error),
    }
