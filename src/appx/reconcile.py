"""Mend what an interrupted change left in the bin and man dirs, and warn about PATH.

Links are derived from receipts: under the bin lock, every install and uninstall
drops links of apps that are not installed and links an app's current receipt
does not list, settles displaced files whose change never committed, and
recreates missing links where the name is free.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from appx import displaced
from appx.errors import ReceiptError
from appx.links import occupant_of, receipt_links, scan_links
from appx.linkstate import orphan_links, stray_links
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt

# The startup files userpath writes a PATH line into, by shell (relative to HOME).
_STARTUP_FILES = (
    ".profile",
    ".bash_profile",
    ".bashrc",
    ".zshrc",
    ".zprofile",
    ".config/fish/config.fish",
    ".xonshrc",
)


def reconcile_links(paths: AppxPaths) -> None:
    """Mend links and displaced files (caller holds the bin lock).

    Under the bin lock no other appx is between creating links and flipping, so a
    link owned by an app without a current generation, or one its current receipt
    does not list, is always left over from an interrupted change; so is a
    displacement recorded for a generation that is neither current nor previous.
    The order matters: a stray link is dropped before the file it displaced goes
    back, and that file goes back before a missing link is recreated in its place.
    """
    scanned = list(scan_links(paths))  # orphans and strays are apart: one scan serves both
    for path, _app in orphan_links(paths, scanned):
        with contextlib.suppress(OSError):
            path.unlink()
    receipts = list(_current_receipts(paths))
    for receipt in receipts:
        for path in stray_links(paths, receipt, scanned):
            with contextlib.suppress(OSError):
                path.unlink()
    displaced.settle(paths)
    for receipt in receipts:
        for link in receipt_links(paths, receipt):
            if occupant_of(paths, link.path).kind == "free":
                link.path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.symlink(link.target, link.path)


def _current_receipts(paths: AppxPaths) -> Iterator[Receipt]:
    for app in paths.apps.installed():
        current = paths.apps.read_current(app)
        if current is None:  # pragma: no cover -- uninstalled between the two reads
            continue
        try:
            receipt = load_receipt(current.path)  # a receipt naming a bad path is corrupt
        except ReceiptError:
            continue
        yield receipt


def path_warnings(
    paths: AppxPaths, commands: Iterable[str], environ: Mapping[str, str]
) -> list[str]:
    """Warn when the bin dir is not on PATH, or a command is shadowed by one found earlier.

    When a shell startup file already names the bin dir (`appx ensurepath` ran),
    only a new shell is missing, and the warning says so.
    """
    from appx.environment import on_path  # not on uninstall's path: it only reconciles

    entries = [Path(p) for p in environ.get("PATH", "").split(os.pathsep) if p]
    commands = list(commands)
    if not commands:
        return []
    bin_dir = str(paths.bin_dir)
    position = next((i for i, p in enumerate(entries) if on_path(bin_dir, str(p))), None)
    if position is None:
        if _in_startup_files(paths.bin_dir, environ):
            return [
                f"{paths.bin_dir} is not on PATH in this shell, so the new commands cannot be"
                " run by name yet; your shell's startup files add it: open a new shell"
            ]
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


def _in_startup_files(bin_dir: Path, environ: Mapping[str, str]) -> bool:
    """Whether a shell startup file in HOME already names `bin_dir` (read, never run)."""
    home = environ.get("HOME")
    if not home:
        return False
    spellings = [str(bin_dir)]
    with contextlib.suppress(ValueError):  # bin dir outside HOME: only the absolute spelling
        relative = bin_dir.relative_to(home).as_posix()
        spellings += [f"~/{relative}", f"$HOME/{relative}", f"${{HOME}}/{relative}"]
    # a whole PATH entry, as userpath writes it (`export PATH="$PATH:/x"`, `set PATH /x $PATH`,
    # `$PATH.append('/x')`), on a line that is not a comment: "/x" must not match "/x2"
    entry = re.compile(
        r"^[^#\n]*?(?:^|[:\"'\s=])(?:" + "|".join(map(re.escape, spellings)) + r")/?(?=$|[:\"'\s])",
        re.MULTILINE,
    )
    zdotdir = environ.get("ZDOTDIR")
    files = [Path(home, name) for name in _STARTUP_FILES]
    if zdotdir:
        files += [Path(zdotdir, ".zshrc"), Path(zdotdir, ".zprofile")]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if entry.search(text):
            return True
    return False
