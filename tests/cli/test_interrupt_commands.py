"""Ctrl-C and SIGTERM during each long command: before the commit, nothing changed (exit 130);
after it, the change stands (exit 0).

Every command that changes an app is run as a real appx process that sends itself the
signal at a named step (``APPX_FAULT_AT`` with ``APPX_FAULT_SIGNAL``, see `appx.faults`):
at a step before its commit point, with SIGINT and with SIGTERM; at the commit point's
own step after it (``after-flip``, or ``after-detach`` for an uninstall). What a user sees
is checked each time: the exit code, the versions `appx list` reports with no problem,
which commands are on PATH and what they print, which generation is current, that no
build or generation is left behind, and that no process of the command still runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries, healthy_versions, json_of, output_of
from crash_checks import interrupted_at
from factories import Env, IndexServer, ProcResult

pytestmark = pytest.mark.slow

Setup = Callable[[factories.RunAppx, Env], None]


@pytest.fixture(autouse=True)
def local_index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)


# --- what a user can observe --------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What `appx list` and the bin dir show: app -> version, and command -> what it prints."""

    versions: Mapping[str, str]
    commands: Mapping[str, str]


NOTHING = State({}, {})
COWSAY_1 = State({"cowsay-lite": "1.0"}, {"cowsay-lite": "cowsay-lite 1.0"})
COWSAY_2 = State({"cowsay-lite": "2.0"}, {"cowsay-lite": "cowsay-lite 2.0"})
COWSAY_1_DEP = State(
    {"cowsay-lite": "1.0"}, {"cowsay-lite": "cowsay-lite 1.0", "dep-tool": "dep-lib 1.0"}
)
GUI = State({"gui-app": "1.0"}, {"gui-app": "gui-app 1.0"})


def assert_state(run_appx: factories.RunAppx, env: Env, expected: State) -> None:
    assert healthy_versions(run_appx) == dict(expected.versions)
    assert dir_entries(env.bin_dir) == set(expected.commands)
    for command, says in expected.commands.items():
        assert output_of(env.bin_dir / command) == says


def generations(env: Env) -> dict[str, str]:
    """app -> the generation its `current` names."""
    venvs = env.appx_home / "venvs"
    return {
        app: os.readlink(venvs / app / "current")
        for app in sorted(dir_entries(venvs))
        if os.path.islink(venvs / app / "current")
    }


def leftovers(env: Env) -> list[str]:
    """Builds, generations and scratch entries no pointer keeps, in the apps' and runs' stores."""
    found = []
    for root, scratch in (
        (env.appx_home / "venvs", env.appx_home / "tmp"),
        (env.cache_dir / "run", env.cache_dir / "tmp"),
    ):
        found += [str(scratch / name) for name in sorted(dir_entries(scratch))]
        for unit in sorted(dir_entries(root)):
            unit_dir = root / unit
            if not unit_dir.is_dir():
                continue
            pointed = {
                os.readlink(unit_dir / p)
                for p in ("current", "previous")
                if (unit_dir / p).is_symlink()
            }
            found += [
                str(unit_dir / name)
                for name in sorted(dir_entries(unit_dir))
                if (name.startswith("g") and name not in pointed)
                or name.endswith((".building", ".tmp"))
                or name.startswith(".pointer-")
            ]
    return found


def processes_of(env: Env) -> list[str]:
    """Live processes (not zombies) started for this test's homes: appx and its installers."""
    needle = f"HOME={env.home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text(encoding="utf-8")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ.split(b"\0") and stat.rpartition(")")[2].split()[0] not in {"Z", "X"}:
            found.append(f"{entry.name}: {cmdline}")
    return found


# --- the commands -------------------------------------------------------------------------------


def then(*steps: Setup) -> Setup:
    def setup(run_appx: factories.RunAppx, env: Env) -> None:
        for step in steps:
            step(run_appx, env)

    return setup


def ran(*args: str) -> Setup:
    """A setup step: ``appx *args``, which must succeed."""

    def setup(run_appx: factories.RunAppx, env: Env) -> None:
        done = run_appx(*args)
        assert done.code == 0, done

    return setup


def installs(*specs: str) -> Setup:
    return ran("install", *specs)


COWSAY_1_INSTALLED = installs("cowsay-lite==1.0")


