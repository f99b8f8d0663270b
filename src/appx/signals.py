"""Ctrl-C and SIGTERM as exceptions, with windows where they wait.

``install_handlers()`` makes SIGINT and SIGTERM raise KeyboardInterrupt, so an
interrupted change unwinds and discards its work. Two windows change that:

- ``deferred()``: a signal arriving inside is held and raised when the block
  ends, so a few steps that must go together (start a child, record its group)
  are never split.
- ``committed()``: the work after a commit point. The first signal is only
  recorded (the change is made; its cleanup should finish), a second one raises
  ``CleanupCut`` so the user can still cut the cleanup short.

``interrupt_pending()`` tells a batch that a recorded signal asks it to stop
before its next item. Only Python-level handlers are used, never a signal mask:
children inherit masks, and an installer that cannot be interrupted is worse.

Python runs handlers in the main thread only. While the main thread runs a
parallel batch (``batch()``), the handler only counts the signal; each worker
thread (``worker()``) acts on it at its next ``poll()`` with the same windows as
above, its own: every worker whose change is not committed raises
KeyboardInterrupt, a committed one records it. Workers poll wherever they wait
(after each installer, in lock and turn waits, when a ``deferred()`` block ends);
the main thread stops the installers of uncommitted workers (``children_to_stop``)
so that none waits long for its child.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CleanupCut(BaseException):
    """A second signal after the commit point: stop cleaning up, keep the change.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in
    cleanup code does not swallow it; but not a KeyboardInterrupt, so that code
    which discards work on an interrupt does not discard a committed change.
    """


@dataclass
class _State:
    deferring: int = 0  # depth of deferred() blocks
    committed: int = 0  # depth of committed() blocks
    held: int = 0  # signals that arrived inside deferred(), not acted on yet
    pending: bool = False  # a signal absorbed by committed(): the batch should stop


_state = _State()


@dataclass
class Batch:
    """A parallel batch of the main thread: the signals it received while it ran."""

    interrupts: int = 0
    workers: list[_Worker] = field(default_factory=list)


@dataclass
class _Worker:
    """A worker thread's own windows, and what it did with the batch's signals."""

    batch: Batch
    deferring: int = 0
    committed: int = 0
    seen: int = 0  # the batch's signals this worker has acted on
    pending: bool = False
    children: set[int] = field(default_factory=set)  # installer groups started and not reaped


_batch: Batch | None = None
_local = threading.local()


def _worker() -> _Worker | None:
    found: _Worker | None = getattr(_local, "worker", None)
    return found


def install_handlers() -> dict[int, Handler]:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt; return the handlers they replace."""
    return {signum: signal.signal(signum, _on_signal) for signum in SIGNALS}


def restore_handlers(previous: Mapping[int, Handler]) -> None:
    """Put back handlers returned by ``install_handlers``."""
    for signum, handler in previous.items():
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM inside the block; act on them when it ends.

    Outside ``committed()`` a held signal is raised as KeyboardInterrupt at the
    end of the block (even when the block raised: the interrupt wins). Inside
    ``committed()`` it counts as a signal after the commit point.
    """
    worker = _worker()
    if worker is not None:
        worker.deferring += 1
        try:
            yield
        finally:
            worker.deferring -= 1
            poll()
        return
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
        # From here on the handler acts at once, so nothing that arrives now waits.
        if not _state.deferring:
            _deliver_held()


@contextmanager
def committed() -> Iterator[None]:
    """Inside, the first signal is recorded, not raised; a second raises CleanupCut.

    The record outlives the block: check ``interrupt_pending()`` before the next
    item of a batch, and ``clear_pending()`` once it has been answered.
    """
    state: _State | _Worker = _worker() or _state
    state.committed += 1
    try:
        yield
    finally:
        state.committed -= 1


def interrupt_pending() -> bool:
    """Whether a signal was recorded after a commit point and not yet answered (in a
    worker: whether its batch received any signal, the batch's own stop sign)."""
    worker = _worker()
    if worker is not None:
        return worker.pending or worker.batch.interrupts > 0
    return _state.pending


def clear_pending() -> None:
    """Forget a recorded signal (the batch has stopped, or the caller chose to go on).

    A worker cannot: the signal is its batch's, and the main thread answers it.
    """
    if _worker() is None:
        _state.pending = False


# ---------------------------------------------------------------- parallel batches


@contextmanager
def batch() -> Iterator[Batch]:
    """Run a parallel batch in the main thread: signals are counted for its workers."""
    global _batch  # noqa: PLW0603 -- the handler, a plain function, must find it
    if threading.current_thread() is not threading.main_thread() or _batch is not None:
        raise RuntimeError("a parallel batch runs in the main thread, one at a time")
    _batch = Batch()
    try:
        yield _batch
    finally:
        _batch = None


@contextmanager
def worker(of: Batch) -> Iterator[None]:
    """Make the calling thread a worker of ``of``: its windows are its own from now on."""
    state = _Worker(of)
    of.workers.append(state)
    _local.worker = state
    try:
        yield
    finally:
        _local.worker = None
        state.children.clear()


def in_worker() -> bool:
    """Whether the calling thread is a worker of a parallel batch."""
    return _worker() is not None


def poll() -> None:
    """In a worker, act on the batch's signals it has not acted on, as the handler would
    in the main thread; elsewhere (or inside ``deferred()``) do nothing."""
    worker = _worker()
    if worker is None or worker.deferring:
        return
    arrived = worker.batch.interrupts - worker.seen
    if arrived <= 0:
        return
    worker.seen = worker.batch.interrupts
    if not worker.committed:
        raise KeyboardInterrupt
    if worker.pending or arrived > 1:
        worker.pending = True
        raise CleanupCut
    worker.pending = True


def send_to_self(signum: signal.Signals) -> None:
    """Signal this process, and act on it before returning, as the handler does in the
    main thread (a worker waits until the main thread has counted it, then polls)."""
    worker = _worker()
    before = worker.batch.interrupts if worker is not None else 0
    os.kill(os.getpid(), signum)
    if worker is None:
        return
    deadline = time.monotonic() + 5.0
    while worker.batch.interrupts == before and time.monotonic() < deadline:
        time.sleep(0.001)
    poll()


def started_child(pgid: int) -> None:
    """Note an installer group a worker started: stopped if its batch is interrupted."""
    worker = _worker()
    if worker is not None:
        worker.children.add(pgid)


def reaped_child(pgid: int) -> None:
    """The group's leader is done (a zombie still holds its id): no longer to stop."""
    worker = _worker()
    if worker is not None:
        worker.children.discard(pgid)


def children_to_stop(of: Batch) -> list[int]:
    """The installer groups of the workers whose change is not committed."""
    return [pgid for w in list(of.workers) if not w.committed for pgid in list(w.children)]


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _batch is not None:  # the main thread waits for workers: they act on it
        _batch.interrupts += 1
        return
    if _state.deferring:
        _state.held += 1
        return
    _deliver()


def _deliver() -> None:
    if not _state.committed:
        raise KeyboardInterrupt
    if _state.pending:
        raise CleanupCut
    _state.pending = True


def _deliver_held() -> None:
    while _state.held:
        _state.held -= 1
        try:
            _deliver()
        except BaseException:
            _state.held = 0  # one interrupt answers every signal held with it
            raise
