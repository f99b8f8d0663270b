"""The lock files and their order: app locks (sorted) before the bin lock, never after."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from appx import parallel, signals
from appx.names import MAX_NAME_BYTES
from appx.paths import AppxPaths

# How long to try quietly before telling the user we are waiting for another appx.
_QUIET_WAIT = 0.5
_POLL = 0.2  # how often a waiting worker of a parallel batch looks for a signal
_RETRY = 0.05  # how often a free lock is tried for meanwhile


def app_lock_path(paths: AppxPaths, app: str) -> Path:
    """The lock file of an app; a name too long for ".lock" keeps a prefix and a digest."""
    name = f"{app}.lock"
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        import hashlib  # rare; OpenSSL would cost every uninstall a few ms

        digest = hashlib.sha256(os.fsencode(app)).hexdigest()[:16]
        name = f"{os.fsdecode(os.fsencode(app)[:200])}-{digest}.lock"
    return paths.locks / "app" / name


@contextmanager
def _hold(path: Path, on_wait: Callable[[str], None] | None, what: str) -> Iterator[None]:
    fd = _open(path)
    try:
        if not _take_within(fd, _QUIET_WAIT):
            if on_wait is not None:
                on_wait(f"waiting for another appx process holding {what}")
            _wait_for(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _wait_for(fd: int) -> None:
    """Wait as long as it takes; a worker of a parallel batch acts on signals meanwhile."""
    while True:
        signals.poll()
        if _take_within(fd, _POLL):
            return


def _open(path: Path) -> int:
    """Open (creating it) a lock file; the descriptor is not inherited by children.

    flock only, no soft fallback: the kernel releases a SIGKILLed holder's lock at once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _take_within(fd: int, seconds: float) -> bool:
    """Take the lock alone if it is free now or within ``seconds``; never wait longer."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_RETRY)
        else:
            return True


@contextmanager
def app_locks(
    paths: AppxPaths, apps: Iterable[str], on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the locks of several apps, taken in sorted order so no two processes deadlock."""
    with ExitStack() as stack:
        for app in sorted(set(apps)):
            stack.enter_context(_hold(app_lock_path(paths, app), on_wait, f"the lock of {app}"))
        yield


@contextmanager
def bin_lock(paths: AppxPaths, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock of the bin and man dirs; take it after any app lock.

    In a parallel batch, an item takes it only once every item before it is done, so
    that links are decided in the order the user gave, as one after the other would.
    """
    parallel.wait_turn()
    with _hold(paths.locks / "bin.lock", on_wait, "the bin directory lock"):
        yield


@contextmanager
def try_bin_lock(paths: AppxPaths) -> Iterator[bool]:
    """Take the bin lock only if it is free at once (housekeeping never waits)."""
    with _try_hold(paths.locks / "bin.lock") as free:
        yield free


@contextmanager
def shared_lock(paths: AppxPaths, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock of the shared installer copies."""
    with _hold(paths.locks / "shared.lock", on_wait, "the shared pip lock"):
        yield


@contextmanager
def try_app_lock(paths: AppxPaths, app: str) -> Iterator[bool]:
    """Take an app's lock only if it is free at once (housekeeping never waits)."""
    with _try_hold(app_lock_path(paths, app)) as free:
        yield free


@contextmanager
def _try_hold(path: Path) -> Iterator[bool]:
    fd = _open(path)
    try:
        yield _take_within(fd, 0)
    finally:
        os.close(fd)


def run_lock_path(paths: AppxPaths, key: str) -> Path:
    """The lock a running app holds shared on its run env; deleting the env takes it alone."""
    from appx import runkey  # the run locks' names and kinds live with run keys

    return Path(runkey.run_lock_path(str(paths.home), key))


@contextmanager
def run_build_lock(
    paths: AppxPaths, key: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the build lock of a run env: two runs of one request build it once."""
    with _hold(run_build_lock_path(paths, key), on_wait, "the run env it builds"):
        yield


def run_build_lock_path(paths: AppxPaths, key: str) -> Path:
    return paths.locks / "run" / f"{key}.build.lock"


def share_run_lock(paths: AppxPaths, key: str) -> int | None:
    """Take a run env's lock shared, on a descriptor an exec'd app inherits and holds.

    None when it is held exclusively (the env is being deleted): do not use the env.
    """
    path = run_lock_path(paths, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    from appx.runkey import share_lock

    return share_lock(str(path))


@contextmanager
def try_run_lock(paths: AppxPaths, key: str) -> Iterator[bool]:
    """Take a run env's lock alone only if no app of the env runs now; never wait."""
    with _try_hold(run_lock_path(paths, key)) as free:
        yield free


@contextmanager
def try_run_env_alone(paths: AppxPaths, key: str) -> Iterator[bool]:
    """Take a run env's locks, build and use, only if nobody builds or runs it now (to delete
    it); never wait."""
    with (
        _try_hold(run_build_lock_path(paths, key)) as not_building,
        _try_hold(run_lock_path(paths, key)) as not_running,
    ):
        yield not_building and not_running
