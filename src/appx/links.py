"""Links: the names an app exposes, the links they become, and who owns what is there now.

A link is owned by app A only if it is a symlink whose text lies under
`<home>/venvs/A/current/`. Every link path is derived here, from validated
names, so none can leave the bin or man dir (DESIGN invariant 6), and the bin
and man dirs are scanned here, by one rule.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from appx.errors import EnvironmentSetupError, SpecError
from appx.names import MAN_SECTION, split_man_name, validate_name

if TYPE_CHECKING:
    from appx.paths import AppxPaths
    from appx.receipt import Receipt

OccupantKind = Literal["free", "app", "pipx", "uv", "symlink", "file", "directory"]

# Links go only into these sections of the man dir (inspect reads pages only from them).


@dataclass(frozen=True)
class Link:
    """A symlink appx wants at `path`, with exactly `target` as its text."""

    path: Path
    target: str


@dataclass(frozen=True)
class Occupant:
    """Whatever is at a path in the bin or man dir now."""

    kind: OccupantKind
    app: str | None = None  # the owning app, for kind "app"
    detail: str = ""  # the link text, for the symlink kinds

    def describe(self) -> str:
        """Name the occupant for a message: "a file", "app 'black'", "a pipx link -> ..."."""
        descriptions: dict[OccupantKind, str] = {
            "free": "nothing",
            "app": f"app {self.app!r}",
            "pipx": f"a pipx link -> {self.detail}",
            "uv": f"a uv tool link -> {self.detail}",
            "symlink": f"a symlink -> {self.detail}",
            "file": "a file",
            "directory": "a directory",
        }
        return descriptions[self.kind]


# ---------------------------------------------------------------- names and links


def exposed_name(name: str, suffix: str) -> str:
    """The name a command is exposed as: `<name><suffix>`; raise SpecError if unfit."""
    validate_name(name, "command name")
    return validate_name(f"{name}{suffix}", "command name")


def exposed_man_name(page_name: str, suffix: str) -> str:
    """The name a man page is exposed as: `tool.1.gz` with suffix `-b` is `tool-b.1.gz`."""
    validate_name(page_name, "man page name")
    try:
        stem, ext = split_man_name(page_name)
    except ValueError:
        raise SpecError(
            f"invalid man page name: {page_name!r}", "a man page is named NAME.<section>[.gz]"
        ) from None
    return validate_name(f"{stem}{suffix}.{ext}", "man page name")


def receipt_links(paths: AppxPaths, receipt: Receipt) -> list[Link]:
    """The links an app's receipt calls for: its commands first, then its man pages.

    Its names are safe file names: a receipt is validated as it loads (a receipt
    edited to name `../elsewhere` is corrupt), and a new one is built from
    `exposed_name` and `exposed_man_name`.
    """
    prefix = app_prefix(paths, receipt.app)
    links = [
        Link(paths.bin_dir / command.exposed_as, f"{prefix}bin/{command.name}")
        for command in receipt.commands
    ]
    links += [
        Link(
            paths.man_dir / page.section / page.exposed_as,
            f"{prefix}share/man/{page.section}/{page.name}",
        )
        for page in receipt.man_pages
    ]
    return links


# ---------------------------------------------------------------- ownership and occupants


def app_prefix(paths: AppxPaths, app: str) -> str:
    """The text every link owned by `app` starts with."""
    return f"{paths.venvs / app / 'current'}/"


def owner_of(paths: AppxPaths, text: str) -> str | None:
    """The app a link with this text belongs to, or None if no app owns it."""
    venvs = f"{paths.venvs}/"
    if not text.startswith(venvs):
        return None
    app, sep, rest = text[len(venvs) :].partition("/")
    if not app or not sep or not rest.startswith("current/") or rest == "current/":
        return None
    return app


def occupant_of(paths: AppxPaths, path: Path) -> Occupant:
    """Say what is at `path` now, without following a symlink.

    Raise EnvironmentSetupError if a file stands where the bin or man dir (or a
    man section dir) should be.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return Occupant("free")
    except NotADirectoryError:
        raise EnvironmentSetupError(
            f"cannot place links in {path.parent}: a file stands in its way",
            "move that file away (appx never moves it), or choose another APPX_BIN_DIR"
            " or APPX_MAN_DIR",
        ) from None
    if stat.S_ISLNK(mode):
        # the exact text: Path.readlink() would normalise it
        return link_occupant(paths, os.readlink(path))
    if stat.S_ISDIR(mode):
        return Occupant("directory")
    return Occupant("file")


def link_occupant(paths: AppxPaths, text: str) -> Occupant:
    """Classify a symlink by its text: one of ours, pipx's, uv's, or someone else's."""
    app = owner_of(paths, text)
    if app is not None:
        return Occupant("app", app, text)
    if "/pipx/venvs/" in text:
        return Occupant("pipx", None, text)
    if "/uv/tools/" in text:
        return Occupant("uv", None, text)
    return Occupant("symlink", None, text)


# ---------------------------------------------------------------- the one scan


def scan_links(paths: AppxPaths) -> Iterator[tuple[Path, str]]:
    """Every symlink that any app owns in the bin dir and the man dir's sections, with its text.

    Sections are the `man1`..`man9` directories, followed if they are symlinks,
    because links are created through them by path.
    """
    for directory in _link_dirs(paths):
        try:
            entries = list(os.scandir(directory))
        except OSError:  # missing, not a directory, unreadable: it holds no link of ours
            continue
        for entry in entries:
            if not entry.is_symlink():
                continue
            try:
                text = os.readlink(entry.path)  # the exact text, not a normalised Path
            except OSError:  # gone or replaced since the scan
                continue
            if owner_of(paths, text) is not None:
                yield Path(entry.path), text


def owned_links(paths: AppxPaths, app: str) -> list[Path]:
    """Every link in the bin dir and the man dir's sections owned by `app` (sorted)."""
    return sorted(path for path, text in scan_links(paths) if owner_of(paths, text) == app)


def _link_dirs(paths: AppxPaths) -> Iterable[Path]:
    yield paths.bin_dir
    try:
        sections = sorted(os.listdir(paths.man_dir))
    except OSError:
        return
    for name in sections:
        if MAN_SECTION.fullmatch(name):
            yield paths.man_dir / name