def export_moving_to_2(run_appx: factories.RunAppx, env: Env) -> None:
    """An export file that names cowsay-lite 2.0 while 1.0 is installed: sync moves it."""
    exported = run_appx("export", str(env.tmp / "apps.toml"))
    assert exported.code == 0, exported
    text = (env.tmp / "apps.toml").read_text(encoding="utf-8")
    assert '"1.0"' in text, text
    (env.tmp / "apps.toml").write_text(text.replace('"1.0"', '"2.0"'), encoding="utf-8")


@dataclass(frozen=True)
class Command:
    """A long command, from a state (``old``) it finds after ``setup`` to ``new``."""

    args: tuple[str, ...]
    old: State
    new: State
    setup: Setup = lambda _run, _env: None
    before: str | None = "after-links"  # a step before its commit point (None: there is none)
    after: str | None = "after-flip"  # the step just after its commit point
    builds: bool = True  # its commit makes a new generation current


COMMANDS = {
    "install": Command(("install", "cowsay-lite==1.0"), NOTHING, COWSAY_1),
    # after the first app's commit: test_interrupt.py::test_ctrl_c_after_one_app_of_a_batch_...
    "install-batch": Command(
        ("install", "gui-app", "cowsay-lite==1.0"), NOTHING, NOTHING, after=None
    ),
    "upgrade": Command(("upgrade", "cowsay-lite"), COWSAY_1, COWSAY_2, COWSAY_1_INSTALLED),
    "upgrade-all": Command(("upgrade-all",), COWSAY_1, COWSAY_2, COWSAY_1_INSTALLED),
    "inject": Command(
        ("inject", "--include-apps", "cowsay-lite", "dep-lib"),
        COWSAY_1,
        COWSAY_1_DEP,
        COWSAY_1_INSTALLED,
    ),
    "uninject": Command(
        ("uninject", "cowsay-lite", "dep-lib"),
        COWSAY_1_DEP,
        COWSAY_1,
        then(COWSAY_1_INSTALLED, ran("inject", "--include-apps", "cowsay-lite", "dep-lib")),
    ),
    "reinstall": Command(("reinstall", "cowsay-lite"), COWSAY_1, COWSAY_1, COWSAY_1_INSTALLED),
    "reinstall-all": Command(("reinstall-all",), COWSAY_1, COWSAY_1, COWSAY_1_INSTALLED),
    "sync": Command(
        ("sync", "apps.toml"),
        COWSAY_1,
        COWSAY_2,
        then(COWSAY_1_INSTALLED, export_moving_to_2),
    ),
    "rollback": Command(
        ("rollback", "cowsay-lite"),
        COWSAY_2,
        COWSAY_1,
        then(COWSAY_1_INSTALLED, ran("upgrade", "cowsay-lite")),
    ),
    "uninstall": Command(
        ("uninstall", "cowsay-lite"),
        COWSAY_1,
        NOTHING,
        COWSAY_1_INSTALLED,
        before=None,
        after="after-detach",
        builds=False,
    ),
    "uninstall-all": Command(
        ("uninstall-all",),
        COWSAY_1,
        NOTHING,
        COWSAY_1_INSTALLED,
        before=None,
        after="after-detach",
        builds=False,
    ),
}


