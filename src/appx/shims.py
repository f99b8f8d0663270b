"""Shims: plan the links an app wants in the bin and man dirs (pure), then apply the plan.

A link is owned by app A only if it is a symlink whose text lies under
`<home>/venvs/A/current/`. appx never overwrites, retargets or deletes anything
else there (DESIGN invariant 4): a foreign file is moved into `displaced/` with
--force, a directory is never touched, and every removal re-checks ownership.
The caller holds the bin lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from appx.errors import EnvironmentSetupError, ShimConflictError
from appx.inspect import MAX_NAME_BYTES, Command, ManPage, validate_name

if TYPE_CHECKING:
    from appx.paths import AppxPaths

OccupantKind = Literal["free", "app", "pipx", "uv", "symlink", "file", "directory"]
LinkState = Literal["ok", "missing", "taken", "blocked", "dangling"]

DISPLACED_INDEX = "index.jsonl"


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


@dataclass(frozen=True)
class Observed:
    """The filesystem facts the planner needs: who holds each desired path, what the app owns."""

    occupants: Mapping[Path, Occupant] = field(default_factory=dict)
    owned_now: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ShimPlan:
    """What to do with an app's links; `conflicts` non-empty means: do nothing."""

    create: tuple[Link, ...] = ()
    keep: tuple[Link, ...] = ()
    drop: tuple[Path, ...] = ()
    displace: tuple[tuple[Link, Occupant], ...] = ()
    take_over: tuple[tuple[Link, Occupant], ...] = ()
    conflicts: tuple[tuple[Link, Occupant], ...] = ()


@dataclass(frozen=True)
class DisplacedFile:
    """A foreign file that --force moved out of the way."""

    original: Path
    moved_to: Path


@dataclass(frozen=True)
class LinkStatus:
    """The state of one of an app's links, for `appx list`."""

    link: Link
    state: LinkState
    occupant: Occupant


def app_prefix(paths: AppxPaths, app: str) -> str:
    """The text every link owned by `app` starts with."""
    return f"{paths.venvs / app / 'current'}/"


def desired_links(
    paths: AppxPaths,
    app: str,
    suffix: str,
    commands: Iterable[Command],
    man_pages: Iterable[ManPage],
) -> list[Link]:
    """The links `app` should have: `BIN/<cmd><suffix>` and `MAN/<section>/<stem><suffix>.<ext>`."""
    validate_name(app, "app name")
    prefix = app_prefix(paths, app)
    links = [
        Link(
            paths.bin_dir / validate_name(f"{command.name}{suffix}", "command name"),
            f"{prefix}bin/{validate_name(command.name, 'command name')}",
        )
        for command in commands
    ]
    for page in man_pages:
        stem, ext = page.split_name()
        section = validate_name(page.section, "man page section")
        links.append(
            Link(
                paths.man_dir / section / validate_name(f"{stem}{suffix}.{ext}", "man page name"),
                f"{prefix}share/man/{section}/{validate_name(page.name, 'man page name')}",
            )
        )
    return sorted(set(links), key=lambda link: link.path)


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
        return _link_occupant(paths, os.readlink(path))
    if stat.S_ISDIR(mode):
        return Occupant("directory")
    return Occupant("file")


def _link_occupant(paths: AppxPaths, text: str) -> Occupant:
    app = owner_of(paths, text)
    if app is not None:
        return Occupant("app", app, text)
    if "/pipx/venvs/" in text:
        return Occupant("pipx", None, text)
    if "/uv/tools/" in text:
        return Occupant("uv", None, text)
    return Occupant("symlink", None, text)


def _owned_by(paths: AppxPaths, path: Path, app: str) -> bool:
    return occupant_of(paths, path).app == app


def owned_links(paths: AppxPaths, app: str) -> list[Path]:
    """Every link in the bin dir and the man dir's `man*/` sections owned by `app`."""
    dirs = [paths.bin_dir]
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        dirs += [
            Path(entry.path)
            for entry in os.scandir(paths.man_dir)
            if entry.name.startswith("man") and entry.is_dir(follow_symlinks=False)
        ]
    prefix = app_prefix(paths, app)
    owned: list[Path] = []
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_symlink() and _readlink_or_empty(entry.path).startswith(prefix):
                owned.append(Path(entry.path))
    return sorted(owned)


def _readlink_or_empty(path: str) -> str:
    try:
        return os.readlink(path)  # the exact text, not a normalised Path
    except OSError:  # gone or replaced since the scan
        return ""


