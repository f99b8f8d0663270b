"""The state of links, as `appx list` reports it: per link, orphans and strays. Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from appx.errors import EnvironmentSetupError
from appx.links import Link, Occupant, occupant_of, owned_links, owner_of, receipt_links, scan_links

if TYPE_CHECKING:
    from appx.paths import AppxPaths
    from appx.receipt import Receipt

LinkState = Literal["ok", "missing", "taken", "blocked", "dangling"]
# What scan_links found: each owned link with its text. A caller that asks about several
# apps scans once and passes the result (a scan reads every link in the bin and man dirs).
Scanned = Sequence[tuple[Path, str]]


@dataclass(frozen=True)
class LinkStatus:
    """The state of one of an app's links, for `appx list`."""

    link: Link
    state: LinkState
    occupant: Occupant


def link_status(paths: AppxPaths, app: str, links: Sequence[Link]) -> list[LinkStatus]:
    """Say, for each link, whether it is in place, missing, taken, blocked or dangling."""
    statuses: list[LinkStatus] = []
    for link in links:
        try:
            occupant = occupant_of(paths, link.path)
        except EnvironmentSetupError:  # a file where a directory should be: blocked
            occupant = Occupant("file")
        state: LinkState
        if occupant.kind == "free":
            state = "missing"
        elif occupant.kind == "app" and occupant.app == app:
            state = "ok" if link.path.exists() else "dangling"
        elif occupant.kind == "app":
            state = "taken"
        else:
            state = "blocked"
        statuses.append(LinkStatus(link, state, occupant))
    return statuses


def is_installed(paths: AppxPaths, app: str) -> bool:
    """Whether `app` has a current generation that is really there.

    A `current` naming a deleted generation is not an installed app: its links
    are orphans, whatever the pointer says.
    """
    current = paths.apps.read_current(app)
    return current is not None and current.path.is_dir()


def orphan_links(paths: AppxPaths, scanned: Scanned | None = None) -> list[tuple[Path, str]]:
    """Links owned by an app that is not installed (a crash or a foreign delete left them)."""
    installed: dict[str, bool] = {}
    orphans = []
    for path, text in _scanned(paths, scanned):
        app = owner_of(paths, text)
        if app is None:  # pragma: no cover -- scan_links yields owned links only
            continue
        if app not in installed:
            installed[app] = is_installed(paths, app)
        if not installed[app]:
            orphans.append((path, app))
    return orphans


def stray_links(paths: AppxPaths, receipt: Receipt, scanned: Scanned | None = None) -> list[Path]:
    """Links an installed app owns that its current receipt does not call for.

    A change killed between creating its links and flipping leaves the new
    generation's extra commands behind; one killed between the flip and the
    clean-up leaves the commands the new generation dropped.
    """
    wanted = {link.path for link in receipt_links(paths, receipt)}
    if scanned is None:
        owned = owned_links(paths, receipt.app)
    else:
        owned = sorted(path for path, text in scanned if owner_of(paths, text) == receipt.app)
    return [path for path in owned if path not in wanted]


def _scanned(paths: AppxPaths, scanned: Scanned | None) -> Iterable[tuple[Path, str]]:
    return scan_links(paths) if scanned is None else scanned
