"""Invariant 5, safe concurrency: appx processes started together all end well.

Each test starts real appx processes at once and waits for all of them; then every
app is listed healthy with working shims, or is cleanly absent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest

import factories
from factories import ProcResult

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from factories import Env, IndexServer

pytestmark = pytest.mark.slow

GENERATION_RE = re.compile(r"g\d+-[0-9a-f]{8}")


class Processes:
    """appx processes started by a test, each as soon as asked; all are awaited together."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.started: list[tuple[list[str], subprocess.Popen[str]]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        argv = factories.appx_command(*args)
        process = subprocess.Popen(
            argv,
            cwd=self.cwd,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append((argv, process))
        return process

    def wait_all(self) -> list[ProcResult]:
        """Wait for every started process; none may print a traceback."""
        results = []
        for argv, process in self.started:
            out, err = process.communicate(timeout=300)
            results.append(ProcResult(argv, process.returncode, out, err))
        for result in results:
            assert "Traceback" not in result.stderr, result
        return results

    def run_together(self, *commands: Sequence[str]) -> list[ProcResult]:
        for args in commands:
            self.start(*args)
        return self.wait_all()


@pytest.fixture(autouse=True)
def local_index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every appx process of these tests installs from the session's local index."""
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)


@pytest.fixture
def processes(appx_env: Env) -> Iterator[Processes]:
    """Start appx processes; any still running at teardown (a failed test) is killed."""
    started = Processes(appx_env.tmp)
    yield started
    for _argv, process in started.started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def list_json(run_appx: factories.RunAppx) -> dict[str, Any]:
    result = run_appx("list", "--json")
    assert result.code == 0, result
    listing: dict[str, Any] = json.loads(result.stdout)
    return listing


def assert_healthy(listing: dict[str, Any], versions: dict[str, str]) -> None:
    """Exactly these apps at these versions, every link in place, no problem, no orphan."""
    assert {entry["app"]: entry["version"] for entry in listing["apps"]} == versions, listing
    for entry in listing["apps"]:
        assert entry["problems"] == [], entry
        assert {c["state"] for c in entry["commands"]} == {"ok"}, entry
    assert listing["orphan_links"] == [], listing


def shim_says(env: Env, command: str) -> str:
    result = factories.run([env.bin_dir / command], timeout=60)
    assert result.code == 0, result
    return result.stdout.strip()


def generations(env: Env, app: str) -> list[str]:
    app_dir = env.appx_home / "venvs" / app
    return sorted(entry for entry in os.listdir(app_dir) if GENERATION_RE.fullmatch(entry))


def test_two_different_apps_installed_at_once(
    appx_env: Env, run_appx: factories.RunAppx, processes: Processes
) -> None:
    results = processes.run_together(("install", "cowsay-lite"), ("install", "tool-with-man"))

    assert [r.code for r in results] == [0, 0], results
    assert_healthy(list_json(run_appx), {"cowsay-lite": "2.0", "tool-with-man": "1.0"})
    assert shim_says(appx_env, "cowsay-lite") == "cowsay-lite 2.0"
    assert shim_says(appx_env, "tool-with-man") == "tool-with-man 1.0"
    assert (appx_env.man_dir / "man1" / "tool-with-man.1").is_file()


def test_the_same_app_installed_twice_at_once_is_built_once(
    appx_env: Env, run_appx: factories.RunAppx, processes: Processes
) -> None:
    results = processes.run_together(("install", "cowsay-lite"), ("install", "cowsay-lite"))

    assert [r.code for r in results] == [0, 0], results
    outputs = sorted(r.stdout.splitlines()[0] for r in results)
    assert outputs == ["cowsay-lite 2.0 is already installed", "installed cowsay-lite 2.0"]
    assert_healthy(list_json(run_appx), {"cowsay-lite": "2.0"})
    assert len(generations(appx_env, "cowsay-lite")) == 1
    assert shim_says(appx_env, "cowsay-lite") == "cowsay-lite 2.0"


def test_a_reinstall_racing_an_uninstall_leaves_the_app_whole_or_gone(
    appx_env: Env, run_appx: factories.RunAppx, processes: Processes
) -> None:
    first = run_appx("install", "cowsay-lite==1.0")
    assert first.code == 0, first

    results = processes.run_together(
        ("install", "--force", "cowsay-lite==2.0"), ("uninstall", "cowsay-lite")
    )

    assert {r.code for r in results} <= {0, 4}, results
    listing = list_json(run_appx)
    shim = appx_env.bin_dir / "cowsay-lite"
    if listing["apps"]:  # the uninstall went first, then the install built afresh
        assert_healthy(listing, {"cowsay-lite": "2.0"})
        assert shim_says(appx_env, "cowsay-lite") == "cowsay-lite 2.0"
        assert len(generations(appx_env, "cowsay-lite")) == 1
    else:  # the reinstall went first, then the uninstall removed it all
        assert_healthy(listing, {})
        assert not shim.is_symlink()
        assert not (appx_env.appx_home / "venvs" / "cowsay-lite").exists()


def test_an_uninstall_started_during_a_reinstall_waits_then_removes_the_new_version(
    appx_env: Env, run_appx: factories.RunAppx, processes: Processes
) -> None:
    first = run_appx("install", "cowsay-lite==1.0")
    assert first.code == 0, first
    app_dir = appx_env.appx_home / "venvs" / "cowsay-lite"

    install = processes.start("install", "--force", "cowsay-lite==2.0")
    deadline = time.monotonic() + 60
    while not list(app_dir.glob(".g*.building")):  # the install holds the app lock now
        assert install.poll() is None, "the reinstall ended before its build was seen"
        assert time.monotonic() < deadline, "the reinstall never started its build"
        time.sleep(0.01)
    processes.start("uninstall", "cowsay-lite")
    results = processes.wait_all()

    assert [r.code for r in results] == [0, 0], results
    assert "reinstalled cowsay-lite 2.0" in results[0].stdout
    assert_healthy(list_json(run_appx), {})
    assert not (appx_env.bin_dir / "cowsay-lite").is_symlink()
    assert not app_dir.exists()


def test_four_suffixed_copies_installed_at_once(
    appx_env: Env, run_appx: factories.RunAppx, processes: Processes
) -> None:
    suffixes = ["-1", "-2", "-3", "-4"]

    results = processes.run_together(
        *(("install", "cowsay-lite", f"--suffix={s}") for s in suffixes)
    )

    assert [r.code for r in results] == [0, 0, 0, 0], results
    assert_healthy(list_json(run_appx), {f"cowsay-lite+{s}": "2.0" for s in suffixes})
    for suffix in suffixes:
        assert shim_says(appx_env, f"cowsay-lite{suffix}") == "cowsay-lite 2.0"
