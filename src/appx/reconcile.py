"""Links derived from receipts: find orphans, mend what a crash left, warn about PATH."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from appx import shims, store
from appx.errors import ReceiptError
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt


def receipt_links(paths: AppxPaths, receipt: Receipt) -> list[shims.Link]:
    """The links an app's receipt calls for: its commands first, then its man pages."""
    prefix = shims.app_prefix(paths, receipt.app)
    links = [
        shims.Link(paths.bin_dir / c.exposed_as, f"{prefix}bin/{c.name}") for c in receipt.commands
    ]
    links += [
        shims.Link(
            paths.man_dir / m.section / m.exposed_as, f"{prefix}share/man/{m.section}/{m.name}"
        )
        for m in receipt.man_pages
    ]
    return links


def _candidate_links(paths: AppxPaths) -> Iterator[Path]:
    dirs = [paths.bin_dir]
    with contextlib.suppress(OSError):
        dirs += [paths.man_dir / d for d in os.listdir(paths.man_dir) if d.startswith("man")]
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                yield Path(entry.path)


def orphan_links(paths: AppxPaths) -> list[tuple[Path, str]]:
    """Links owned by an app that is not installed (a crash or a foreign delete left them)."""
    orphans = []
    installed: dict[str, bool] = {}
    for path in _candidate_links(paths):
        with contextlib.suppress(OSError):
            app = shims.owner_of(paths, os.readlink(path))
            if app is None:
                continue
            if app not in installed:
                installed[app] = store.read_current(paths, app) is not None
            if not installed[app]:
                orphans.append((path, app))
    return orphans


def stray_links(paths: AppxPaths, receipt: Receipt) -> list[Path]:
    """Links an installed app owns that its current receipt does not call for.

    A change killed between creating its links and flipping leaves the new
    generation's extra commands behind; one killed between the flip and the
    clean-up leaves the commands the new generation dropped.
    """
    wanted = {link.path for link in receipt_links(paths, receipt)}
    return [path for path in shims.owned_links(paths, receipt.app) if path not in wanted]


def reconcile_links(paths: AppxPaths) -> None:
    """Mend links (caller holds the bin lock): drop orphans and strays, recreate missing ones.

    Under the bin lock no other appx is between creating links and flipping, so a
    link owned by an app without a current generation, or one its current receipt
    does not list, is always left over from an interrupted change.
    """
    for path, _app in orphan_links(paths):
        with contextlib.suppress(OSError):
            path.unlink()
    for receipt in _current_receipts(paths):
        for path in stray_links(paths, receipt):
            with contextlib.suppress(OSError):
                path.unlink()
        for link in receipt_links(paths, receipt):
            if shims.occupant_of(paths, link.path).kind == "free":
                link.path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.symlink(link.target, link.path)


def _current_receipts(paths: AppxPaths) -> Iterator[Receipt]:
    for app in store.installed_apps(paths):
        current = store.read_current(paths, app)
        if current is None:  # pragma: no cover -- uninstalled between the two reads
            continue
        with contextlib.suppress(ReceiptError):
            yield load_receipt(current.path)


def path_warnings(
    paths: AppxPaths, commands: Iterable[str], environ: Mapping[str, str]
) -> list[str]:
    """Warn when the bin dir is not on PATH, or a command is shadowed by one found earlier."""
    entries = [Path(p) for p in environ.get("PATH", "").split(os.pathsep) if p]
    commands = list(commands)
    if not commands:
        return []
    position = next((i for i, p in enumerate(entries) if _same_dir(p, paths.bin_dir)), None)
    if position is None:
        return [
            f"{paths.bin_dir} is not on PATH, so the new commands cannot be run by name; "
            "run 'appx ensurepath' to add it (then open a new shell)"
        ]
    warnings = []
    for command in commands:
        for directory in entries[:position]:
            candidate = directory / command
            if os.access(candidate, os.X_OK) and candidate.is_file():
                warnings.append(f"{command} is shadowed by {candidate}, which comes first on PATH")
                break
    return warnings


def _same_dir(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.samefile(b)
    except OSError:
        return False
