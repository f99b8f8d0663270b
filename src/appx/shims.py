"""Shims: plan an app's links in the bin and man dirs (pure), then apply the plan.

appx never overwrites, retargets or deletes anything it does not own there
(DESIGN invariant 4): a foreign file is moved into `displaced/` with --force (see
`appx.displaced`), a directory is never touched, and every removal re-checks
ownership. The caller holds the bin lock.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appx import displaced
from appx.displaced import DisplacedFile
from appx.errors import ShimConflictError
from appx.links import Link, Occupant, occupant_of, owned_links, owner_of

if TYPE_CHECKING:
    from appx.paths import AppxPaths


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


def apply_before_flip(paths: AppxPaths, plan: ShimPlan, generation: str) -> list[DisplacedFile]:
    """Move foreign files aside, take over other apps' links, create the new links.

    The new links dangle until `current` is flipped to `generation`, the name the
    displacement journal records. If a step fails, everything this call did is
    undone: its links removed, taken links given back, displaced files moved back
    where they were free.
    """
    if plan.conflicts:
        raise conflict_error(plan, paths)
    made: list[Link] = []
    taken: list[tuple[Link, Occupant]] = []
    moved_aside: list[DisplacedFile] = []
    try:
        for link, _ in plan.displace:
            moved = _displace(paths, link, generation)
            if moved is not None:
                moved_aside.append(moved)
            _create(paths, link, made)
        for link, _ in plan.take_over:
            _take_over(paths, link, made, taken)
        for link in plan.create:
            _create(paths, link, made)
    except BaseException:
        _remove_if_ours(paths, made)
        _give_back(paths, taken)
        displaced.put_back(paths, moved_aside)
        raise
    return moved_aside


def undo_before_flip(
    paths: AppxPaths, plan: ShimPlan, moved_aside: Sequence[DisplacedFile] = ()
) -> None:
    """Undo a successful `apply_before_flip` whose flip then failed.

    Pass what it returned as `moved_aside` to move those files back too; without
    it they stay in `displaced/`, pending, for the next reconcile to settle.
    """
    _remove_if_ours(paths, [*plan.create, *(link for link, _ in plan.displace)])
    _give_back(paths, plan.take_over)
    displaced.put_back(paths, moved_aside)


def apply_after_flip(
    paths: AppxPaths, app: str, plan: ShimPlan, moved_aside: Sequence[DisplacedFile] = ()
) -> None:
    """After the flip: record the displacements as committed, then remove the links dropped.

    A link is removed only if `app` still owns it.
    """
    displaced.commit(paths, moved_aside)
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
    # a name store.sweep_tmp knows, so a killed appx's staged link is swept
    staged = paths.apps.scratch_path("link")
    staged.symlink_to(link.target)
    try:
        staged.replace(link.path)
    except BaseException as error:
        staged.unlink(missing_ok=True)
        if not isinstance(error, OSError) or error.errno != errno.EXDEV:
            raise
        # bin dir on another filesystem than APPX_HOME: a short window without the link
        _unlink_missing_ok(link.path)
        link.path.symlink_to(link.target)


def _displace(paths: AppxPaths, link: Link, generation: str) -> DisplacedFile | None:
    """Move the foreign file at `link.path` into `displaced/`, journalled for `generation`."""
    occupant = occupant_of(paths, link.path)
    if occupant.kind == "free":
        return None
    if occupant.kind in ("directory", "app"):
        # changed since the plan was made: never move a directory or retake a link here
        raise conflict_error(ShimPlan(conflicts=((link, occupant),)), paths)
    return displaced.move_aside(
        paths,
        link.path,
        app=owner_of(paths, link.target),
        generation=generation,
        target=link.target,
        was=occupant.describe(),
    )


def _owned_by(paths: AppxPaths, path: Path, app: str) -> bool:
    return occupant_of(paths, path).app == app


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
