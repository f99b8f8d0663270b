"""Apps on disk: generations, the current and previous pointers, the flip, and garbage.

Every change to an app builds a new generation beside the old one; flipping the
``current`` symlink (one rename) is the only commit point. Callers hold the app's
lock for everything here except the read functions, which take no lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from appx import proc
from appx.paths import AppxPaths

GENERATION_RE = re.compile(r"^g(\d+)-[0-9a-f]{8}$")
MARKER_RE = re.compile(r"^\.(g\d+-[0-9a-f]{8})\.building$")
_TMP_ENTRY_RE = re.compile(r"^[a-z]+-(\d+)-[0-9a-f]{8}")


@dataclass(frozen=True)
class Generation:
    """One complete (or in-progress) virtual environment of an app."""

    app: str
    name: str
    path: Path

    @property
    def marker(self) -> Path:
        return self.path.parent / f".{self.name}.building"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def read_pointer(paths: AppxPaths, app: str, pointer: str = "current") -> Generation | None:
    """The generation a pointer names, or None; reads one symlink, starts nothing."""
    app_dir = paths.app_dir(app)
    try:
        target = os.readlink(app_dir / pointer)
    except OSError:
        return None
    if not GENERATION_RE.match(target):
        return None
    return Generation(app, target, app_dir / target)


def read_current(paths: AppxPaths, app: str) -> Generation | None:
    return read_pointer(paths, app, "current")


def app_dirs(paths: AppxPaths) -> list[str]:
    """Names of every directory under venvs/, installed or not (sorted)."""
    try:
        entries = list(os.scandir(paths.venvs))
    except OSError:
        return []
    return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))


def installed_apps(paths: AppxPaths) -> list[str]:
    """Apps whose current pointer names a generation: the only test of 'installed'."""
    return [app for app in app_dirs(paths) if read_current(paths, app) is not None]


def begin_generation(paths: AppxPaths, app: str) -> Generation:
    """Reserve a new, never reused generation name and mark it as being built."""
    app_dir = paths.app_dir(app)
    app_dir.mkdir(parents=True, exist_ok=True)
    highest = 0
    pointed = [
        g.name for g in (read_current(paths, app), read_pointer(paths, app, "previous")) if g
    ]
    for entry in [*os.listdir(app_dir), *pointed]:
        match = GENERATION_RE.match(entry) or MARKER_RE.match(entry)
        if match:
            name = match.group(1) if match.re is MARKER_RE else entry
            highest = max(highest, int(name[1:].split("-", 1)[0]))
    generation = Generation(app, f"g{highest + 1}-{secrets.token_hex(4)}", Path())
    generation = Generation(app, generation.name, app_dir / generation.name)
    _write_marker(generation, [])
    return generation


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


def flip(paths: AppxPaths, generation: Generation) -> Generation | None:
    """Make ``generation`` current (the commit point); the old one becomes previous."""
    app_dir = paths.app_dir(generation.app)
    old = read_current(paths, generation.app)
    if old is not None and old.name != generation.name:
        # previous first: a crash between the two renames leaves current untouched.
        _point(app_dir, "previous", old.name)
    _point(app_dir, "current", generation.name)
    _fsync_dir(app_dir)
    return old


def collect_garbage(paths: AppxPaths, app: str) -> list[str]:
    """Delete generations that are neither current nor previous (caller holds the app lock).

    Holding the lock means no live build of this app exists, so every marker left
    is a crashed build: its installer group is stopped before its files are removed.
    """
    app_dir = paths.app_dir(app)
    try:
        entries = os.listdir(app_dir)
    except FileNotFoundError:
        return []
    keep = {g.name for g in (read_current(paths, app), read_pointer(paths, app, "previous")) if g}
    for entry in entries:
        if MARKER_RE.match(entry):
            _stop_installers(app_dir / entry)
    removed = []
    for entry in entries:
        if GENERATION_RE.match(entry) and entry not in keep:
            removed.append(entry)
            _delete(paths, app_dir / entry)
        elif MARKER_RE.match(entry) or entry.startswith(".pointer-") or entry.endswith(".tmp"):
            _delete(paths, app_dir / entry)
    if not keep:
        with contextlib.suppress(OSError):
            app_dir.rmdir()
    return removed


def discard(paths: AppxPaths, generation: Generation) -> None:
    """Throw away a generation that was never made current."""
    _stop_installers(generation.marker)
    _delete(paths, generation.path)
    finish_generation(generation)
    if read_current(paths, generation.app) is None:
        with contextlib.suppress(OSError):
            paths.app_dir(generation.app).rmdir()


def detach_app(paths: AppxPaths, app: str) -> Path | None:
    """Uninstall's commit point: move the app's whole directory into tmp/."""
    app_dir = paths.app_dir(app)
    if not app_dir.exists():
        return None
    for entry in os.listdir(app_dir):
        if MARKER_RE.match(entry):
            _stop_installers(app_dir / entry)
    target = scratch_path(paths, "uninstall")
    os.rename(app_dir, target)
    _fsync_dir(paths.venvs)
    return target


def scratch_path(paths: AppxPaths, kind: str) -> Path:
    """A fresh name in tmp/ that says which process owns it."""
    paths.tmp.mkdir(parents=True, exist_ok=True)
    return paths.tmp / f"{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def sweep_abandoned(paths: AppxPaths) -> None:
    """Remove half-built first installs that nobody is working on (try-lock only, never wait)."""
    from appx.locks import try_app_lock  # not on the path of read-only commands

    for app in app_dirs(paths):
        if read_current(paths, app) is None:
            with try_app_lock(paths, app) as locked:
                if locked:
                    collect_garbage(paths, app)


def sweep_tmp(paths: AppxPaths) -> None:
    """Delete scratch left in tmp/ by processes that no longer run."""
    try:
        entries = os.listdir(paths.tmp)
    except FileNotFoundError:
        return
    for entry in entries:
        match = _TMP_ENTRY_RE.match(entry)
        if match and not proc.pid_alive(int(match.group(1))):
            remove_tree(paths.tmp / entry)


def _delete(paths: AppxPaths, path: Path) -> None:
    # Rename first so a half-deleted tree is never seen under venvs/.
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        target = scratch_path(paths, "discard")
        try:
            os.rename(path, target)
        except OSError:
            target = path
        remove_tree(target)
    else:
        path.unlink(missing_ok=True)


def _point(app_dir: Path, pointer: str, target: str) -> None:
    temp = app_dir / f".pointer-{pointer}-{secrets.token_hex(4)}"
    os.symlink(target, temp)
    os.replace(temp, app_dir / pointer)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


Group = tuple[int, int | None]


def _write_marker(generation: Generation, groups: list[Group]) -> None:
    temp = generation.marker.with_name(generation.marker.name + ".tmp")
    temp.write_text(json.dumps({"pid": os.getpid(), "groups": groups}), encoding="utf-8")
    os.replace(temp, generation.marker)


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
