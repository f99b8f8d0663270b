"""Several apps at once, in-process with the fake backend: output and links in input order,
one app's failure its own, an interrupt that keeps what committed, no deadlock between
items that name the same app."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from appx import parallel, signals
from appx.errors import AppxError, EnvironmentSetupError, InterruptedByUser, ShimConflictError
from appx.install import InstallOptions, InstallResult, install_apps
from appx.listing import list_apps
from appx.output import Console, Reporter
from appx.parallel import jobs_from, run_batch
from appx.paths import AppxPaths
from fake_backend import FakeBackend, FakePackage, this_interpreter
from test_install import nothing_left_of

CATALOGUE = {
    "tool": FakePackage("tool", "1.0", commands=["tool"]),
    "other": FakePackage("other", "2.0", commands=["other"]),
    "third": FakePackage("third", "3.0", commands=["third"]),
    "rival": FakePackage("rival", "1.0", commands=["tool", "rival"]),
}
WAIT = 10.0  # seconds a hook waits for another app's step before giving up (never, if all is well)


def install(
    paths: AppxPaths, *specs: str, backend: FakeBackend, console: Console | None = None
) -> list[InstallResult]:
    """Install up to three specs at once."""
    return install_apps(
        paths,
        specs,
        InstallOptions(),
        console or Console(out=io.StringIO(), err=io.StringIO()),
        cwd=paths.home.parent,
        environ={"PATH": str(paths.bin_dir), "APPX_JOBS": "3"},
        backend=backend,
        interpreter=this_interpreter(),
    )


def after(event: threading.Event, then: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """A hook that waits until ``event`` is set, then runs ``then``; an interrupt of its
    batch stops the wait, as it stops a real installer."""

    def hook() -> None:
        deadline = time.monotonic() + WAIT
        while not event.wait(0.01):
            signals.poll()
            assert time.monotonic() < deadline, "the other app never got there"
        then()

    return hook


def test_output_follows_the_input_order_when_apps_finish_out_of_order(paths: AppxPaths) -> None:
    fake = FakeBackend(CATALOGUE)
    third_installing = threading.Event()
    happened: list[str] = []

    def third() -> None:
        happened.append("third")
        third_installing.set()

    fake.hooks["install:third"] = third
    fake.hooks["install:tool"] = after(third_installing, lambda: happened.append("tool"))
    err = io.StringIO()
    results = install(
        paths, "tool", "other", "third", backend=fake, console=Console(err=err, verbose=True)
    )
    assert happened == ["third", "tool"]  # the third app was built before the first
    assert [(r.app, r.status) for r in results] == [
        ("tool", "installed"),
        ("other", "installed"),
        ("third", "installed"),
    ]
    said = [line.split(":")[0] for line in err.getvalue().splitlines()]
    assert said == ["tool", "tool", "other", "other", "third", "third"]
    assert "tool: Installing tool..." in err.getvalue()  # every line names its app


def test_two_apps_claiming_one_command_end_as_one_after_the_other_would(
    paths: AppxPaths,
) -> None:
    fake = FakeBackend(CATALOGUE)

    def let_rival_go_first() -> None:
        # Serially, tool would be done before rival starts. Here rival, built first, could
        # commit meanwhile if nothing held it back: give it the time (it needs milliseconds).
        deadline = time.monotonic() + 0.3
        while paths.apps.read_current("rival") is None and time.monotonic() < deadline:
            time.sleep(0.01)

    fake.hooks["install:tool"] = let_rival_go_first
    first, second = install(paths, "tool", "rival", backend=fake)
    assert first.status == "installed"
    assert second.status == "failed"
    assert isinstance(second.error, ShimConflictError)
    assert os.readlink(paths.bin_dir / "tool") == f"{paths.venvs}/tool/current/bin/tool"
    assert nothing_left_of(paths, "rival")

    again = install(paths, "rival", "third", backend=fake)  # and in the other order
    assert [r.status for r in again] == ["failed", "installed"]


def test_the_same_app_twice_in_one_batch_is_installed_once_in_input_order(
    paths: AppxPaths,
) -> None:
    fake = FakeBackend(CATALOGUE, releases={"tool": [FakePackage("tool", "0.9", commands=["t"])]})
    first, second = install(paths, "tool==0.9", "tool", backend=fake)
    assert (first.status, first.version) == ("installed", "0.9")
    assert (second.status, second.version) == ("already-installed", "0.9")


def test_one_apps_failure_does_not_stop_the_others(paths: AppxPaths) -> None:
    fake = FakeBackend(CATALOGUE)
    other_started = threading.Event()

    def fail() -> None:
        other_started.set()
        raise OSError("disk on fire")

    fake.hooks["install:other"] = fail
    fake.hooks["install:third"] = after(other_started)  # runs while the other one fails
    results = install(paths, "tool", "other", "third", backend=fake)
    assert [r.status for r in results] == ["installed", "failed", "installed"]
    assert nothing_left_of(paths, "other")
    assert sorted(p.name for p in paths.bin_dir.iterdir()) == ["third", "tool"]


@pytest.mark.usefixtures("appx_handlers")
def test_ctrl_c_keeps_what_committed_and_discards_the_rest(paths: AppxPaths) -> None:
    fake = FakeBackend(CATALOGUE)

    def press_ctrl_c_once_tool_is_installed() -> None:
        deadline = time.monotonic() + WAIT
        while paths.apps.read_current("tool") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        signals.send_to_self(signal.SIGINT)

    third_waits = threading.Event()
    fake.hooks["install:other"] = press_ctrl_c_once_tool_is_installed
    fake.hooks["install:third"] = after(third_waits)  # still building when Ctrl-C comes
    results = install_apps(
        paths,
        ["tool", "other", "third"],
        InstallOptions(),
        Console(out=io.StringIO(), err=io.StringIO()),
        cwd=paths.home.parent,
        environ={"PATH": str(paths.bin_dir), "APPX_JOBS": "3"},
        backend=fake,
        interpreter=this_interpreter(),
    )
    assert [r.status for r in results] == ["installed", "failed", "failed"]
    assert all(isinstance(r.error, InterruptedByUser) for r in results[1:])
    assert [a.app for a in list_apps(paths).apps] == ["tool"]
    assert nothing_left_of(paths, "other")
    assert not signals.interrupt_pending()
    third_waits.set()


def test_items_that_find_the_same_app_late_do_not_wait_for_each_other(
    paths: AppxPaths,
) -> None:
    """The later item claims the app first and waits for its turn; the earlier one waits for
    the app: the turn does not wait for an item stuck behind a later one."""
    later_claimed = threading.Event()
    done: list[str] = []

    def work(item: str, said: Reporter) -> str:
        if item == "later":
            parallel.claim("app")
            later_claimed.set()
            parallel.wait_turn()
        else:
            assert later_claimed.wait(WAIT)
            parallel.claim("app")
        done.append(item)
        return item

    console = Console(out=io.StringIO(), err=io.StringIO())
    results = run_batch(
        ["earlier", "later"], work, lambda i, e: "failed", console, jobs=2, label=str
    )
    assert results == ["earlier", "later"]
    assert done == ["later", "earlier"]


def test_jobs_come_from_appx_jobs_or_the_cores() -> None:
    assert jobs_from({"APPX_JOBS": "1"}) == 1
    assert jobs_from({"APPX_JOBS": " 7 "}) == 7
    assert 2 <= jobs_from({}) <= parallel.MAX_JOBS
    for wrong in ("0", "two", "-1"):
        with pytest.raises(EnvironmentSetupError, match="APPX_JOBS"):
            jobs_from({"APPX_JOBS": wrong})


def test_a_bug_in_one_item_is_its_internal_error_and_a_bare_interrupt_starts_no_other() -> None:
    interrupted = threading.Event()

    def work(item: str, said: Reporter) -> str:
        if item == "interrupted":
            raise KeyboardInterrupt
        assert interrupted.wait(WAIT)  # still running when the interrupt comes
        if item == "buggy":
            raise RuntimeError("boom")
        return item

    def failed(item: str, error: AppxError) -> str:
        if isinstance(error, InterruptedByUser) and item == "interrupted":
            interrupted.set()
        return f"{item}: {error.kind}: {error.message}"

    console = Console(out=io.StringIO(), err=io.StringIO())
    items = ["buggy", "interrupted", "running", "waiting"]
    results = run_batch(items, work, failed, console, jobs=3, label=str)
    assert results == [
        "buggy: internal: unexpected RuntimeError: boom",
        "interrupted: interrupted: interrupted; this change was discarded",
        "running",
        "waiting: interrupted: not started: interrupted",
    ]
