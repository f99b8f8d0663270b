"""Commands and man pages of installed distributions, read from their dist-info files.

Nothing here runs a process or imports an installed distribution: the answers
come from `entry_points.txt`, `RECORD` and `METADATA` alone, and a missing or
corrupt file counts as empty rather than as an error.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from appx.errors import SpecError

CommandKind = Literal["console", "gui", "script"]

MAX_NAME_BYTES = 255

_ENTRY_POINT_KINDS: dict[str, CommandKind] = {"console_scripts": "console", "gui_scripts": "gui"}
MAN_SECTION = re.compile(r"man[1-9]")
# "tool.1", "tool.3p", "tool.1.gz": the stem is the shortest prefix before the extension.
_MAN_NAME = re.compile(r"(?P<stem>.+?)\.(?P<ext>[0-9][A-Za-z]*(?:\.gz)?)")
_NAME_SEPARATORS = re.compile(r"[-_.]+")


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


def canonical_name(name: str) -> str:
    """A project name in its canonical form (PEP 503): ``Foo.Bar__baz`` is ``foo-bar-baz``.

    PEP 503's own rule, as packaging's canonicalize_name applies it; appx's commands that
    only read or remove (list, uninstall) need no more of packaging, whose import
    (tags, logging, sysconfig) would cost them more than the rest of their work.
    """
    return _NAME_SEPARATORS.sub("-", name).lower()


def name_problem(name: str) -> str | None:
    """Say what makes `name` unfit to become a file name, or None if it is fine."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: bytes that were not UTF-8
        return "is not valid UTF-8"
    checks = (
        (not name, "is empty"),
        ("/" in name or "\\" in name, "contains a path separator"),
        (name in {".", ".."}, "is a relative directory name"),
        (name.startswith("."), "starts with '.'"),
        (name.startswith("-"), "starts with '-'"),
        (any(unicodedata.category(char) == "Cc" for char in name), "contains a control character"),
        (size > MAX_NAME_BYTES, f"is longer than {MAX_NAME_BYTES} bytes"),
    )
    return next((problem for failed, problem in checks if failed), None)


def validate_name(name: str, what: str) -> str:
    """Return `name` if it may become a file name (DESIGN invariant 6), else raise SpecError."""
    problem = name_problem(name)
    if problem is not None:
        raise SpecError(
            f"invalid {what}: {name!r}",
            f"the {what} {problem}; a name may not be empty, contain '/' or '\\' or control"
            f" characters, start with '.' or '-', or exceed {MAX_NAME_BYTES} bytes",
        )
    return name


def split_man_name(name: str) -> tuple[str, str]:
    """Split a man page file name into stem and extension; raise ValueError if it is not one."""
    match = _MAN_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not a man page name: {name!r}")
    return match["stem"], match["ext"]


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
            if problem is None and _MAN_NAME.fullmatch(name) is None:
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

    text = _read_text(dist_info / "RECORD")
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error:
        return
    for row in rows:
        if row and row[0]:
            # normpath, not resolve(): RECORD names where the file was put; symlinks
            # in the venv must not move it anywhere else.
            yield Path(os.path.normpath(os.path.join(purelib, row[0])))
