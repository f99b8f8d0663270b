"""The list operation: read receipts and links only; no process, no new directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from appx import displaced
from appx.errors import ReceiptError
from appx.links import receipt_links, scan_links
from appx.linkstate import Scanned, link_status, orphan_links, stray_links
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt

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
    pinned: bool = False


@dataclass(frozen=True)
class Listing:
    apps: tuple[AppStatus, ...]
    orphans: tuple[str, ...] = field(default=())
    displaced: tuple[str, ...] = ()  # files an interrupted --force left aside


def list_apps(paths: AppxPaths) -> Listing:
    paths.check_usable(write=False)
    scanned = list(scan_links(paths))  # the bin and man dirs, read once for every app
    apps = tuple(
        status for app in paths.apps.installed() if (status := _status(paths, app, scanned))
    )
    orphans = tuple(
        f"{path} belongs to {app}, which is not installed"
        for path, app in orphan_links(paths, scanned)
    )
    stranded = tuple(s.describe() for s in displaced.stranded(paths))
    return Listing(apps, orphans, stranded)


def _status(paths: AppxPaths, app: str, scanned: Scanned) -> AppStatus | None:
    current = paths.apps.read_current(app)
    if current is None:
        return None  # uninstalled since the listing began: list takes no lock
    try:
        receipt = load_receipt(current.path)  # refuses names that would leave the bin dir
    except ReceiptError as error:
        if paths.apps.read_current(app) is None:
            return None  # uninstalled while its receipt was read
        return AppStatus(app, None, problems=(error.message,))
    statuses = exposed_statuses(paths, receipt)
    count = len(receipt.commands)
    return AppStatus(
        app,
        receipt,
        tuple(statuses[:count]),
        tuple(statuses[count:]),
        tuple(_problems(paths, receipt, statuses, scanned)),
        paths.pin_path(app).exists(),
    )


def exposed_statuses(paths: AppxPaths, receipt: Receipt) -> list[ExposedStatus]:
    """The state of each link the receipt calls for: its commands first, then its man pages."""
    links = receipt_links(paths, receipt)
    return [
        ExposedStatus(
            link.path.name,
            str(link.path),
            s.state,
            s.occupant.describe() if s.state in {"taken", "blocked"} else "",
        )
        for link, s in zip(links, link_status(paths, receipt.app, links), strict=True)
    ]


def app_problems(paths: AppxPaths, receipt: Receipt) -> list[str]:
    """What is wrong with an installed app: its Python, its links, stray links."""
    return _problems(paths, receipt, exposed_statuses(paths, receipt))


def _problems(
    paths: AppxPaths,
    receipt: Receipt,
    statuses: list[ExposedStatus],
    scanned: Scanned | None = None,
) -> list[str]:
    problems = []
    if not os.path.exists(receipt.python.executable):
        problems.append(f"its Python is missing: {receipt.python.executable}")
    elif not os.path.exists(receipt.venv.python):
        problems.append(f"its environment's Python is broken: {receipt.venv.python}")
    for status in statuses:
        if status.state != "ok":
            detail = f" ({status.detail})" if status.detail else ""
            problems.append(f"{status.path}: {status.state}{detail}")
    for path in stray_links(paths, receipt, scanned):
        problems.append(f"{path}: stray (not a command of the current generation)")
    return problems


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
                "injected": list(receipt.injected) if receipt else None,
                "problems": list(status.problems),
                "pinned": status.pinned,
            }
        )
    return {
        "schema": LIST_SCHEMA,
        "apps": apps,
        "orphan_links": list(listing.orphans),
        "displaced_files": list(listing.displaced),
    }


def _exposed_json(status: ExposedStatus) -> dict[str, str]:
    return {
        "name": status.name,
        "path": status.path,
        "state": status.state,
        "detail": status.detail,
    }
