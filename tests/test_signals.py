"""Tests for appx.signals: Ctrl-C and SIGTERM held, raised, or recorded after a commit point.

Each test sends the signal to this very process, with appx's handlers installed
for the test only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from appx import faults, signals
from appx.signals import CleanupCut, committed, deferred, interrupt_pending

pytestmark = pytest.mark.usefixtures("appx_handlers")


def _send(signum: signal.Signals = signal.SIGINT) -> None:
    """Deliver a signal to this process; its Python handler runs before this returns."""
    os.kill(os.getpid(), signum)


BOTH = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])


@BOTH
def test_a_signal_outside_any_window_raises_at_once(signum: signal.Signals) -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt):
        _send(signum)
        reached.append("after the signal")
    assert reached == []
    assert not interrupt_pending()


@BOTH
def test_a_deferred_signal_is_raised_when_the_block_ends(signum: signal.Signals) -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with deferred():
            steps.append("started")
            _send(signum)
            steps.append("recorded")  # the step that must go with the first one still runs
        steps.append("after the block")
    assert steps == ["started", "recorded"]
    assert not interrupt_pending()


def test_a_deferred_interrupt_wins_over_an_error_of_the_block() -> None:
    with pytest.raises(KeyboardInterrupt) as raised, deferred():
        _send()
        raise OSError("cannot start the child")
    assert isinstance(raised.value.__context__, OSError)


def test_several_deferred_signals_raise_one_interrupt_and_leave_nothing_behind() -> None:
    with pytest.raises(KeyboardInterrupt), deferred():
        _send()
        _send(signal.SIGTERM)
    with deferred():
        pass  # nothing held from before: no interrupt here
    assert not interrupt_pending()


def test_nested_deferred_blocks_hold_until_the_outermost_ends() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt), deferred():
        with deferred():
            _send()
        steps.append("inner block ended")
    assert steps == ["inner block ended"]


def test_a_deferred_block_without_signals_changes_nothing() -> None:
    with deferred():
        pass
    with pytest.raises(KeyboardInterrupt):
        _send()


@BOTH
def test_after_the_commit_point_the_first_signal_is_recorded_not_raised(
    signum: signal.Signals,
) -> None:
    steps = []
    with committed():
        _send(signum)
        steps.append("cleanup finished")
    assert steps == ["cleanup finished"]
    assert interrupt_pending()  # the batch stops before its next item
    signals.clear_pending()
    assert not interrupt_pending()


@BOTH
def test_a_second_signal_after_the_commit_point_cuts_the_cleanup(signum: signal.Signals) -> None:
    steps = []
    with pytest.raises(CleanupCut), committed():
        _send()
        steps.append("cleaning up")
        _send(signum)
        steps.append("never")
    assert steps == ["cleaning up"]
    assert interrupt_pending()


def test_a_cut_cleanup_is_not_an_interrupt_nor_an_ordinary_error() -> None:
    # Code that discards work on KeyboardInterrupt, or goes on after an Exception,
    # must let it through: the change is committed and stays.
    assert not issubclass(CleanupCut, KeyboardInterrupt)
    assert not issubclass(CleanupCut, Exception)


def test_signals_held_by_a_deferred_block_inside_a_commit_count_as_after_the_commit() -> None:
    steps = []
    with committed():
        with deferred():
            _send()
        steps.append("cleanup goes on")
    assert steps == ["cleanup goes on"]
    assert interrupt_pending()


def test_two_signals_held_inside_a_commit_cut_the_cleanup_when_the_block_ends() -> None:
    steps = []
    with pytest.raises(CleanupCut), committed():
        with deferred():
            _send()
            _send()
            steps.append("the held step finished")
        steps.append("never")
    assert steps == ["the held step finished"]


def test_a_signal_after_the_committed_block_interrupts_again() -> None:
    with committed():
        pass
    with pytest.raises(KeyboardInterrupt):
        _send()


def test_restored_handlers_are_the_previous_ones() -> None:
    previous = signals.install_handlers()
    assert signal.getsignal(signal.SIGTERM) is previous[signal.SIGTERM]  # ours, installed twice
    signals.restore_handlers({signal.SIGTERM: None})  # unknown to Python: the default
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    signals.restore_handlers(previous)


def test_the_entry_point_installs_the_handlers_so_a_child_start_is_never_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from appx.__main__ import main

    signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    monkeypatch.setattr("sys.argv", ["appx", "--version"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0

    steps = []
    with pytest.raises(KeyboardInterrupt), deferred():
        _send(signal.SIGINT)
        steps.append("recorded")
    assert steps == ["recorded"]


# ---------------------------------------------------------------- fault points that interrupt


def test_a_fault_point_can_press_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPX_FAULT_AT", "after-venv")
    monkeypatch.setenv("APPX_FAULT_SIGNAL", "INT")
    faults.checkpoint("after-marker")  # not this point: nothing happens
    with pytest.raises(KeyboardInterrupt):
        faults.checkpoint("after-venv")


def test_a_fault_point_after_the_commit_can_press_ctrl_c_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPX_FAULT_AT", "after-flip")
    monkeypatch.setenv("APPX_FAULT_SIGNAL", "TERM")
    with committed():
        faults.checkpoint("after-flip")
    assert interrupt_pending()
    signals.clear_pending()

    monkeypatch.setenv("APPX_FAULT_SIGNAL", "int, int")
    with pytest.raises(CleanupCut), committed():
        faults.checkpoint("after-flip")


# ---------------------------------------------------------------- worker threads of a batch


def in_worker_of(batch: signals.Batch, body: Callable[[], None]) -> BaseException | None:
    """Run ``body`` in a worker thread of ``batch``; return what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        with signals.worker(batch):
            try:
                body()
            except BaseException as error:  # noqa: BLE001 -- handed to the test
                raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def test_in_a_batch_the_handler_counts_the_signal_and_the_main_thread_goes_on() -> None:
    with signals.batch() as batch:
        _send()
        _send(signal.SIGTERM)
        assert batch.interrupts == 2
    with pytest.raises(KeyboardInterrupt):  # the batch is over: as before
        _send()