def eventually(probe: Callable[[], list[str]], *, within: float = 60.0) -> list[str]:
    """What ``probe`` finds once it finds nothing, or after ``within`` seconds (work that appx
    leaves to a detached process, such as deleting an uninstalled app's files, ends when it
    ends; the bound only keeps a failing test from hanging)."""
    deadline = time.monotonic() + within
    while (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def assert_discarded(result: ProcResult, env: Env) -> None:
    """Exit 130, said so, nothing running, nothing left behind."""
    assert result.code == 130, result
    assert "interrupted" in result.stderr, result
    assert "Traceback" not in result.stderr, result
    assert processes_of(env) == []
    assert leftovers(env) == []


@pytest.mark.parametrize("name", COMMANDS)
def test_a_signal_before_the_commit_changes_nothing_and_after_it_the_change_stands(
    name: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    # One setup for the three runs: each run before the commit must leave the state the next
    # one starts from as it was. SIGINT and SIGTERM take the same path: each runs once.
    command = COMMANDS[name]
    command.setup(run_appx, appx_env)
    old = generations(appx_env)

    for signal_name in ("INT", "TERM") if command.before is not None else ():
        assert command.before is not None
        result = interrupted_at(command.before, signal_name, run_appx, monkeypatch, *command.args)
        assert_discarded(result, appx_env)
        assert generations(appx_env) == old
        assert_state(run_appx, appx_env, command.old)

    if command.after is None:
        return
    result = interrupted_at(command.after, "INT", run_appx, monkeypatch, *command.args)

    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    assert_state(run_appx, appx_env, command.new)
    if command.builds:
        new = generations(appx_env)
        assert [app for app in new if new[app] == old.get(app)] == []
    assert eventually(lambda: processes_of(appx_env)) == []
    assert eventually(lambda: leftovers(appx_env)) == []


# One command per way a committed change finishes: install's (also sync's: in test_interrupt.py),
# a rebuild (upgrade, inject, uninject, reinstall and their -all forms), a rollback, an uninstall.
@pytest.mark.parametrize("name", ["upgrade", "rollback", "uninstall"])
def test_a_second_signal_after_the_commit_cuts_only_the_clean_up_short(
    name: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    command = COMMANDS[name]
    command.setup(run_appx, appx_env)

    assert command.after is not None
    result = interrupted_at(command.after, "INT,INT", run_appx, monkeypatch, *command.args)

    assert result.code == 0, result
    assert "the next appx command finishes its clean-up" in result.stderr, result
    listing = json_of(run_appx("list", "--json"))  # a link may be left: reported, mended next
    assert {a["app"]: a["version"] for a in listing["apps"]} == dict(command.new.versions)
    assert run_appx("install", "gui-app").code == 0
    assert eventually(lambda: leftovers(appx_env)) == []
    both = State({**command.new.versions, **GUI.versions}, {**command.new.commands, **GUI.commands})
    assert_state(run_appx, appx_env, both)


def test_a_signal_after_one_app_of_uninstall_all_is_gone_keeps_the_others(
    run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    installs("gui-app", "cowsay-lite==1.0")(run_appx, appx_env)

    result = interrupted_at("after-detach", "TERM", run_appx, monkeypatch, "uninstall-all")

    assert result.code == 130, result  # cowsay-lite (the first) is gone; gui-app was kept
    assert "uninstalled cowsay-lite" in result.stdout, result
    assert "gui-app: not started: interrupted" in result.stderr, result
    assert eventually(lambda: processes_of(appx_env)) == []
    assert eventually(lambda: leftovers(appx_env)) == []
    assert_state(run_appx, appx_env, GUI)


def test_a_signal_after_sync_pruned_an_app_one_by_one_starts_no_other_change(
    run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    then(installs("cowsay-lite==1.0"), export_moving_to_2, installs("gui-app"))(run_appx, appx_env)
    monkeypatch.setenv("APPX_JOBS", "1")  # the steps one after the other, in this thread

    result = interrupted_at(
        "after-detach", "INT", run_appx, monkeypatch, "sync", "--prune", "apps.toml"
    )

    assert result.code == 130, result  # gui-app, pruned first, is gone; nothing else moved
    assert "uninstalled gui-app" in result.stdout, result
    assert "cowsay-lite: not started: interrupted" in result.stderr, result
    assert eventually(lambda: leftovers(appx_env)) == []
    assert_state(run_appx, appx_env, COWSAY_1)


# --- run: its env is a change of the run cache; the app is what the user asked for -------------


def cached_envs(run_appx: factories.RunAppx) -> list[dict[str, object]]:
    envs: list[dict[str, object]] = json_of(run_appx("cache", "list", "--json"))["envs"]
    return envs


@pytest.mark.parametrize("signal_name", ["INT", "TERM"])
def test_a_signal_before_a_runs_env_is_committed_discards_it(
    signal_name: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    args = ("run", "cowsay-lite", "hi")
    result = interrupted_at("after-links", signal_name, run_appx, monkeypatch, *args)

    assert_discarded(result, appx_env)
    assert result.stdout == ""
    assert cached_envs(run_appx) == []


@pytest.mark.parametrize(
    ("signals", "options"), [("INT", ()), ("INT,INT", ()), ("TERM", ("--no-cache",))]
)
def test_a_signal_after_a_runs_env_is_committed_keeps_it_and_starts_no_app(
    signals: str,
    options: tuple[str, ...],
    run_appx: factories.RunAppx,
    monkeypatch: pytest.MonkeyPatch,
    appx_env: Env,
) -> None:
    args = ("run", *options, "cowsay-lite", "hi")
    result = interrupted_at("after-flip", signals, run_appx, monkeypatch, *args)

    assert_discarded(result, appx_env)  # 130: the app the user stopped never started
    assert result.stdout == ""
    assert "interrupted before cowsay-lite started" in result.stderr
    if options:  # a --no-cache env is this run's alone
        assert cached_envs(run_appx) == []
        return
    assert "its environment is built and cached" in result.stderr
    assert len(cached_envs(run_appx)) == 1
    offline = run_appx("run", "--offline", "cowsay-lite", "hi")  # no build: the cache only
    assert (offline.code, offline.stdout) == (0, "cowsay-lite 2.0 hi\n"), offline


# --- a signal from outside while the installer runs ----------------------------------------------

PID_FILE_VARIABLE = "SLOW_BUILDER_PID_FILE"
BUILD_WHEEL = "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
# With the variable set, the build names its process in that file and then sleeps far longer
# than any test waits: it ends early only if appx stops it.
SLOW_BUILD = f"""
    pid_file = os.environ.get({PID_FILE_VARIABLE!r})
    if pid_file:
        Path(pid_file + ".part").write_text(str(os.getpid()), encoding="utf-8")
        os.replace(pid_file + ".part", pid_file)
        import time
        time.sleep(300)
"""


def slow_tool(dest: Path, version: str) -> Path:
    """The local project ``slow-tool`` at ``version``: its build hangs while the variable is set."""
    project = factories.make_project(
        dest, "slow-tool", version, console_scripts={"slow-tool": factories.main_entry("slow-tool")}
    )
    backend = project / "_backend" / "appx_test_backend.py"
    source = backend.read_text(encoding="utf-8")
    assert BUILD_WHEEL in source, "the factory's backend changed: update SLOW_BUILD"
    backend.write_text(source.replace(BUILD_WHEEL, BUILD_WHEEL + SLOW_BUILD), encoding="utf-8")
    return project


@pytest.fixture
def stray_processes(appx_env: Env) -> Iterator[None]:
    """Whatever a failed test leaves running of its own processes is killed at teardown."""
    yield
    for found in processes_of(appx_env):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(found.split(":")[0]), signal.SIGKILL)


def signal_while_building(env: Env, signum: signal.Signals, *args: str) -> ProcResult:
    """Run appx until its build hangs, send it ``signum``, and return how it ended."""
    pid_file = env.tmp / "builder.pid"
    appx = subprocess.Popen(
        factories.appx_command(*args),
        cwd=env.tmp,
        env={**os.environ, PID_FILE_VARIABLE: os.fspath(pid_file)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90  # only keeps a failing test from hanging
    while not pid_file.exists() and appx.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    builder = pid_file.read_text(encoding="utf-8") if pid_file.exists() else None
    # what the checks after it rely on: processes_of finds the builder
    seen = [found.split(":")[0] for found in processes_of(env)]
    if builder is not None:
        appx.send_signal(signum)
    else:
        appx.kill()
    out, err = appx.communicate(timeout=90)
    assert builder is not None, f"the build never started\n{out}\n{err}"
    assert builder in seen, seen
    return ProcResult(args, appx.returncode, out, err)


@pytest.mark.usefixtures("stray_processes")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("name", ["install", "upgrade"])
def test_a_signal_while_the_installer_builds_stops_it_and_keeps_the_previous_state(
    name: str, signum: signal.Signals, run_appx: factories.RunAppx, appx_env: Env
) -> None:
    project = slow_tool(appx_env.tmp / "slow-tool", "1.0")
    old = NOTHING
    if name == "upgrade":
        installs(os.fspath(project))(run_appx, appx_env)  # the variable is not set: no wait
        slow_tool(project, "2.0")
        old = State({"slow-tool": "1.0"}, {"slow-tool": "slow-tool 1.0"})
    args = ("install", os.fspath(project)) if name == "install" else ("upgrade", "slow-tool")
    kept = generations(appx_env)

    result = signal_while_building(appx_env, signum, *args)

    assert_discarded(result, appx_env)  # the builder's group included
    assert generations(appx_env) == kept
    assert_state(run_appx, appx_env, old)
    installs("gui-app")(run_appx, appx_env)
    assert leftovers(appx_env) == []
