"""Tests for appx.signals: Ctrl-C and SIGTERM held, raised, or recorded after a commit point.

Each test sends the signal to this very process, with appx's handlers installed
for the test only.
"""

from __future__ import annotations

import os
import signal

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
