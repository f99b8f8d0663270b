"""The list operation: read receipts and links only; no process, no new directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from appx import shims, store
from appx.errors import ReceiptError
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt
from appx.reconcile import orphan_links, receipt_links, stray_links

LIST_SCHEMA = 1


@dataclass(frozen=True)
class ExposedStatus:
    name: str
    path: str
    state: str  # ok | missing | taken | blocked | dangling
    detail: str = ""


@dataclass(frozen=True)
class AppStatus:
    app: str
    receipt: Receipt | None
    commands: tuple[ExposedStatus, ...] = ()
    man_pages: tuple[ExposedStatus, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing:
    apps: tuple[AppStatus, ...]
    orphans: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return not self.orphans and not any(a.problems for a in self.apps)


def list_apps(paths: AppxPaths) -> Listing:
    paths.check_usable(write=False)
    apps = tuple(_status(paths, app) for app in store.installed_apps(paths))
    orphans = tuple(
        f"{path} belongs to {app}, which is not installed" for path, app in orphan_links(paths)
    )
    return Listing(apps, orphans)


def _status(paths: AppxPaths, app: str) -> AppStatus:
    current = store.read_current(paths, app)
    assert current is not None  # noqa: S101 -- installed_apps lists only apps with a current
    try:
        receipt = load_receipt(current.path)
    except ReceiptError as error:
        return AppStatus(app, None, problems=(error.message,))
    problems = []
    if not os.path.exists(receipt.python.executable):
        problems.append(f"its Python is missing: {receipt.python.executable}")
    elif not os.path.exists(receipt.venv.python):
        problems.append(f"its environment's Python is broken: {receipt.venv.python}")
    links = receipt_links(paths, receipt)
    statuses = [
        ExposedStatus(
            link.path.name,
            str(link.path),
            s.state,
            s.occupant.describe() if s.state in {"taken", "blocked"} else "",
        )
        for link, s in zip(links, shims.link_status(paths, app, links), strict=True)
    ]
    for status in statuses:
        if status.state != "ok":
            detail = f" ({status.detail})" if status.detail else ""
            problems.append(f"{status.path}: {status.state}{detail}")
    for path in stray_links(paths, receipt):
        problems.append(f"{path}: stray (not a command of the current generation)")
    count = len(receipt.commands)
    return AppStatus(
        app, receipt, tuple(statuses[:count]), tuple(statuses[count:]), tuple(problems)
    )


def listing_json(listing: Listing) -> dict[str, Any]:
    """The versioned JSON document of `appx list --json` (schema documented in the README)."""
    apps = []
    for status in listing.apps:
        receipt = status.receipt
        apps.append(
            {
                "app": status.app,
                "package": receipt.package if receipt else None,
                "version": receipt.version if receipt else None,
                "suffix": receipt.suffix if receipt else None,
                "spec": receipt.spec if receipt else None,
                "python": receipt.python.version if receipt else None,
                "python_executable": receipt.python.executable if receipt else None,
                "backend": receipt.backend if receipt else None,
                "editable": receipt.editable if receipt else None,
                "commands": [_exposed_json(c) for c in status.commands],
                "man_pages": [_exposed_json(m) for m in status.man_pages],
                "problems": list(status.problems),
            }
        )
    return {"schema": LIST_SCHEMA, "apps": apps, "orphan_links": list(listing.orphans)}


def _exposed_json(status: ExposedStatus) -> dict[str, str]:
    return {
        "name": status.name,
        "path": status.path,
        "state": status.state,
        "detail": status.detail,
    }
