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
Python runs handlers in the main thread only, so these windows are meant for it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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
    _state.committed += 1
    try:
        yield
    finally:
        _state.committed -= 1


def interrupt_pending() -> bool:
    """Whether a signal was recorded after a commit point and not yet answered."""
    return _state.pending


def clear_pending() -> None:
    """Forget a recorded signal (the batch has stopped, or the caller chose to go on)."""
    _state.pending = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
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
