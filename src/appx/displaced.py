"""The displaced journal: foreign files that --force moved aside, and putting them back.

`displaced/index.jsonl` holds one JSON event a line. A displacement is written
before its file moves and names the app, the generation it was made for and the
link that took the file's place. It is pending until the change commits (the
install records `committed` after its flip) or is undone (`restored`). A
displacement left pending by a killed appx is settled under the bin lock by the
next mutating command: committed if its generation is current or previous, else
the link is dropped and the file put back where that path is free. Whatever
cannot go back is reported by `appx list`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from appx.errors import EnvironmentSetupError
from appx.links import Occupant, occupant_of
from appx.names import MAN_SECTION, MAX_NAME_BYTES, name_problem

if TYPE_CHECKING:
    from appx.paths import AppxPaths

INDEX = "index.jsonl"
Action = Literal["commit", "forget", "put-back", "drop-link-then-put-back", "report"]
_TERMINAL = {"committed", "restored", "gone"}


@dataclass(frozen=True)
class DisplacedFile:
    """A foreign file moved from `original` to `moved_to` for a change of `app`.

    `generation` is None for entries written before appx recorded it: those are
    taken as committed, so no file is ever moved on a guess.
    """

    original: Path
    moved_to: Path
    app: str | None = None
    generation: str | None = None
    target: str = ""  # the text of the link that took the file's place


@dataclass(frozen=True)
class Stranded:
    """A displaced file whose change never committed, still out of place (for `appx list`)."""

    file: DisplacedFile
    blocked_by: Occupant  # "free" when the next mutating command will put it back

    def describe(self) -> str:
        moved = f"{self.file.original} was moved to {self.file.moved_to} by a change that never"
        if self.blocked_by.kind == "free":
            return f"{moved} completed; the next appx install or uninstall puts it back"
        return (
            f"{moved} completed, and cannot go back: {self.blocked_by.describe()} is there now;"
            " move one of them yourself"
        )


def move_aside(
    paths: AppxPaths, path: Path, *, app: str | None, generation: str, target: str, was: str
) -> DisplacedFile:
    """Move the foreign file at `path` into displaced/, recording it first."""
    paths.displaced.mkdir(parents=True, exist_ok=True)
    moved = DisplacedFile(path, _unique_name(paths, path.name), app, generation, target)
    # write-ahead: a kill after the move still leaves the file findable
    _record(paths, "displaced", moved, was=was)
    _move(moved.original, moved.moved_to)
    return moved


def commit(paths: AppxPaths, files: Iterable[DisplacedFile]) -> None:
    """Record that the change these files were moved for has committed: they stay aside."""
    for moved in files:
        _record(paths, "committed", moved)


def put_back(paths: AppxPaths, files: Iterable[DisplacedFile]) -> None:
    """Move displaced files back to where they were, where that place is free."""
    for moved in files:
        if not os.path.lexists(moved.moved_to):
            _record(paths, "gone", moved)
        elif _occupant(paths, moved.original).kind == "free":
            with contextlib.suppress(FileExistsError):  # taken at the last moment: stays aside
                _move_back(moved)
                _record(paths, "restored", moved)


def decide(*, committed: bool, moved_present: bool, moved: DisplacedFile, at: Occupant) -> Action:
    """What to do with a pending displacement, found under the bin lock. Pure.

    `at` is what stands at the original path now. Only the exact link the
    uncommitted change made there is removed to make room.
    """
    if committed:
        return "commit"
    if not moved_present:  # never moved (killed before), or its owner took it away
        return "forget"
    if at.kind == "free":
        return "put-back"
    if at.kind == "app" and at.app == moved.app and at.detail == moved.target:
        return "drop-link-then-put-back"
    return "report"


def settle(paths: AppxPaths) -> None:
    """Settle every pending displacement (caller holds the bin lock)."""
    for moved in pending(paths):
        action = _decide_now(paths, moved)
        if action == "commit":
            _record(paths, "committed", moved)
        elif action == "forget":
            _record(paths, "gone", moved)
        elif action != "report":
            if action == "drop-link-then-put-back":
                moved.original.unlink(missing_ok=True)
            put_back(paths, [moved])


def stranded(paths: AppxPaths) -> list[Stranded]:
    """Displaced files of changes that never committed, still out of place. Reads only."""
    found = []
    for moved in pending(paths):
        action = _decide_now(paths, moved)
        if action in ("put-back", "drop-link-then-put-back"):
            found.append(Stranded(moved, Occupant("free")))
        elif action == "report":
            found.append(Stranded(moved, _occupant(paths, moved.original)))
    return found


def pending(paths: AppxPaths) -> list[DisplacedFile]:
    """Displacements with no outcome recorded yet, oldest first."""
    open_: dict[str, DisplacedFile] = {}
    for event, moved in _events(paths):
        key = str(moved.moved_to)
        if event == "displaced":
            open_[key] = moved
        elif event in _TERMINAL:
            open_.pop(key, None)
    return list(open_.values())


def _decide_now(paths: AppxPaths, moved: DisplacedFile) -> Action:
    return decide(
        committed=_committed(paths, moved),
        moved_present=os.path.lexists(moved.moved_to),
        moved=moved,
        at=_occupant(paths, moved.original),
    )


def _committed(paths: AppxPaths, moved: DisplacedFile) -> bool:
    if moved.app is None or moved.generation is None:
        return True  # recorded before generations were: never move a file on a guess
    pointers = (
        paths.apps.read_current(moved.app),
        paths.apps.read_pointer(moved.app, "previous"),
    )
    return any(g is not None and g.name == moved.generation for g in pointers)


def _occupant(paths: AppxPaths, path: Path) -> Occupant:
    try:
        return occupant_of(paths, path)
    except (EnvironmentSetupError, OSError):  # a file stands where its directory was
        return Occupant("file")


def _events(paths: AppxPaths) -> Iterator[tuple[str, DisplacedFile]]:
    """Every well-formed event whose paths are where appx puts them; others are skipped."""
    try:
        text = (paths.displaced / INDEX).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        parsed = parse_event(line)
        if parsed is not None and _well_placed(paths, parsed[1]):
            yield parsed


def parse_event(line: str) -> tuple[str, DisplacedFile] | None:
    """One journal line as (event, file); None for a torn or edited line."""
    try:
        data = json.loads(line)
        event = data["event"]
        moved = DisplacedFile(
            Path(data["original"]),
            Path(data["moved_to"]),
            data.get("app"),
            data.get("generation"),
            data.get("target", ""),
        )
    except (ValueError, TypeError, KeyError):
        return None
    return (event, moved) if isinstance(event, str) else None


def _well_placed(paths: AppxPaths, moved: DisplacedFile) -> bool:
    """Never act on a journal line that could move a file anywhere but its two places."""
    original = moved.original
    in_bin = original.parent == paths.bin_dir
    in_man = original.parent.parent == paths.man_dir and bool(
        MAN_SECTION.fullmatch(original.parent.name)
    )
    app_ok = moved.app is None or (isinstance(moved.app, str) and name_problem(moved.app) is None)
    return (
        (in_bin or in_man)
        and name_problem(original.name) is None
        and moved.moved_to.parent == paths.displaced
        and name_problem(moved.moved_to.name) is None
        and app_ok
        and (moved.generation is None or isinstance(moved.generation, str))
        and isinstance(moved.target, str)
    )


def _record(paths: AppxPaths, event: str, moved: DisplacedFile, **extra: str) -> None:
    """Append one event to the journal: a single O_APPEND write, then fsync."""
    record = {
        "event": event,
        "original": str(moved.original),
        "moved_to": str(moved.moved_to),
        "app": moved.app,
        "generation": moved.generation,
        "target": moved.target,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
    paths.displaced.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.displaced / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{json.dumps(record, sort_keys=True)}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _unique_name(paths: AppxPaths, name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    while True:
        tail = f".{stamp}-{os.urandom(4).hex()}"
        room = MAX_NAME_BYTES - len(tail)
        head = os.fsdecode(os.fsencode(name)[:room]) if len(os.fsencode(name)) > room else name
        candidate = paths.displaced / f"{head}{tail}"
        if not os.path.lexists(candidate):
            return candidate


def _move(source: Path, destination: Path) -> None:
    try:
        source.rename(destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # another filesystem: shutil.move recreates a symlink as a symlink, and copies
        # a file with its metadata before unlinking it
        import shutil

        shutil.move(source, destination)


def _move_back(moved: DisplacedFile) -> None:
    """Put a file back without ever replacing what may have appeared at its place."""
    try:
        # a hard link fails if the name is taken, where a rename would replace it
        os.link(moved.moved_to, moved.original, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:  # another filesystem, or one without hard links: check, then move
        if os.path.lexists(moved.original):
            raise FileExistsError(errno.EEXIST, "taken", str(moved.original)) from None
        _move(moved.moved_to, moved.original)
        return
    moved.moved_to.unlink()
