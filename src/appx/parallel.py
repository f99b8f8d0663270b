"""Several apps at once: a bounded pool of worker threads, with output in the order given.

`run_batch` runs one change per item (an app to install, upgrade, reinstall or
sync). Each item's work runs in a thread of its own, under its own app lock as
ever; at most `jobs_from` items build at a time. What an item says while it works
(steps, warnings) is kept and printed when it is done and every item before it has
been printed, each line naming the item: the output reads as if the items ran one
after the other, and a live line on a terminal says what is running.

Two rules make the result the same as one after the other:
- links in input order: an item takes the bin lock (`wait_turn`, from
  `locks.bin_lock`) only once every item before it is done, so when two items
  claim the same command, the earlier one gets it, as it would serially. An item
  waiting for its turn no longer counts against the bound.
- one item per app at a time (`claim`): items known to name the same app run one
  after the other, in input order.

Signals: the main thread waits; a Ctrl-C or SIGTERM is counted (`signals.batch`),
every item not started is reported "not started", the installers of items not
committed are stopped, and each worker acts on it at its next poll: an item not
committed is discarded, one committed stands. One item or ``APPX_JOBS=1`` runs in
the calling thread, exactly as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from appx import proc, signals
from appx.errors import AppxError, EnvironmentSetupError, InterruptedByUser, from_exception
from appx.output import Console, Recorder, Reporter

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_JOBS = 4
_TICK = 0.05  # how often a waiting thread looks for a signal or a change

Work = Callable[[Item, Reporter], Result]
Failed = Callable[[Item, AppxError], Result]


def jobs_from(environ: Mapping[str, str]) -> int:
    """How many items may build at once: ``APPX_JOBS``, or one more than the cores, at most 4.

    An item's work is mostly an installer process, CPU-bound in bursts (resolving,
    unpacking, compiling bytecode) and waiting on the network in between: one more
    than the cores keeps them busy. Past 4, one index host, the disk and memory
    (a pip is 50-100 MB) gain little, and a private index may throttle.
    """
    text = environ.get("APPX_JOBS", "").strip()
    if not text:
        return min(MAX_JOBS, _cores() + 1)
    if not text.isdigit() or int(text) < 1:
        raise EnvironmentSetupError(
            f"APPX_JOBS must be a whole number of at least 1, not {text!r}",
            "set APPX_JOBS=1 to work on one app at a time, or unset it",
        )
    return int(text)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover -- not Linux
        return os.cpu_count() or 1


def run_batch(
    items: Sequence[Item],
    work: Work[Item, Result],
    failed: Failed[Item, Result],
    reporter: Reporter,
    *,
    jobs: int,
    label: Callable[[Item], str],
    key: Callable[[Item], str | None] = lambda _: None,
    hint: str = "run the command again to finish",
) -> list[Result]:
    """Run ``work`` for each item; one result per item, in input order, whatever happens.

    A failure is its item's result (``failed``); an interrupted item, or one not started
    because of an interrupt, is an `InterruptedByUser` result with ``hint``. Items with
    the same ``key`` (an app name) run one after the other, in input order.
    """
    main = threading.current_thread() is threading.main_thread()
    if jobs <= 1 or len(items) <= 1 or not main or in_batch():
        return _one_by_one(items, work, failed, reporter, hint)
    return _Pool(items, work, failed, reporter, jobs, label, key, hint).run()


def in_batch() -> bool:
    """Whether the caller works on an item of a batch (in a worker, or one by one): an
    interrupt is then the batch's to answer, and its record is the batch's to clear."""
    return signals.in_worker() or getattr(_local, "depth", 0) > 0


def _one_by_one(
    items: Sequence[Item],
    work: Work[Item, Result],
    failed: Failed[Item, Result],
    reporter: Reporter,
    hint: str,
) -> list[Result]:
    """The items one after the other in this thread, as appx always did.

    Inside another batch (an item of sync installs its app through install's batch), an
    interrupt is the outer batch's: it goes on to stop that one, and its signals stay
    recorded for it.
    """
    outermost = not in_batch()
    results: list[Result] = []
    if outermost:
        signals.clear_pending()
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        for position, item in enumerate(items):
            if signals.interrupt_pending():  # a signal came after the last item committed
                results += [failed(rest, not_started(hint)) for rest in items[position:]]
                break
            try:
                results.append(work(item, reporter))
            except AppxError as error:
                results.append(failed(item, error))
            except Exception as error:  # noqa: BLE001 -- one item's failure must not sink the batch
                results.append(failed(item, from_exception(error)))
            except KeyboardInterrupt:
                if not outermost:
                    raise
                results.append(failed(item, discarded(hint)))
                results += [failed(rest, not_started(hint)) for rest in items[position + 1 :]]
                break
    finally:
        _local.depth -= 1
    if outermost:
        signals.clear_pending()  # a signal in the last item's clean-up: it is done all the same
    return results


def discarded(hint: str) -> InterruptedByUser:
    return InterruptedByUser("interrupted; this change was discarded", hint)


def not_started(hint: str) -> InterruptedByUser:
    return InterruptedByUser("not started: interrupted", hint)


# ---------------------------------------------------------------- the pool


@dataclass
class _Slot(Generic[Item, Result]):
    index: int
    item: Item
    key: str | None
    pool: _Pool[Item, Result]
    state: Literal["waiting", "running", "done"] = "waiting"
    parked: bool = False  # waiting for its turn: not counted against the bound
    turn: bool = False  # every item before it is done: it may change links
    waits_for: str | None = None  # an app another item has claimed
    result: Result | None = None
    said: Recorder = field(default_factory=Recorder)  # what it says, printed in its turn


_local = threading.local()


class _Pool(Generic[Item, Result]):
    def __init__(
        self,
        items: Sequence[Item],
        work: Work[Item, Result],
        failed: Failed[Item, Result],
        reporter: Reporter,
        jobs: int,
        label: Callable[[Item], str],
        key: Callable[[Item], str | None],
        hint: str,
    ) -> None:
        self.slots = [_Slot(i, item, key(item), self) for i, item in enumerate(items)]
        self.work, self.failed, self.reporter = work, failed, reporter
        self.jobs, self.label, self.hint = jobs, label, hint
        self.cond = threading.Condition()
        self.claims: dict[str, _Slot[Item, Result]] = {}
        self.stopped = False  # an interrupt raised in a worker, not by a signal
        self.printed = 0

    def run(self) -> list[Result]:
        live = self.reporter.live if isinstance(self.reporter, Console) else _no_live
        with signals.batch() as batch, live(self._describe):
            self.batch = batch
            while not self._step():
                pass
        results = [slot.result for slot in self.slots]
        assert all(r is not None for r in results)  # noqa: S101 -- every slot ends with one
        return [r for r in results if r is not None]

    def _step(self) -> bool:
        """One turn of the main thread's loop; True when every item is done and printed."""
        if self.batch.interrupts:  # not for a bare KeyboardInterrupt: no worker acts on that
            for pgid in signals.children_to_stop(self.batch):
                proc.kill_group(pgid)
        interrupted = self.batch.interrupts > 0 or self.stopped
        with self.cond:
            if interrupted:
                for slot in self.slots:
                    if slot.state == "waiting":
                        self._finish(slot, self.failed(slot.item, not_started(self.hint)))
            else:
                self._start_what_fits()
            ready = self._ready_to_print()
            if not ready and self.printed < len(self.slots):
                self.cond.wait(_TICK)
        for slot in ready:
            slot.said.replay(self.reporter, self.label(slot.item))
        return self.printed == len(self.slots)

    def _start_what_fits(self) -> None:
        running = sum(1 for s in self.slots if s.state == "running" and not s.parked)
        for slot in self.slots:
            if running >= self.jobs:
                return
            if slot.state == "waiting" and self._free(slot):
                slot.state = "running"
                if slot.key is not None:
                    self.claims[slot.key] = slot
                threading.Thread(target=self._work, args=(slot,), daemon=True).start()
                running += 1

    def _free(self, slot: _Slot[Item, Result]) -> bool:
        """Whether no other item works on its app: none before it that names the same app
        is still to finish, and no later one found, once started, that it is that app."""
        if slot.key is None:
            return True
        earlier = self.slots[: slot.index]
        if any(s.key == slot.key and s.state != "done" for s in earlier):
            return False
        owner = self.claims.get(slot.key)
        slot.waits_for = slot.key if owner is not None and owner is not slot else None
        return slot.waits_for is None

    def _ready_to_print(self) -> list[_Slot[Item, Result]]:
        ready = []
        while self.printed < len(self.slots) and self.slots[self.printed].state == "done":
            ready.append(self.slots[self.printed])
            self.printed += 1
        return ready

    def _finish(self, slot: _Slot[Item, Result], result: Result) -> None:
        """Record an item's result (the caller holds the condition)."""
        slot.result, slot.state = result, "done"
        for app in [app for app, owner in self.claims.items() if owner is slot]:
            del self.claims[app]
        self.cond.notify_all()

    def _work(self, slot: _Slot[Item, Result]) -> None:
        _local.slot = slot
        result: Result
        with signals.worker(self.batch):
            try:
                result = self.work(slot.item, slot.said)
            except AppxError as error:
                result = self.failed(slot.item, error)
            except Exception as error:  # noqa: BLE001 -- one item's failure must not sink the batch
                result = self.failed(slot.item, from_exception(error))
            except KeyboardInterrupt:
                self.stopped = True
                result = self.failed(slot.item, discarded(self.hint))
            except BaseException as error:  # noqa: BLE001 -- a thread must always report back
                self.stopped = True
                result = self.failed(slot.item, from_exception(Exception(repr(error))))
        with self.cond:
            self._finish(slot, result)

    def _describe(self) -> str:
        running = [self.label(s.item) for s in self.slots if s.state == "running"]
        done = sum(1 for s in self.slots if s.state == "done")
        return f"{', '.join(running) or 'finishing'} ({done} of {len(self.slots)} done)"

    # ---- called by the workers (see wait_turn and claim)

    def wait_turn(self, slot: _Slot[Item, Result]) -> None:
        with self.cond:
            slot.parked = True
            self.cond.notify_all()  # a place in the pool is free for the next item
            while not all(s.state == "done" or self._stuck(s) for s in self.slots[: slot.index]):
                self.cond.wait(_TICK)
                signals.poll()
            slot.turn = True

    def _stuck(self, slot: _Slot[Item, Result]) -> bool:
        """Waiting for an app a later item has claimed: not waited for, or both would wait."""
        owner = self.claims.get(slot.waits_for) if slot.waits_for is not None else None
        return owner is not None and owner.index > slot.index

    def claim(self, slot: _Slot[Item, Result], app: str) -> None:
        with self.cond:
            try:
                while self.claims.setdefault(app, slot) is not slot:
                    slot.waits_for = app
                    self.cond.notify_all()
                    self.cond.wait(_TICK)
                    signals.poll()
            finally:
                slot.waits_for = None


def wait_turn() -> None:
    """In a batch's worker, wait until every item before this one is done (then return at
    once for the rest of the item); elsewhere return at once."""
    slot: _Slot[object, object] | None = getattr(_local, "slot", None)
    if slot is not None and signals.in_worker() and not slot.turn:
        slot.pool.wait_turn(slot)


def claim(app: str) -> None:
    """In a batch's worker, wait until no other item of the batch works on ``app``, and keep
    it until this item is done; elsewhere (the app lock is enough) return at once."""
    slot: _Slot[object, object] | None = getattr(_local, "slot", None)
    if slot is not None and signals.in_worker():
        slot.pool.claim(slot, app)


@contextmanager
def _no_live(describe: Callable[[], str]) -> Iterator[None]:
    yield
