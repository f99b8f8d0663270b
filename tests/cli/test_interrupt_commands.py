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

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries, healthy_versions, json_of, output_of
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


def installs(*specs: str) -> Setup:
    def setup(run_appx: factories.RunAppx, env: Env) -> None:
        done = run_appx("install", *specs)
        assert done.code == 0, done

    return setup


def then(*steps: Setup) -> Setup:
    def setup(run_appx: factories.RunAppx, env: Env) -> None:
        for step in steps:
            step(run_appx, env)

    return setup


def appx(*args: str) -> Setup:
    def setup(run_appx: factories.RunAppx, env: Env) -> None:
        done = run_appx(*args)
        assert done.code == 0, done

    return setup


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
    after: str = "after-flip"  # the step just after its commit point
    builds: bool = True  # its commit makes a new generation current


COMMANDS = {
    "install": Command(("install", "cowsay-lite==1.0"), NOTHING, COWSAY_1),
    "upgrade": Command(
        ("upgrade", "cowsay-lite"), COWSAY_1, COWSAY_2, installs("cowsay-lite==1.0")
    ),
    "upgrade-all": Command(("upgrade-all",), COWSAY_1, COWSAY_2, installs("cowsay-lite==1.0")),
    "inject": Command(
        ("inject", "--include-apps", "cowsay-lite", "dep-lib"),
        COWSAY_1,
        COWSAY_1_DEP,
        installs("cowsay-lite==1.0"),
    ),
    "uninject": Command(
        ("uninject", "cowsay-lite", "dep-lib"),
        COWSAY_1_DEP,
        COWSAY_1,
        then(
            installs("cowsay-lite==1.0"), appx("inject", "--include-apps", "cowsay-lite", "dep-lib")
        ),
    ),
    "reinstall": Command(
        ("reinstall", "cowsay-lite"), COWSAY_1, COWSAY_1, installs("cowsay-lite==1.0")
    ),
    "reinstall-all": Command(("reinstall-all",), COWSAY_1, COWSAY_1, installs("cowsay-lite==1.0")),
    "sync": Command(
        ("sync", "apps.toml"),
        COWSAY_1,
        COWSAY_2,
        then(installs("cowsay-lite==1.0"), export_moving_to_2),
    ),
    "rollback": Command(
        ("rollback", "cowsay-lite"),
        COWSAY_2,
        COWSAY_1,
        then(installs("cowsay-lite==1.0"), appx("upgrade", "cowsay-lite")),
    ),
    "uninstall": Command(
        ("uninstall", "cowsay-lite"),
        COWSAY_1,
        NOTHING,
        installs("cowsay-lite==1.0"),
        before=None,
        after="after-detach",
        builds=False,
    ),
    "uninstall-all": Command(
        ("uninstall-all",),
        COWSAY_1,
        NOTHING,
        installs("cowsay-lite==1.0"),
        before=None,
        after="after-detach",
        builds=False,
    ),
}


def interrupted_at(
    point: str,
    signals: str,
    run_appx: factories.RunAppx,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
) -> ProcResult:
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        patch.setenv("APPX_FAULT_SIGNAL", signals)
        return run_appx(*args)


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


BEFORE = [name for name, command in COMMANDS.items() if command.before is not None]


@pytest.mark.parametrize("signal", ["INT", "TERM"])
@pytest.mark.parametrize("name", BEFORE)
def test_a_signal_before_the_commit_keeps_the_previous_state(
    name: str,
    signal: str,
    run_appx: factories.RunAppx,
    monkeypatch: pytest.MonkeyPatch,
    appx_env: Env,
) -> None:
    command = COMMANDS[name]
    command.setup(run_appx, appx_env)
    kept = generations(appx_env)
    assert command.before is not None

    result = interrupted_at(command.before, signal, run_appx, monkeypatch, *command.args)

    assert_discarded(result, appx_env)
    assert generations(appx_env) == kept
    assert_state(run_appx, appx_env, command.old)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_signal_after_the_commit_keeps_the_change(
    name: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    command = COMMANDS[name]
    command.setup(run_appx, appx_env)
    old = generations(appx_env)

    result = interrupted_at(command.after, "INT", run_appx, monkeypatch, *command.args)

    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    assert_state(run_appx, appx_env, command.new)
    if command.builds:
        new = generations(appx_env)
        assert [app for app in new if new[app] == old.get(app)] == []
    assert eventually(lambda: processes_of(appx_env)) == []
    assert eventually(lambda: leftovers(appx_env)) == []


# One command per way a committed change finishes: install's (in test_interrupt.py), a rebuild
# (upgrade, inject, uninject, reinstall and their -all forms), a rollback, an uninstall, and an
# install inside sync's batch.
@pytest.mark.parametrize("name", ["upgrade", "rollback", "uninstall", "sync"])
def test_a_second_signal_after_the_commit_cuts_only_the_clean_up_short(
    name: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    command = COMMANDS[name]
    command.setup(run_appx, appx_env)

    result = interrupted_at(command.after, "INT,INT", run_appx, monkeypatch, *command.args)

    assert result.code == 0, result
    assert "the next appx command finishes its clean-up" in result.stderr, result
    listing = json_of(run_appx("list", "--json"))  # a link may be left: reported, mended next
    assert {a["app"]: a["version"] for a in listing["apps"]} == dict(command.new.versions)
    assert run_appx("install", "gui-app").code == 0
    assert eventually(lambda: leftovers(appx_env)) == []
    both = State({**command.new.versions, **GUI.versions}, {**command.new.commands, **GUI.commands})
    assert_state(run_appx, appx_env, both)


# --- run: its env is a change of the run cache; the app is what the user asked for -------------


def cached_envs(run_appx: factories.RunAppx) -> list[dict[str, object]]:
    envs: list[dict[str, object]] = json_of(run_appx("cache", "list", "--json"))["envs"]
    return envs


@pytest.mark.parametrize("signal", ["INT", "TERM"])
def test_a_signal_before_a_runs_env_is_committed_discards_it(
    signal: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    result = interrupted_at(
        "after-links", signal, run_appx, monkeypatch, "run", "cowsay-lite", "hi"
    )

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
