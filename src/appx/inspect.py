"""Commands and man pages of installed distributions, read from their dist-info files.

Nothing here runs a process or imports an installed distribution: the answers
come from `entry_points.txt`, `RECORD` and `METADATA` alone, and a missing or
corrupt file counts as empty rather than as an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from appx.names import MAN_SECTION, canonical_name, is_man_name, split_man_name

# The name rules moved to appx.names; modules that named them from here still may.
from appx.names import name_problem as name_problem  # noqa: PLC0414
from appx.names import validate_name as validate_name  # noqa: PLC0414

CommandKind = Literal["console", "gui", "script"]

_ENTRY_POINT_KINDS: dict[str, CommandKind] = {"console_scripts": "console", "gui_scripts": "gui"}


@dataclass(frozen=True)
class Command:
    """One command an installed distribution provides."""

    name: str
    kind: CommandKind
    distribution: str


@dataclass(frozen=True)
class ManPage:
    """One man page an installed distribution places under `share/man/<section>/`."""

    section: str
    name: str
    distribution: str

    def split_name(self) -> tuple[str, str]:
        """Return (stem, extension): ("tool", "1.gz") for "tool.1.gz"."""
        return split_man_name(self.name)


@dataclass(frozen=True)
class Exposed:
    """What a set of distributions offers to expose, and the names refused."""

    commands: tuple[Command, ...]
    man_pages: tuple[ManPage, ...]
    rejected: tuple[str, ...]


@dataclass(frozen=True)
class DistInfo:
    """One installed distribution, as its .dist-info directory describes it."""

    name: str  # canonical (PEP 503)
    version: str
    path: Path
    requested: bool


def installed_distributions(purelib: Path) -> dict[str, DistInfo]:
    """Map canonical name to DistInfo for every .dist-info directory in `purelib`."""
    found: dict[str, DistInfo] = {}
    try:
        entries = sorted(os.scandir(purelib), key=lambda entry: entry.name)
    except OSError:
        return found
    for entry in entries:
        if not entry.name.endswith(".dist-info") or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        headers = _read_metadata_headers(path / "METADATA")
        dir_name, _, dir_version = entry.name.removesuffix(".dist-info").partition("-")
        name = canonical_name(headers.get("name") or dir_name)
        if name in found:  # two dist-info dirs for one project: keep the first, sorted
            continue
        found[name] = DistInfo(
            name=name,
            version=headers.get("version") or dir_version,
            path=path,
            requested=(path / "REQUESTED").is_file(),
        )
    return found


def read_exposed(
    venv: Path, purelib: Path, scripts_dir: Path, distributions: Iterable[str]
) -> Exposed:
    """Gather the commands and man pages of `distributions` (installed in `venv`), validated.

    Distributions that are not installed contribute nothing. For a name offered
    both as an entry point and as a plain script, the entry point wins; otherwise
    the distribution named first wins.
    """
    installed = installed_distributions(purelib)
    scripts_dir = Path(os.path.normpath(scripts_dir))
    man_root = Path(os.path.normpath(venv)) / "share" / "man"
    commands: dict[str, Command] = {}
    man_pages: dict[tuple[str, str], ManPage] = {}
    rejected: dict[str, None] = {}  # ordered set

    for wanted in distributions:
        dist = installed.get(canonical_name(wanted))
        if dist is None:
            continue
        offered = list(_entry_point_commands(dist))
        man_offered: list[tuple[str, str]] = []
        for file in _record_files(dist.path, purelib):
            if file.parent == scripts_dir:
                offered.append((file.name, "script"))
            elif file.parent.parent == man_root and MAN_SECTION.fullmatch(file.parent.name):
                man_offered.append((file.parent.name, file.name))

        for name, kind in offered:
            problem = name_problem(name)
            if problem is not None:
                rejected[f"refused command name {name!r} from package {dist.name}: {problem}"] = (
                    None
                )
                continue
            existing = commands.get(name)
            if existing is None or (existing.kind == "script" and kind != "script"):
                commands[name] = Command(name, kind, dist.name)

        for section, name in man_offered:
            problem = name_problem(name)
            if problem is None and not is_man_name(name):
                problem = "is not of the form NAME.<section>[.gz]"
            if problem is not None:
                rejected[f"refused man page name {name!r} from package {dist.name}: {problem}"] = (
                    None
                )
                continue
            man_pages.setdefault((section, name), ManPage(section, name, dist.name))

    return Exposed(
        commands=tuple(commands[name] for name in sorted(commands)),
        man_pages=tuple(man_pages[key] for key in sorted(man_pages)),
        rejected=tuple(rejected),
    )


def _read_text(path: Path) -> str:
    # surrogateescape keeps undecodable bytes visible, so validation refuses them
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return ""


def _read_metadata_headers(path: Path) -> dict[str, str]:
    """Read the header block of a METADATA file (not the long description after it)."""
    headers: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and not line[0].isspace():
                    headers.setdefault(key.strip().lower(), value.strip())
    except OSError:
        return {}
    return headers


def _entry_point_commands(dist: DistInfo) -> Iterator[tuple[str, CommandKind]]:
    """Yield (name, kind) for each console and GUI script in entry_points.txt."""
    section: str | None = None
    for raw_line in _read_text(dist.path / "entry_points.txt").splitlines():
        line = raw_line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        kind = _ENTRY_POINT_KINDS.get(section or "")
        name, sep, value = line.partition("=")
        if kind is not None and sep and value.strip():
            yield name.strip(), kind


def _record_files(dist_info: Path, purelib: Path) -> Iterator[Path]:
    """Yield the installed files a RECORD lists, resolved lexically against `purelib`."""
    import csv  # only a build reads RECORD files
    import io

    text = _read_text(dist_info / "RECORD")
    try:
        # One stream, not splitlines(): a quoted file name may hold a newline (or another
        # line break), which must stay in the name and get it refused, rather than vanish
        # into a name that was never installed.
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return
    for row in rows:
        if row and row[0]:
            # normpath, not resolve(): RECORD names where the file was put; symlinks
            # in the venv must not move it anywhere else.
            yield Path(os.path.normpath(os.path.join(purelib, row[0])))
