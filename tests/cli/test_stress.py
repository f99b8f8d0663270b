"""Invariants 3 and 5 under load: many appx processes at once, and SIGKILLs at random instants.

The default session runs a short round of each; the ``stress`` nox session runs them long
(APPX_TEST_STRESS_PROCESSES, APPX_TEST_STRESS_COMMANDS, APPX_TEST_STRESS_KILLS). Seeds come from
APPX_TEST_STRESS_SEED (default: a fixed one), so a failing round can be run again; the counts
and the seed are in the session's summary.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

import factories
from crash_checks import KILLED, assert_app_dir_whole, assert_holds_exactly_its_records
from fault_walk import REPORT, runner

if TYPE_CHECKING:
    from collections.abc import Callable

    from factories import Env, IndexServer, ProcResult

pytestmark = pytest.mark.slow

APPS = ("cowsay-lite", "multi-cmd", "tool-with-man")
VERSIONS = {"cowsay-lite": ("1.0", "2.0"), "multi-cmd": ("1.0", "2.0"), "tool-with-man": ("1.0",)}
# Exit codes a command may end with when another process changed the app first (README's
# table): not-installed (4), a rollback with no previous version or an upgrade of an app
# pinned meanwhile (invalid-spec, 3), doctor seeing another process's change half-way
# (problems-found, 13).
RACE_CODES = {
    "install": {0},
    "upgrade": {0, 3, 4},
    "rollback": {0, 3, 4},
    "uninstall": {0, 4},
    "list": {0},
    "run": {0},
    "doctor": {0, 13},
    "pin": {0, 4},
    "upgrade-all": {0},
}


def _seed() -> int:
    return int(os.environ.get("APPX_TEST_STRESS_SEED", "20261204"))


def _count(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass(frozen=True)
class Step:
    kind: str
    args: tuple[str, ...]


def random_step(rng: random.Random) -> Step:
    """One command over the shared apps, as a user might type it."""
    app = rng.choice(APPS)
    kind = rng.choice(
        ["install", "install", "upgrade", "rollback", "uninstall", "list", "run", "doctor", "pin"]
    )
    match kind:
        case "install" if rng.random() < 0.5:
            args: tuple[str, ...] = ("install", "--force", f"{app}=={rng.choice(VERSIONS[app])}")
        case "install":
            args = ("install", app)
        case "list":
            args = ("list", "--json")
        case "run":
            args = ("run", "cowsay-lite", "hi")
        case "doctor":
            args = ("doctor",)
        case "pin":
            args = (rng.choice(["pin", "unpin"]), app)
        case _:
            args = (kind, app)
    return Step(kind, args)


@pytest.fixture
def local_index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)


def assert_consistent(env: Env, run: Callable[..., ProcResult]) -> None:
    """Every app whole, its links right, its commands running; doctor finds nothing."""
    doctor = run("doctor")
    assert doctor.code == 0, doctor
    listing = list_json(run)
    assert listing["orphan_links"] == [], listing
    for entry in listing["apps"]:
        assert entry["problems"] == [], entry
        assert_app_dir_whole(env, entry["app"])
        for command in entry["commands"]:
            shim = factories.run([env.bin_dir / command["name"]], timeout=60)
            assert shim.stdout.split()[:2] == [entry["package"], entry["version"]], shim


def list_json(run: Callable[..., ProcResult]) -> dict[str, Any]:
    result = run("list", "--json")
    assert result.code == 0, result
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_many_processes_at_once_leave_a_consistent_home(appx_env: Env, local_index: None) -> None:
    processes = _count("APPX_TEST_STRESS_PROCESSES", 4)
    commands = _count("APPX_TEST_STRESS_COMMANDS", 6)
    seed = _seed()
    run = runner(appx_env)
    done: list[tuple[Step, ProcResult]] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)  # noqa: S311 -- a test's choice
        for _ in range(commands):
            step = random_step(rng)
            result = run(*step.args)
            with lock:
                done.append((step, result))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    unexpected = [
        (step.args, result)
        for step, result in done
        if result.code not in RACE_CODES[step.kind]
        or "Traceback" in result.stderr
        or (step.kind == "run" and result.stdout.strip() != "cowsay-lite 2.0 hi")
    ]
    assert unexpected == []
    assert_consistent(appx_env, run)
    outcomes = collections.Counter(f"{step.kind} {result.code}" for step, result in done)
    REPORT.append(
        f"stress: {processes} processes x {commands} commands = {len(done)} at once "
        f"(seed {seed}); command exit-code: count: "
        + ", ".join(f"{k}: {n}" for k, n in sorted(outcomes.items()))
    )


KILLABLE = (
    ("install", "--force", "cowsay-lite==1.0"),
    ("install", "--force", "multi-cmd==2.0"),
    ("upgrade", "cowsay-lite"),
    ("upgrade", "multi-cmd"),
    ("rollback", "multi-cmd"),
    ("uninstall", "cowsay-lite"),
    ("install", "cowsay-lite", "multi-cmd"),
    ("reinstall", "multi-cmd"),
    ("inject", "multi-cmd", "dep-lib"),
    ("run", "tool-with-man"),
)


def test_sigkill_at_random_instants_never_leaves_a_broken_app(
    appx_env: Env, local_index: None
) -> None:
    kills = _count("APPX_TEST_STRESS_KILLS", 4)
    rng = random.Random(_seed())  # noqa: S311 -- a test's choice
    run = runner(appx_env)
    for setup in (("install", "cowsay-lite==1.0"), ("install", "multi-cmd==1.0")):
        assert run(*setup).code == 0
    killed = 0
    for _ in range(kills):
        args = rng.choice(KILLABLE)
        process = subprocess.Popen(
            factories.appx_command(*args),
            cwd=appx_env.tmp,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, 1.5))
        process.send_signal(signal.SIGKILL)  # appx alone: its installer, if any, runs on
        killed += process.wait() == KILLED
        for entry in list_json(run)["apps"]:
            generation = appx_env.appx_home / "venvs" / entry["app"] / "current"
            assert_holds_exactly_its_records(generation.resolve())
        after = run("install", "cowsay-lite")  # any mutating command mends what is left
        assert after.code == 0, after
        assert_consistent(appx_env, run)
    REPORT.append(
        f"random SIGKILLs: {kills} commands killed at random instants (seed {_seed()}), "
        f"{killed} of them before they ended"
    )
