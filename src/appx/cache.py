"""The run cache's housekeeping: what it holds, clearing it, and the daily sweep of expired envs.

An env is deleted only under both of its locks, taken with try-locks: one that
is being built or run is skipped, never waited for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from appx import runkey
from appx.locks import run_build_lock_path, run_lock_path, try_run_env_alone
from appx.paths import AppxPaths
from appx.runenv import find_env
from appx.store import remove_tree

SWEEP_STAMP = ".last-sweep"  # in APPX_CACHE_DIR/run: its mtime is the last sweep
SWEEP_EVERY = 86400.0


@dataclass(frozen=True)
class CachedEnv:
    key: str
    requirements: tuple[str, ...]  # the main requirement and --with, or a script's dependencies
    python: str
    built: float | None  # None: an env whose build never finished
    last_use: float | None
    size: int  # bytes
    fresh: bool


def cached_envs(
    paths: AppxPaths, environ: Mapping[str, str], *, sizes: bool = True
) -> list[CachedEnv]:
    """Every env in the run cache (reads only; ``sizes=False`` skips walking each tree)."""
    found = []
    for key in paths.runs.units():
        env = find_env(paths, key)
        unit = paths.runs.unit_dir(key)
        requirements: tuple[str, ...] = ()
        python = ""
        if env is not None:
            receipt = env.receipt
            own = (receipt.requirement,) if receipt.requirement else ()
            requirements = (*own, *receipt.injected)
            python = receipt.python.version
        found.append(
            CachedEnv(
                key,
                requirements,
                python,
                env.built if env is not None else None,
                _mtime(unit / runkey.LAST_USE_NAME),
                _size(unit) if sizes else 0,
                env is not None and runkey.is_fresh(env.built, environ),
            )
        )
    return found


def clear(paths: AppxPaths, environ: Mapping[str, str], *, expired_only: bool) -> list[str]:
    """Delete the envs nobody builds or runs now (only the expired ones if asked); their keys."""
    removed = []
    for env in cached_envs(paths, environ, sizes=False):
        if expired_only and env.fresh:
            continue
        if delete_env(paths, env.key):
            removed.append(env.key)
    if not expired_only:
        remove_tree(paths.cache_dir / "scripts")  # copies of scripts fetched from URLs
    return removed


def sweep_expired(paths: AppxPaths, environ: Mapping[str, str], *, keep: str) -> None:
    """At most once a day, delete expired envs that are not in use, never ``keep``."""
    stamp = paths.runs.root / SWEEP_STAMP
    last = _mtime(stamp)
    if last is not None and time.time() - last < SWEEP_EVERY:
        return
    paths.runs.root.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    for env in cached_envs(paths, environ, sizes=False):
        if env.key != keep and not env.fresh:
            delete_env(paths, env.key)


def discard_once(paths: AppxPaths, key: str, lock_fd: int | None) -> None:
    """Delete a --no-cache env once its app has exited, and its lock files (its key is
    this run's alone: nobody else can be waiting on them)."""
    if lock_fd is not None:
        os.close(lock_fd)
    delete_env(paths, key)
    for lock in (run_lock_path(paths, key), run_build_lock_path(paths, key)):
        lock.unlink(missing_ok=True)


def delete_env(paths: AppxPaths, key: str) -> bool:
    """Delete a run env unless someone builds or runs it now (try-locks); False when in use."""
    with try_run_env_alone(paths, key) as alone:
        if not alone:
            return False
        detached = paths.runs.detach(key)
    if detached is not None:
        remove_tree(detached)
    return True


def _mtime(path: os.PathLike[str] | str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _size(root: os.PathLike[str] | str) -> int:
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total