def observe(paths: AppxPaths, app: str, desired: Iterable[Link]) -> Observed:
    """Snapshot what the planner needs: the occupant of each desired path, and the app's links."""
    return Observed(
        occupants={link.path: occupant_of(paths, link.path) for link in desired},
        owned_now=tuple(owned_links(paths, app)),
    )


def compute_plan(app: str, desired: Sequence[Link], observed: Observed, *, force: bool) -> ShimPlan:
    """Decide what to create, keep, drop, displace and take over. Pure: no filesystem access.

    A path missing from `observed.occupants` counts as free.
    """
    create: list[Link] = []
    keep: list[Link] = []
    displace: list[tuple[Link, Occupant]] = []
    take_over: list[tuple[Link, Occupant]] = []
    conflicts: list[tuple[Link, Occupant]] = []
    for link in dict.fromkeys(desired):
        occupant = observed.occupants.get(link.path, Occupant("free"))
        if occupant.kind == "free":
            create.append(link)
        elif occupant.kind == "app" and occupant.app == app:
            # ours: keep it, or retarget it (still ours, so allowed)
            (keep if occupant.detail == link.target else create).append(link)
        elif occupant.kind == "directory" or not force:
            conflicts.append((link, occupant))
        elif occupant.kind == "app":
            take_over.append((link, occupant))
        else:
            displace.append((link, occupant))
    wanted = {link.path for link in desired}
    return ShimPlan(
        create=tuple(create),
        keep=tuple(keep),
        drop=tuple(sorted(path for path in set(observed.owned_now) if path not in wanted)),
        displace=tuple(displace),
        take_over=tuple(take_over),
        conflicts=tuple(conflicts),
    )


def plan_shims(paths: AppxPaths, app: str, desired: Sequence[Link], *, force: bool) -> ShimPlan:
    """Observe the bin and man dirs, then compute the plan."""
    return compute_plan(app, desired, observe(paths, app, desired), force=force)


def conflict_error(plan: ShimPlan, paths: AppxPaths | None = None) -> ShimConflictError:
    """One error for the plan's conflicts, naming the first one and its owner."""
    link, occupant = plan.conflicts[0]
    message = f"{link.path} is taken by {occupant.describe()}"
    if len(plan.conflicts) > 1:
        message += f" (and {len(plan.conflicts) - 1} more)"
    if occupant.kind == "app":
        hint = f"uninstall {occupant.app} or use --force to take it over"
    elif occupant.kind == "directory":
        hint = "move the directory away yourself: appx never moves a directory"
    else:
        where = f"{paths.displaced}/" if paths is not None else "APPX_HOME/displaced/"
        hint = f"use --force to move it aside into {where}"
    return ShimConflictError(message, hint)


def apply_before_flip(paths: AppxPaths, plan: ShimPlan) -> list[DisplacedFile]:
    """Move foreign files aside, take over other apps' links, create the new links.

    The new links dangle until `current` is flipped. If a step fails, everything
    this call did is undone: its links removed, taken links given back, displaced
    files moved back where they were free.
    """
    if plan.conflicts:
        raise conflict_error(plan, paths)
    made: list[Link] = []
    taken: list[tuple[Link, Occupant]] = []
    displaced: list[DisplacedFile] = []
    try:
        for link, _ in plan.displace:
            moved = _displace(paths, link)
            if moved is not None:
                displaced.append(moved)
            _create(paths, link, made)
        for link, _ in plan.take_over:
            _take_over(paths, link, made, taken)
        for link in plan.create:
            _create(paths, link, made)
    except BaseException:
        _remove_if_ours(paths, made)
        _give_back(paths, taken)
        _put_back(paths, displaced)
        raise
    return displaced


def undo_before_flip(
    paths: AppxPaths, plan: ShimPlan, displaced: Sequence[DisplacedFile] = ()
) -> None:
    """Undo a successful `apply_before_flip` whose flip then failed.

    Pass what it returned as `displaced` to move those files back too; without
    it they stay in `displaced/`, recorded there.
    """
    _remove_if_ours(paths, [*plan.create, *(link for link, _ in plan.displace)])
    _give_back(paths, plan.take_over)
    _put_back(paths, displaced)


def apply_after_flip(paths: AppxPaths, app: str, plan: ShimPlan) -> None:
    """Remove the links the new generation dropped, each only if `app` still owns it."""
    for path in plan.drop:
        if _owned_by(paths, path, app):
            _unlink_missing_ok(path)


def remove_app_links(paths: AppxPaths, app: str) -> list[Path]:
    """Remove every link `app` owns (for uninstall) and return their paths."""
    removed: list[Path] = []
    for path in owned_links(paths, app):
        if _owned_by(paths, path, app) and _unlink_missing_ok(path):
            removed.append(path)
    return removed


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


