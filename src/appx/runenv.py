"""Run envs: cached environments for `appx run`, one per key, on the same store as apps.

A run env is a unit of `paths.runs` named by its key. It is built like an app's
generation (marker, receipt, flip: a killed build is never used), but exposes no
links: its generation holds a launch file (`appx-launch`: each command and the
script it runs) that the cached fast path reads to exec at once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appx import runkey, signals, store
from appx.build import BuildContext, BuildRequest, build_generation
from appx.errors import InterruptedByUser, ReceiptError
from appx.faults import checkpoint
from appx.locks import run_build_lock, try_run_lock
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by appx (appx run's environments).\n"
)


@dataclass(frozen=True)
class RunEnv:
    """A built run env: its generation, receipt, and when it was built."""

    key: str
    generation: store.Generation
    receipt: Receipt
    built: float  # a timestamp: the receipt's mtime

    @property
    def age_days(self) -> float:
        return (time.time() - self.built) / 86400

    def commands(self) -> dict[str, str]:
        """Each command the env offers and the script it runs."""
        return runkey.read_launch(str(self.generation.path))


def find_env(paths: AppxPaths, key: str) -> RunEnv | None:
    """The current env of ``key``, or None if there is none that works."""
    generation = paths.runs.read_current(key)
    if generation is None:
        return None
    try:
        receipt = load_receipt(generation.path)
        built = (generation.path / runkey.LAUNCH_NAME).stat().st_mtime
        launched = runkey.read_launch(str(generation.path))
    except (ReceiptError, OSError):
        return None
    if not all(map(os.path.exists, [receipt.venv.python, *launched.values()])):
        return None  # damaged (a script or its Python deleted): to be rebuilt
    return RunEnv(key, generation, receipt, built)


def build_env(
    paths: AppxPaths, request: BuildRequest, tools: BuildContext, *, asked: float
) -> RunEnv:
    """Build the env of ``request.app`` (its key) anew and make it current.

    Under the env's build lock: a run of the same request that waited for the lock
    uses the env another process built after ``asked`` (when this run decided to
    build) instead of building it again. A signal before the flip discards the build;
    after it, the env stands and the signal is left pending for the caller.
    """
    key = request.app
    _tag_cache(paths)
    with run_build_lock(paths, key, tools.reporter.warn):
        meanwhile = find_env(paths, key)
        if meanwhile is not None and meanwhile.built >= asked:
            return meanwhile
        runs = paths.runs
        with try_run_lock(paths, key) as unused:
            if unused:  # a running app may still be using an older generation
                runs.collect_garbage(key)
        generation: store.Generation | None = None
        try:
            with signals.deferred():
                generation = runs.begin_generation(key)
            checkpoint("after-marker")
            receipt = build_generation(tools, generation, request)
            _write_launch(generation, receipt)
            checkpoint("after-links")
            # From the flip on the env stands: a signal is recorded for the run to answer
            # (`signals.interrupt_pending`), a second one cuts the rest short.
            with signals.committed():
                with signals.deferred():
                    runs.flip(generation)
                    store.finish_generation(generation)
                checkpoint("after-flip")
                (runs.unit_dir(key) / runkey.LAST_USE_NAME).touch()
        except BaseException:
            if generation is not None and runs.read_current(key) != generation:
                runs.discard(generation)
            raise
    env = find_env(paths, key)
    assert env is not None  # noqa: S101 -- just flipped under the build lock
    return env


def built_unless_stopped(
    build: Callable[[], RunEnv], app: str, *, discard: Callable[[], None] | None = None
) -> RunEnv:
    """``build()`` the env `appx run` starts ``app`` from, unless a signal stops the run.

    Before the env's commit a signal discards the build (`build_env`); after it the env
    stands but ``app`` does not start, since the user asked appx to stop (exit 130). A
    --no-cache env is the run's alone: ``discard`` removes it whatever happened.
    """
    env: RunEnv | None = None
    try:
        with contextlib.suppress(signals.CleanupCut):  # a second signal: the first is pending
            env = build()
        _stop_if_pending(app, cached=discard is None)
    except BaseException:
        if discard is not None:
            discard()
        raise
    assert env is not None  # noqa: S101 -- a CleanupCut leaves its first signal pending
    return env


def _stop_if_pending(app: str, *, cached: bool) -> None:
    if signals.interrupt_pending():
        signals.clear_pending()
        kept = ": its environment is built and cached" if cached else ""
        raise InterruptedByUser(f"interrupted before {app} started", f"run it again{kept}")


def mark_used(paths: AppxPaths, key: str) -> None:
    """Record a use of the env (the mtime of one small file): for `appx cache list`."""
    path = paths.runs.unit_dir(key) / runkey.LAST_USE_NAME
    try:
        os.utime(path)
    except FileNotFoundError:
        path.touch()


def _write_launch(generation: store.Generation, receipt: Receipt) -> None:
    """Write what the fast path execs: each command and its script (a script env: python)."""
    scripts = Path(receipt.venv.scripts)
    lines = [f"{c.name}\t{scripts / c.name}\n" for c in receipt.commands]
    if not receipt.commands:
        lines.append(f"python\t{receipt.venv.python}\n")
    (generation.path / runkey.LAUNCH_NAME).write_text("".join(lines), encoding="utf-8")


def _tag_cache(paths: AppxPaths) -> None:
    tag = paths.runs.root / "CACHEDIR.TAG"
    if not tag.exists():
        tag.parent.mkdir(parents=True, exist_ok=True)
        tag.write_text(CACHEDIR_TAG, encoding="utf-8")
