"""Invariant 3, all or nothing: appx killed or interrupted at any step leaves every app whole.

Real appx processes are killed with SIGKILL at each named fault point
(``APPX_FAULT_AT``, see ``appx.faults``) or by the test while their installer runs;
then ``appx list`` must tell the truth, the next command must succeed, and the
generation it leaves must hold exactly what its RECORD files list.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import factories
from appx import faults
from crash_checks import (
    KILLED,
    assert_absent,
    assert_app_dir_whole,
    assert_installed_at,
    list_json,
    listed,
    run_shim,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from factories import Env, IndexServer, ProcResult

pytestmark = pytest.mark.slow

INSTALL_POINTS = (
    "after-marker",
    "after-venv",
    "after-install",
    "after-receipt",
    "after-links",
    "after-flip",
)


@pytest.fixture(autouse=True)
def local_index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every appx process of these tests installs from the session's local index."""
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)


# --- helpers ------------------------------------------------------------------------------------


def run_killed_at(
    point: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, *args: str
) -> ProcResult:
    """Run appx with a crash at ``point``; it must die of its own SIGKILL there."""
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        result = run_appx(*args)
    assert result.code == KILLED, result
    return result


# --- fault points -------------------------------------------------------------------------------


def test_every_fault_point_has_a_crash_test() -> None:
    # before-background-removal: test_cli_lean stops and kills the deleter of an uninstall
    assert {*INSTALL_POINTS, "after-detach", "before-background-removal"} == set(faults.POINTS)


