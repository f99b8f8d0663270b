"""Units on disk (an app, later a run env): generations, current and previous, the flip, garbage.

Every change to a unit builds a new generation beside the old one; flipping the
``current`` symlink (one rename) is the only commit point. A ``Store`` is rooted
at the directory that holds the units (``venvs/`` for apps) and has a scratch
directory on the same filesystem, where trees are renamed before deletion.
Callers hold the unit's lock for everything here except the read methods,
which take no lock. The module-level ``(paths, app)`` functions are the app
store's entry points.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from appx import proc
from appx.faults import checkpoint
from appx.paths import AppxPaths
from appx.receipt import RECEIPT_NAME

GENERATION_RE = re.compile(r"^g(\d+)-[0-9a-f]{8}$")
MARKER_RE = re.compile(r"^\.(g\d+-[0-9a-f]{8})\.building$")
# Scratch names say which process owns them: <kind>-<pid>-<hex8> (see scratch_path).
_SCRATCH_RE = re.compile(r"^[a-z]+-(\d+)-[0-9a-f]{8}$")

TryLock = Callable[[str], AbstractContextManager[bool]]


@dataclass(frozen=True)
class Generation:
    """One complete (or in-progress) virtual environment of a unit."""

    app: str
    name: str
    path: Path

    @property
    def marker(self) -> Path:
        return self.path.parent / f".{self.name}.building"


@dataclass(frozen=True)
class Store:
    """Units under ``root`` (``root/<unit>/g<N>-<hex>``), with scratch space in ``scratch``."""

    root: Path
    scratch: Path

    def unit_dir(self, unit: str) -> Path:
        return self.root / unit

    def pointer_name(self, unit: str, pointer: str = "current") -> str | None:
        """The generation name a pointer holds, whether or not that generation exists."""
        try:
            target = os.readlink(self.unit_dir(unit) / pointer)
        except OSError:
            return None
        return target if GENERATION_RE.match(target) else None

    def read_pointer(self, unit: str, pointer: str = "current") -> Generation | None:
        """The generation a pointer names if it is there; reads one link and one inode."""
        name = self.pointer_name(unit, pointer)
        if name is None:
            return None
        path = self.unit_dir(unit) / name
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return None
        except OSError:
            return None  # a deleted generation is not installed
        return Generation(unit, name, path)

    def read_current(self, unit: str) -> Generation | None:
        return self.read_pointer(unit, "current")

    def units(self) -> list[str]:
        """Names of every directory under the root, installed or not (sorted)."""
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))

    def installed(self) -> list[str]:
        """Units whose current generation exists: the only test of 'installed'."""
        return [unit for unit in self.units() if self.read_current(unit) is not None]

    def begin_generation(self, unit: str) -> Generation:
        """Reserve a new, never reused generation name and mark it as being built."""
        unit_dir = self.unit_dir(unit)
        unit_dir.mkdir(parents=True, exist_ok=True)
        pointed = [self.pointer_name(unit, "current"), self.pointer_name(unit, "previous")]
        highest = 0
        for entry in [*os.listdir(unit_dir), *filter(None, pointed)]:
            match = GENERATION_RE.match(entry) or MARKER_RE.match(entry)
            if match:
                name = match.group(1) if match.re is MARKER_RE else entry
                highest = max(highest, int(name[1:].split("-", 1)[0]))
        name = f"g{highest + 1}-{os.urandom(4).hex()}"
        generation = Generation(unit, name, unit_dir / name)
        try:
            _write_marker(generation, [])
        except OSError:
            if self.read_current(unit) is None:  # a first install leaves no empty app dir
                with contextlib.suppress(OSError):
                    unit_dir.rmdir()
            raise
        return generation

    def flip(self, generation: Generation) -> Generation | None:
        """Make ``generation`` current (the commit point); the old one becomes previous.

        Returns the generation replaced, None when there was none or it is gone:
        a missing generation is never recorded as previous.
        """
        unit_dir = self.unit_dir(generation.app)
        old = self.read_current(generation.app)
        if old is not None and old.name != generation.name:
            # previous first: a crash between the two renames leaves current untouched.
            _point(unit_dir, "previous", old.name)
        _point(unit_dir, "current", generation.name)
        _fsync_dir(unit_dir)
        return old

    def flip_was_cut(self, unit: str) -> bool:
        """Whether a crash came between the two renames of a flip: `previous` then names
        the current generation, and the generation it named before is only on disk."""
        current = self.pointer_name(unit, "current")
        return current is not None and self.pointer_name(unit, "previous") == current

    def mend_previous(self, unit: str) -> str | None:
        """Point `previous` back where a cut flip left it (caller holds the lock).

        The generation it named before is the newest complete one (a receipt, no build
        marker) other than current: the old previous of a cut upgrade, the target of a
        cut rollback. Without one, `previous` goes. Returns the generation it names now.
        """
        if not self.flip_was_cut(unit):
            return None
        unit_dir = self.unit_dir(unit)
        current = self.pointer_name(unit, "current")
        candidates = [
            entry
            for entry in os.listdir(unit_dir)
            if GENERATION_RE.match(entry)
            and entry != current
            and os.path.isfile(unit_dir / entry / RECEIPT_NAME)
            and not os.path.lexists(unit_dir / f".{entry}.building")
        ]
        if not candidates:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(unit_dir / "previous")
            return None
        newest = max(candidates, key=lambda entry: int(entry[1:].split("-", 1)[0]))
        _point(unit_dir, "previous", newest)
        _fsync_dir(unit_dir)
        return newest

    def collect_garbage(self, unit: str) -> list[str]:
        """Delete generations that are neither current nor previous (caller holds the lock).

        Holding the lock means no live build of this unit exists, so every marker left
        is a crashed build: its installer group is stopped before its files are removed.
        A `previous` that a cut flip left naming current is mended first.
        """
        unit_dir = self.unit_dir(unit)
        try:
            self.mend_previous(unit)
            entries = os.listdir(unit_dir)
        except FileNotFoundError:
            return []
        pointed = (self.read_current(unit), self.read_pointer(unit, "previous"))
        keep = {g.name for g in pointed if g}
        for entry in entries:
            if MARKER_RE.match(entry):
                _stop_installers(unit_dir / entry)
        removed = []
        for entry in entries:
            if GENERATION_RE.match(entry) and entry not in keep:
                removed.append(entry)
                self._delete(unit_dir / entry)
            elif MARKER_RE.match(entry) or entry.startswith(".pointer-") or entry.endswith(".tmp"):
                self._delete(unit_dir / entry)
        if not keep:
            with contextlib.suppress(OSError):
                unit_dir.rmdir()
        return removed

    def discard(self, generation: Generation) -> None:
        """Throw away a generation that was never made current."""
        _stop_installers(generation.marker)
        self._delete(generation.path)
        finish_generation(generation)
        if self.read_current(generation.app) is None:
            with contextlib.suppress(OSError):
                self.unit_dir(generation.app).rmdir()

    def detach(self, unit: str) -> Path | None:
        """Uninstall's commit point: move the unit's whole directory into scratch."""
        unit_dir = self.unit_dir(unit)
        if not unit_dir.exists():
            return None
        for entry in os.listdir(unit_dir):
            if MARKER_RE.match(entry):
                _stop_installers(unit_dir / entry)
        target = self.scratch_path("uninstall")
        os.rename(unit_dir, target)
        _fsync_dir(self.root)
        return target

    def scratch_path(self, kind: str) -> Path:
        """A fresh name in scratch, ``<kind>-<pid>-<hex8>``, that says which process owns it."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / f"{kind}-{os.getpid()}-{os.urandom(4).hex()}"

    def remove_in_background(self, trees: Sequence[Path]) -> None:
        """Delete trees of this scratch dir in a detached process (proc.in_background).

        That process first renames each to a scratch name of its own, so that a sweep
        meanwhile sees a live owner and leaves it alone. Whatever it cannot delete, or
        all of them when no process can start, a later sweep deletes.
        """
        if trees:
            proc.in_background(lambda: self._remove_as_owner(trees))

    def _remove_as_owner(self, trees: Sequence[Path]) -> None:  # pragma: no cover -- forked
        owned = []
        for tree in trees:
            target = self.scratch_path("discard")  # named by the process that removes it
            try:
                os.rename(tree, target)
            except OSError:
                target = tree
            owned.append(target)
        checkpoint("before-background-removal")
        for tree in owned:
            remove_tree(tree)

    def sweep_abandoned(self, try_lock: TryLock) -> None:
        """Remove what interrupted changes left that nobody works on: half-built first
        installs, and markers or generations beside a current one (``try_lock`` never waits).
        """
        for unit in self.units():
            if self.read_current(unit) is None or self.has_garbage(unit):
                with try_lock(unit) as locked:
                    if locked:
                        self.collect_garbage(unit)

    def has_garbage(self, unit: str) -> bool:
        """Whether a unit's directory holds what `collect_garbage` removes: a generation
        neither pointer names, a build marker, a staged pointer."""
        try:
            entries = os.listdir(self.unit_dir(unit))
        except OSError:
            return False
        pointers = ("current", "previous")
        kept = {g.name for g in (self.read_pointer(unit, p) for p in pointers) if g}
        return self.flip_was_cut(unit) or any(
            (GENERATION_RE.match(entry) and entry not in kept)
            or MARKER_RE.match(entry)
            or entry.startswith(".pointer-")
            for entry in entries
        )

    def sweep_tmp(self) -> None:
        """Delete scratch entries left by processes that no longer run."""
        for path in self.abandoned_scratch():
            remove_tree(path)

    def abandoned_scratch(self, *, strangers: bool = False) -> list[Path]:
        """Scratch entries of processes that no longer run; with ``strangers``, also those
        whose names appx never gives (scratch is appx's own: something else put them there)."""
        try:
            entries = sorted(os.listdir(self.scratch))
        except OSError:
            return []
        found = []
        for entry in entries:
            match = _SCRATCH_RE.match(entry)
            if (match and not proc.pid_alive(int(match.group(1)))) or (not match and strangers):
                found.append(self.scratch / entry)
        return found

    def _delete(self, path: Path) -> None:
        # Rename first so a half-deleted tree is never seen among the generations.
        if not path.exists() and not path.is_symlink():
            return
        if path.is_dir() and not path.is_symlink():
            target = self.scratch_path("discard")
            try:
                os.rename(path, target)
            except OSError:
                target = path
            remove_tree(target)
        else:
            path.unlink(missing_ok=True)