def _take_over(
    paths: AppxPaths,
    link: Link,
    made: list[Link],
    taken: list[tuple[Link, Occupant]],
) -> None:
    """Replace another app's link with `link` (--force)."""
    occupant = occupant_of(paths, link.path)
    if occupant.kind == "free":
        _create(paths, link, made)
    elif occupant.kind == "app":
        _replace_link(paths, link)
        taken.append((link, occupant))
    else:  # a foreign file appeared since the plan was made: never overwrite it
        raise conflict_error(ShimPlan(conflicts=((link, occupant),)), paths)


def _create(paths: AppxPaths, link: Link, made: list[Link]) -> None:
    """Make `link` with os.symlink, or retarget it if it is already the same app's link."""
    link.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.path.symlink_to(link.target)
    except FileExistsError:
        occupant = occupant_of(paths, link.path)
        if occupant.kind != "app" or occupant.app != owner_of(paths, link.target):
            # something appeared since the plan was made: never overwrite it
            raise conflict_error(ShimPlan(conflicts=((link, occupant),)), paths) from None
        if occupant.detail != link.target:
            _replace_link(paths, link)
        return
    made.append(link)


def _replace_link(paths: AppxPaths, link: Link) -> None:
    """Swap a link already at `link.path` for `link`: atomically where the filesystem allows."""
    paths.tmp.mkdir(parents=True, exist_ok=True)
    staged = paths.tmp / f"link-{secrets.token_hex(8)}"
    staged.symlink_to(link.target)
    try:
        staged.replace(link.path)
    except OSError as error:
        staged.unlink()
        if error.errno != errno.EXDEV:
            raise
        # bin dir on another filesystem than APPX_HOME: a short window without the link
        _unlink_missing_ok(link.path)
        link.path.symlink_to(link.target)


def _displace(paths: AppxPaths, link: Link) -> DisplacedFile | None:
    """Move the foreign file at `link.path` into `displaced/` and record it there."""
    occupant = occupant_of(paths, link.path)
    if occupant.kind == "free":
        return None
    if occupant.kind in ("directory", "app"):
        # changed since the plan was made: never move a directory or retake a link here
        raise conflict_error(ShimPlan(conflicts=((link, occupant),)), paths)
    paths.displaced.mkdir(parents=True, exist_ok=True)
    moved = DisplacedFile(link.path, _unique_displaced_name(paths, link.path.name))
    _move(moved.original, moved.moved_to)
    _record(paths, "displaced", moved, app=owner_of(paths, link.target), was=occupant.describe())
    return moved


def _put_back(paths: AppxPaths, displaced: Iterable[DisplacedFile]) -> None:
    """Move displaced files back to where they were, if that place is free again."""
    for moved in displaced:
        if occupant_of(paths, moved.original).kind == "free" and os.path.lexists(moved.moved_to):
            _move(moved.moved_to, moved.original)
            _record(paths, "restored", moved)


def _move(source: Path, destination: Path) -> None:
    try:
        source.rename(destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # another filesystem: shutil.move recreates a symlink as a symlink, and copies
        # a file with its metadata before unlinking it
        shutil.move(source, destination)


def _record(paths: AppxPaths, event: str, moved: DisplacedFile, **extra: str | None) -> None:
    """Append one event to displaced/index.jsonl."""
    record = {
        "event": event,
        "original": str(moved.original),
        "moved_to": str(moved.moved_to),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
    _append_line(paths.displaced / DISPLACED_INDEX, json.dumps(record, sort_keys=True))


def _unique_displaced_name(paths: AppxPaths, name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    while True:
        tail = f".{stamp}-{secrets.token_hex(4)}"
        room = MAX_NAME_BYTES - len(tail)
        head = os.fsdecode(os.fsencode(name)[:room]) if len(os.fsencode(name)) > room else name
        candidate = paths.displaced / f"{head}{tail}"
        if not os.path.lexists(candidate):
            return candidate


def _append_line(path: Path, line: str) -> None:
    """Append one line in a single write (O_APPEND), then fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_if_ours(paths: AppxPaths, links: Iterable[Link]) -> None:
    for link in links:
        occupant = occupant_of(paths, link.path)
        if occupant.kind == "app" and occupant.detail == link.target:
            _unlink_missing_ok(link.path)


def _give_back(paths: AppxPaths, taken: Iterable[tuple[Link, Occupant]]) -> None:
    """Point links taken over from another app back at that app, if still as we left them."""
    for link, previous in taken:
        if occupant_of(paths, link.path).detail == link.target:
            _replace_link(paths, Link(link.path, previous.detail))


def _unlink_missing_ok(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