def test_a_worker_not_committed_raises_at_its_next_poll() -> None:
    steps: list[str] = []

    def body() -> None:
        signals.poll()
        steps.append("nothing yet")
        batch.interrupts += 1  # what the main thread's handler does
        steps.append("working on")  # a worker acts only where it polls
        signals.poll()
        steps.append("never")

    with signals.batch() as batch:
        raised = in_worker_of(batch, body)
    assert isinstance(raised, KeyboardInterrupt)
    assert steps == ["nothing yet", "working on"]


def test_a_worker_holds_a_signal_in_a_deferred_block_and_raises_when_it_ends() -> None:
    steps: list[str] = []

    def body() -> None:
        with deferred():
            batch.interrupts += 1
            signals.poll()
            steps.append("the held step finished")
        steps.append("never")

    with signals.batch() as batch:
        raised = in_worker_of(batch, body)
    assert isinstance(raised, KeyboardInterrupt)
    assert steps == ["the held step finished"]


def test_a_committed_worker_records_the_first_signal_and_a_second_cuts_its_cleanup() -> None:
    steps: list[str] = []

    def body() -> None:
        with committed():
            batch.interrupts += 1
            signals.poll()
            steps.append("cleanup goes on")
            assert interrupt_pending()
            signals.clear_pending()  # the batch's to answer, not the worker's
            assert interrupt_pending()
            signals.poll()  # nothing new: nothing happens
            batch.interrupts += 1
            signals.poll()
            steps.append("never")

    with signals.batch() as batch:
        raised = in_worker_of(batch, body)
    assert isinstance(raised, CleanupCut)
    assert steps == ["cleanup goes on"]
    assert not interrupt_pending()  # the main thread's own record is untouched


def test_every_worker_acts_on_the_same_signal_once() -> None:
    def committed_then_later_work() -> None:
        with committed():
            signals.poll()  # the signal, recorded
        signals.poll()  # the same signal again: not a new one, so no interrupt

    with signals.batch() as batch:
        batch.interrupts += 1
        assert isinstance(in_worker_of(batch, signals.poll), KeyboardInterrupt)
        assert in_worker_of(batch, committed_then_later_work) is None


def test_the_installers_to_stop_are_those_of_workers_not_committed() -> None:
    def committed_with_a_child() -> None:
        signals.started_child(13)
        with committed():
            assert signals.children_to_stop(batch) == [11]  # not its own 13

    with signals.batch() as batch:
        done = threading.Event()

        def keep_running() -> None:
            signals.started_child(11)
            signals.started_child(12)
            signals.reaped_child(12)
            done.wait(5)

        thread = threading.Thread(target=lambda: in_worker_of(batch, keep_running))
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while signals.children_to_stop(batch) != [11] and time.monotonic() < deadline:
                time.sleep(0.001)
            assert signals.children_to_stop(batch) == [11]
            assert in_worker_of(batch, committed_with_a_child) is None
        finally:
            done.set()
            thread.join()


def test_a_batch_runs_in_the_main_thread_only() -> None:
    refused: list[str] = []

    def body() -> None:
        try:
            with signals.batch():
                pass
        except RuntimeError as error:
            refused.append(str(error))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert refused == ["a parallel batch runs in the main thread, one at a time"]