def remove_tree(path: Path) -> None:
    """Delete a directory tree, a file or a symlink (never what a symlink points to)."""
    import shutil  # here, not on the import path of list (it pulls in the compressors)

    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# ---------------------------------------------------------------- generations and housekeeping


def record_installer(generation: Generation, pgid: int) -> None:
    """Name an installer's process group in the marker, so a later appx can stop it.

    The leader's start time goes with it, so a group id reused later by an
    unrelated program is never taken for ours.
    """
    groups = [*_marker_groups(generation.marker), (pgid, proc.start_time(pgid))]
    _write_marker(generation, groups)


def finish_generation(generation: Generation) -> None:
    """The build is complete: drop its marker."""
    with contextlib.suppress(FileNotFoundError):
        generation.marker.unlink()


def sweep_abandoned(paths: AppxPaths) -> None:
    """Sweep the app store for what interrupted changes left, skipping any app in use."""
    from appx.locks import try_app_lock  # not on the path of read-only commands

    paths.apps.sweep_abandoned(lambda app: try_app_lock(paths, app))


# ---------------------------------------------------------------- pointers and markers


def _point(unit_dir: Path, pointer: str, target: str) -> None:
    temp = unit_dir / f".pointer-{pointer}-{os.urandom(4).hex()}"
    os.symlink(target, temp)
    os.replace(temp, unit_dir / pointer)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


Group = tuple[int, int | None]


def _write_marker(generation: Generation, groups: list[Group]) -> None:
    temp = generation.marker.with_name(generation.marker.name + ".tmp")
    try:
        temp.write_text(json.dumps({"pid": os.getpid(), "groups": groups}), encoding="utf-8")
        os.replace(temp, generation.marker)
    except OSError as exc:
        # A full disk fails the write, not the open: take the empty temp file back, and
        # name the directory, since a failed write() names no file.
        with contextlib.suppress(OSError):
            temp.unlink()
        raise OSError(exc.errno, exc.strerror, exc.filename or str(temp.parent)) from exc


def live_build(marker: Path) -> bool:
    """Whether the appx that wrote a build marker still runs (markers are written whole, by
    os.replace: one that does not parse was not written by appx)."""
    try:
        pid = json.loads(marker.read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return isinstance(pid, int) and proc.pid_alive(pid)


def _marker_groups(marker: Path) -> list[Group]:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        return [(int(g), None if s is None else int(s)) for g, s in data.get("groups", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _stop_installers(marker: Path) -> None:
    for pgid, started in _marker_groups(marker):
        if proc.group_alive(pgid) and proc.group_is_ours(pgid, started):
            proc.kill_group(pgid)
