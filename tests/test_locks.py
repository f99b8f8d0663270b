"""Tests for appx.locks: flock-based app, bin and shared locks, held across real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from appx.locks import app_lock_path, app_locks, bin_lock, shared_lock, try_app_lock
from appx.paths import AppxPaths

# A second appx process: takes the locks of the apps named in argv, says so, then sleeps.
_HOLDER = """
import sys, time
from pathlib import Path
from appx.locks import app_locks
from appx.paths import AppxPaths

home = Path(sys.argv[1])
paths = AppxPaths(home=home, bin_dir=home / "b", man_dir=home / "m", cache_dir=home / "c")
with app_locks(paths, sys.argv[2:]):
    print("locked", flush=True)
    time.sleep(60)
"""

Holder = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def holder(paths: AppxPaths) -> Iterator[Holder]:
    """Start another process that holds app locks; returns once it holds them."""
    started: list[subprocess.Popen[str]] = []

    def start(*apps: str) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(paths.home), *apps],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(child)
        assert child.stdout is not None
        line = child.stdout.readline()
        if line != "locked\n":
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"lock holder did not start: {err}")
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.communicate()


def test_a_free_lock_is_taken_without_a_waiting_message(paths: AppxPaths) -> None:
    messages: list[str] = []
    with app_locks(paths, ["black"], on_wait=messages.append):
        pass
    assert messages == []


def test_a_held_lock_makes_us_wait_and_say_so_until_the_holder_dies(
    paths: AppxPaths, holder: Holder
) -> None:
    child = holder("black")
    messages: list[str] = []

    def on_wait(message: str) -> None:
        messages.append(message)
        child.kill()  # SIGKILL: no chance to release anything itself

    # flock: the kernel releases a killed holder's lock, so the wait ends (no timeout here)
    with app_locks(paths, ["black"], on_wait=on_wait):
        assert child.wait(timeout=5) == -signal.SIGKILL

    assert len(messages) == 1
    assert "waiting for another appx process" in messages[0]
    assert "black" in messages[0]


def test_app_locks_are_taken_in_sorted_order(paths: AppxPaths, holder: Holder) -> None:
    child = holder("alpha")
    zeta_free_while_waiting: list[bool] = []

    def on_wait(message: str) -> None:
        assert "alpha" in message
        # Waiting for alpha must not already hold zeta: that is how two processes deadlock.
        with try_app_lock(paths, "zeta") as free:
            zeta_free_while_waiting.append(free)
        child.kill()

    with app_locks(paths, ["zeta", "alpha", "zeta"], on_wait=on_wait):
        with try_app_lock(paths, "zeta") as free_inside:
            assert not free_inside
        with try_app_lock(paths, "alpha") as free_inside:
            assert not free_inside

    assert zeta_free_while_waiting == [True]


def test_try_lock_skips_a_lock_held_by_another_process(paths: AppxPaths, holder: Holder) -> None:
    child = holder("black")
    with try_app_lock(paths, "black") as free:  # would block forever if it waited
        assert not free
    with try_app_lock(paths, "other") as free:
        assert free
    child.kill()
    child.wait()
    with try_app_lock(paths, "black") as free:
        assert free


def test_a_try_lock_holds_the_lock_until_its_block_ends(paths: AppxPaths) -> None:
    with try_app_lock(paths, "black") as free:
        assert free
        with try_app_lock(paths, "black") as again:
            assert not again
    with try_app_lock(paths, "black") as free:
        assert free


def test_lock_files_persist_after_release(paths: AppxPaths) -> None:
    with app_locks(paths, ["black", "black+-b"]), bin_lock(paths), shared_lock(paths):
        pass
    assert app_lock_path(paths, "black") == paths.locks / "app" / "black.lock"
    assert sorted(p.name for p in (paths.locks / "app").iterdir()) == [
        "black+-b.lock",
        "black.lock",
    ]
    assert (paths.locks / "bin.lock").is_file()
    assert (paths.locks / "shared.lock").is_file()
    with app_locks(paths, ["black"]):  # a lock file left behind is reused, not an obstacle
        pass


def test_the_bin_lock_is_not_blocked_by_an_app_lock(paths: AppxPaths, holder: Holder) -> None:
    holder("black")  # a concurrent appx busy with another lock does not block the bin lock
    messages: list[str] = []
    with bin_lock(paths, on_wait=messages.append):
        pass
    assert messages == []


def test_an_app_name_too_long_for_its_lock_file_still_gets_one_of_its_own(
    paths: AppxPaths,
) -> None:
    first, second = "a" * 255, "a" * 254 + "b"
    assert len(app_lock_path(paths, first).name.encode()) <= 255
    assert app_lock_path(paths, first) != app_lock_path(paths, second)
    with app_locks(paths, [first, second]), try_app_lock(paths, first) as free:
        assert not free