@pytest.mark.parametrize("point", INSTALL_POINTS)
def test_fresh_install_killed_leaves_nothing_or_the_whole_app(
    point: str, appx_env: Env, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_killed_at(point, run_appx, monkeypatch, "install", "cowsay-lite")

    listing = list_json(run_appx)
    if point == "after-flip":
        assert_installed_at(appx_env, listing, "cowsay-lite", "2.0")
    else:
        assert_absent(appx_env, listing, "cowsay-lite", orphan_shim=point == "after-links")

    again = run_appx("install", "cowsay-lite")
    assert again.code == 0, again
    if point == "after-flip":
        assert "already installed" in again.stdout
    assert_installed_at(appx_env, list_json(run_appx), "cowsay-lite", "2.0")
    assert_app_dir_whole(appx_env, "cowsay-lite")


@pytest.mark.parametrize("point", INSTALL_POINTS)
def test_forced_reinstall_killed_leaves_the_old_or_the_new_version(
    point: str, appx_env: Env, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_appx("install", "cowsay-lite==1.0")
    assert first.code == 0, first

    run_killed_at(point, run_appx, monkeypatch, "install", "--force", "cowsay-lite==2.0")

    expected = "2.0" if point == "after-flip" else "1.0"
    assert_installed_at(appx_env, list_json(run_appx), "cowsay-lite", expected)

    again = run_appx("install", "--force", "cowsay-lite==2.0")
    assert again.code == 0, again
    assert_installed_at(appx_env, list_json(run_appx), "cowsay-lite", "2.0")
    assert_app_dir_whole(appx_env, "cowsay-lite")


@pytest.mark.parametrize(
    ("point", "version", "commands", "stray"),
    [
        # 2.0's new link is made before the flip that never came: it dangles.
        pytest.param("after-links", "1.0", ["multi-a", "multi-b"], "multi-c", id="after-links"),
        # 1.0's link is removed only after the flip: 2.0 has no such command.
        pytest.param("after-flip", "2.0", ["multi-a", "multi-c"], "multi-b", id="after-flip"),
    ],
)
def test_links_of_a_killed_upgrade_that_changes_commands_are_reported_then_mended(
    point: str,
    version: str,
    commands: list[str],
    stray: str,
    appx_env: Env,
    run_appx: factories.RunAppx,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run_appx("install", "multi-cmd==1.0")
    assert first.code == 0, first

    run_killed_at(point, run_appx, monkeypatch, "install", "--force", "multi-cmd==2.0")

    listing = list_json(run_appx)
    entry = listed(listing, "multi-cmd")
    assert entry is not None, listing
    assert (entry["version"], [c["name"] for c in entry["commands"]]) == (version, commands)
    for command in commands:
        assert run_shim(appx_env, command) == f"multi-cmd {version}"
    stray_link = appx_env.bin_dir / stray
    assert stray_link.is_symlink(), "the crash was expected to leave this link"
    assert not stray_link.exists(), "it names a command the current generation does not have"
    reported = [*listing["orphan_links"], *entry["problems"]]
    assert [r for r in reported if str(stray_link) in r] != [], f"list hides {stray_link}"

    other = run_appx("install", "cowsay-lite")  # any mutating command mends derived links

    assert other.code == 0, other
    assert not stray_link.is_symlink()
    listing = list_json(run_appx)
    assert [a["problems"] for a in listing["apps"]] == [[], []], listing
    assert listing["orphan_links"] == [], listing


def test_uninstall_killed_after_detach_leaves_the_app_gone_and_foreign_files_alone(
    appx_env: Env, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_appx("install", "cowsay-lite")
    assert first.code == 0, first
    other = appx_env.bin_dir / "other-tool"
    other.write_text("#!/bin/sh\necho other\n", encoding="utf-8")
    other.chmod(0o755)

    run_killed_at("after-detach", run_appx, monkeypatch, "uninstall", "cowsay-lite")

    # The app is gone at the commit point; its link is left, and reported.
    assert_absent(appx_env, list_json(run_appx), "cowsay-lite", orphan_shim=True)
    scratch = appx_env.appx_home / "tmp"
    assert [name.split("-")[0] for name in os.listdir(scratch)] == ["uninstall"]

    again = run_appx("install", "cowsay-lite")
    assert again.code == 0, again
    assert_installed_at(appx_env, list_json(run_appx), "cowsay-lite", "2.0")
    assert_app_dir_whole(appx_env, "cowsay-lite")
    assert os.listdir(scratch) == [], "the venv detached by the killed uninstall was not swept"
    assert not other.is_symlink()
    assert other.read_text(encoding="utf-8") == "#!/bin/sh\necho other\n"
    assert other.stat().st_mode & 0o777 == 0o755


# --- an installer that outlives appx ------------------------------------------------------------

PID_FILE_VARIABLE = "SLOW_BUILDER_PID_FILE"
BUILD_WHEEL_DEF = (
    "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
)
ORIGINAL_BUILD_WHEEL = BUILD_WHEEL_DEF + "    return _build(wheel_directory, editable=False)\n"
# With the variable set, build_wheel names its process in that file, then sleeps far longer than
# any test waits: the builder only ends early if appx kills it.
SLOW_BUILD_WHEEL = (
    BUILD_WHEEL_DEF
    + f"""    pid_file = os.environ.get({PID_FILE_VARIABLE!r})
    if pid_file:
        Path(pid_file + ".part").write_text(str(os.getpid()), encoding="utf-8")
        os.replace(pid_file + ".part", pid_file)
        import time
        time.sleep(300)
    return _build(wheel_directory, editable=False)
"""
)


@pytest.fixture
def slow_project(project_factory: factories.ProjectFactory) -> Path:
    """A local project ``slow-tool`` whose build hangs while ``SLOW_BUILDER_PID_FILE`` is set."""
    project = project_factory(
        "slow-tool", console_scripts={"slow-tool": factories.main_entry("slow-tool")}
    )
    backend = project / "_backend" / "appx_test_backend.py"
    source = backend.read_text(encoding="utf-8")
    assert ORIGINAL_BUILD_WHEEL in source, "the factory's backend changed: update SLOW_BUILD_WHEEL"
    backend.write_text(source.replace(ORIGINAL_BUILD_WHEEL, SLOW_BUILD_WHEEL), encoding="utf-8")
    return project


class Leftovers:
    """Processes a test started or made; any still running at teardown is killed."""

    def __init__(self) -> None:
        self.popens: list[subprocess.Popen[str]] = []
        self.pids: list[int] = []


@pytest.fixture
def leftovers() -> Iterator[Leftovers]:
    found = Leftovers()
    yield found
    for popen in found.popens:
        if popen.poll() is None:
            popen.kill()
            popen.communicate()
    for pid in found.pids:
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by its new parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): the signal test above is all there is
        return True
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def start_slow_install(
    project: Path, pid_file: Path, cwd: Path, leftovers: Leftovers
) -> tuple[subprocess.Popen[str], int]:
    """Start ``appx install PROJECT``; return it and the pid of its builder, once that sleeps."""
    appx = subprocess.Popen(
        factories.appx_command("install", os.fspath(project)),
        cwd=cwd,
        env={**os.environ, PID_FILE_VARIABLE: os.fspath(pid_file)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    leftovers.popens.append(appx)
    deadline = time.monotonic() + 90
    while not pid_file.exists():
        if appx.poll() is not None or time.monotonic() > deadline:
            appx.kill()
            out, err = appx.communicate()
            pytest.fail(f"the builder never started (appx: {appx.returncode})\n{out}\n{err}")
        time.sleep(0.05)
    builder = int(pid_file.read_text(encoding="utf-8"))
    leftovers.pids.append(builder)
    return appx, builder


def test_reinstall_after_appx_is_killed_stops_the_orphaned_builder(
    appx_env: Env, run_appx: factories.RunAppx, slow_project: Path, leftovers: Leftovers
) -> None:
    appx, builder = start_slow_install(
        slow_project, appx_env.tmp / "builder.pid", appx_env.tmp, leftovers
    )
    os.kill(appx.pid, signal.SIGKILL)  # appx alone: its installer runs on in a session of its own
    appx.communicate(timeout=30)
    assert appx.returncode == KILLED
    assert process_alive(builder), "the builder should outlive appx (else this test proves nothing)"
    assert listed(list_json(run_appx), "slow-tool") is None

    again = run_appx("install", os.fspath(slow_project))

    assert again.code == 0, again
    assert not process_alive(builder), "appx must stop a crashed build's installer before cleanup"
    assert_installed_at(appx_env, list_json(run_appx), "slow-tool", "1.0")
    assert_app_dir_whole(appx_env, "slow-tool")


def test_ctrl_c_during_a_build_stops_the_builder_and_leaves_nothing(
    appx_env: Env, run_appx: factories.RunAppx, slow_project: Path, leftovers: Leftovers
) -> None:
    appx, builder = start_slow_install(
        slow_project, appx_env.tmp / "builder.pid", appx_env.tmp, leftovers
    )
    appx.send_signal(signal.SIGINT)
    _out, err = appx.communicate(timeout=30)

    assert appx.returncode == 130, err
    assert "Traceback" not in err
    assert not process_alive(builder)
    listing = list_json(run_appx)
    assert listing["apps"] == []
    assert listing["orphan_links"] == []
    assert not (appx_env.bin_dir / "slow-tool").is_symlink()
    app_dir = appx_env.appx_home / "venvs" / "slow-tool"
    assert not app_dir.exists() or os.listdir(app_dir) == []


def test_ctrl_c_says_the_install_was_interrupted(
    appx_env: Env, slow_project: Path, leftovers: Leftovers
) -> None:
    appx, _builder = start_slow_install(
        slow_project, appx_env.tmp / "builder.pid", appx_env.tmp, leftovers
    )
    appx.send_signal(signal.SIGINT)
    _out, err = appx.communicate(timeout=30)

    assert appx.returncode == 130, err
    assert "interrupted" in err
