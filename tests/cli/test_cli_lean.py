"""The lean commands: the typer-free path prints what the full CLI prints, and uninstall's
output ends before its files are deleted, with nothing left holding it open."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

import factories
from appx.cli_lean import run_plain
from appx_checks import dir_entries, eventually_empty
from factories import Env, IndexServer, ProcResult, RunAppx

# appx's entry point where typer, click, rich, pydantic, packaging and importlib.metadata
# cannot be imported: only the lean path can answer (reading receipts, removing apps and
# naming uv's version need none of them), and it must answer as the full CLI below does.
LEAN_ONLY = """
import sys
for name in ("typer", "click", "rich", "pydantic", "packaging", "importlib.metadata"):
    sys.modules[name] = None
sys.argv = ["appx", *sys.argv[1:]]
from appx.__main__ import main
main()
"""
# The full typer CLI, as __main__ runs it when the lean path declines.
FULL_CLI = """
import sys
from appx.signals import install_handlers
install_handlers()
from appx.cli import run
sys.exit(run(sys.argv[1:]))
"""

READ_FORMS = [
    ["--version"],
    ["-q", "--version"],
    ["--version", "--verbose"],
    ["-v", "-q", "--version", "--version"],
    ["list"],
    ["list", "--short"],
    ["list", "--json"],
    ["list", "--json", "--short"],
    ["list", "--short", "--short"],
    ["-q", "list"],
    ["-v", "list", "--json"],
    ["--quiet", "--verbose", "list", "--short"],
    ["environment"],
    ["environment", "--json"],
    ["-q", "environment"],
    ["--verbose", "environment", "--json"],
]
UNINSTALL_FORMS = [  # with the exit code each must give
    (["uninstall", "tool-with-man"], 0),
    (["-q", "uninstall", "Tool_With.Man"], 0),
    (["-v", "uninstall", "tool-with-man", "cowsay-lite"], 0),
    (["uninstall", "cowsay-lite", "nothing-here"], 10),
    (["uninstall", "nothing-here"], 4),
    (["-v", "uninstall", "nothing-here"], 4),
    (["uninstall", "../../etc"], 3),
    (["uninstall", ""], 3),
    (["uninstall-all"], 0),
    (["-v", "--quiet", "uninstall-all"], 0),
]


def run_script(script: str, argv: Sequence[str], cwd: Path) -> ProcResult:
    return factories.run([sys.executable, "-c", script, *argv], cwd=cwd, timeout=120)


def without_traceback_frames(stderr: str) -> str:
    """stderr with the frames of a --verbose traceback left out: they name the path taken."""
    lines, in_traceback = [], False
    for line in stderr.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line.startswith(" "):
            continue
        else:
            in_traceback = False
        lines.append(line)
    return "\n".join(lines)


def assert_same_answer(
    argv: Sequence[str], cwd: Path, between: Callable[[], object] | None = None
) -> ProcResult:
    """Run ``appx ARGV`` on the lean path, then (after ``between``) on the full CLI: both
    must say the same."""
    lean = run_script(LEAN_ONLY, argv, cwd)
    if between is not None:
        between()
    full = run_script(FULL_CLI, argv, cwd)
    assert (lean.code, lean.stdout) == (full.code, full.stdout), (argv, lean, full)
    assert without_traceback_frames(lean.stderr) == without_traceback_frames(full.stderr), (
        argv,
        lean,
        full,
    )
    assert "ImportError" not in lean.stderr, lean  # the lean path never reached for typer
    return lean


@pytest.fixture
def two_apps_and_an_orphan(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> Env:
    assert run_appx("install", "tool-with-man", "cowsay-lite").code == 0
    os.symlink(f"{appx_env.appx_home}/venvs/ghost/current/bin/ghost", appx_env.bin_dir / "ghost")
    return appx_env


def test_reads_answer_alike_on_both_paths(two_apps_and_an_orphan: Env) -> None:
    env = two_apps_and_an_orphan
    for argv in READ_FORMS:
        done = assert_same_answer(argv, env.tmp)
        assert done.code == 0, (argv, done)
    listing = assert_same_answer(["list"], env.tmp)
    assert "problem: " in listing.stdout  # the orphan: problems are listed alike too


# upgrade-all on the lean path: without typer's layers (packaging it needs, to compare versions).
LEAN_UPGRADE = LEAN_ONLY.replace(', "packaging", "importlib.metadata"', "")


def test_upgrade_all_answers_alike_on_both_paths(two_apps_and_an_orphan: Env) -> None:
    env = two_apps_and_an_orphan
    for argv in (["upgrade-all"], ["upgrade-all", "--json"], ["-q", "upgrade-all"]):
        lean = run_script(LEAN_UPGRADE, argv, env.tmp)
        full = run_script(FULL_CLI, argv, env.tmp)
        assert (lean.code, lean.stdout, lean.stderr) == (full.code, full.stdout, full.stderr)
        assert lean.code == 0, lean
    said = run_script(LEAN_UPGRADE, ["upgrade-all", "--include-injected"], env.tmp)
    assert said.stdout.splitlines() == [
        "cowsay-lite 2.0: already at the newest version",
        "tool-with-man 1.0: already at the newest version",
    ]


@pytest.mark.parametrize(
    ("home", "code"), [("relative/home", 11), ("file", 11)], ids=["relative", "a-file"]
)
def test_read_errors_answer_alike_on_both_paths(
    appx_env: Env, monkeypatch: pytest.MonkeyPatch, home: str, code: int
) -> None:
    if home == "file":
        (appx_env.tmp / "file").write_text("not a directory\n", encoding="utf-8")
        home = str(appx_env.tmp / "file")
    monkeypatch.setenv("APPX_HOME", home)
    for argv in (["list"], ["list", "--json"], ["-v", "list", "--short"], ["environment"]):
        if argv == ["environment"] and home != "relative/home":
            continue  # environment reports an unusable home rather than failing
        assert assert_same_answer(argv, appx_env.tmp).code == code, argv


@pytest.fixture
def saved_homes(two_apps_and_an_orphan: Env, tmp_path: Path) -> Iterator[Snapshot]:
    yield Snapshot(two_apps_and_an_orphan, tmp_path / "saved")


class Snapshot:
    """A copy of appx's directories, to put back between runs of a changing command."""

    def __init__(self, env: Env, where: Path) -> None:
        self.env, self.where = env, where
        for place in self.places:
            shutil.copytree(place, where / place.name, symlinks=True)

    @property
    def places(self) -> list[Path]:
        return [self.env.appx_home, self.env.bin_dir, self.env.man_dir]

    def restore(self) -> None:
        assert eventually_empty(self.env.appx_home / "tmp") == set()  # the last run's files
        for place in self.places:
            shutil.rmtree(place)
            shutil.copytree(self.where / place.name, place, symlinks=True)

    def compare(self, argv: Sequence[str]) -> ProcResult:
        """Run a changing command on both paths, each from the snapshot: the same answer,
        and the same directories after it."""
        states = []

        def between() -> None:
            states.append(self.state())
            self.restore()

        lean = assert_same_answer(argv, self.env.tmp, between)
        states.append(self.state())
        self.restore()
        assert states[0] == states[1], (argv, states)
        return lean

    def state(self) -> dict[str, set[str]]:
        env = self.env
        assert eventually_empty(env.appx_home / "tmp") == set()
        return {
            "bin": dir_entries(env.bin_dir),
            "man1": dir_entries(env.man_dir / "man1"),
            "venvs": dir_entries(env.appx_home / "venvs"),
        }


def test_uninstalls_answer_and_change_alike_on_both_paths(saved_homes: Snapshot) -> None:
    for argv, code in UNINSTALL_FORMS:
        assert saved_homes.compare(argv).code == code, argv
    saved_homes.state()  # before the lean uninstall-all: the snapshot's two apps
    emptied = assert_same_answer(["uninstall-all"], saved_homes.env.tmp, saved_homes.restore)
    assert "uninstalled cowsay-lite" in emptied.stdout
    nothing = assert_same_answer(["uninstall-all"], saved_homes.env.tmp)
    assert nothing.stdout == "no apps are installed\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["-h"],
        ["-q"],
        ["-qv", "list"],
        ["--version", "list"],
        ["--version", "--bogus"],
        ["list", "--help"],
        ["list", "--outdated"],
        ["list", "extra"],
        ["list", "-q"],
        ["list", "--"],
        ["environment", "--short"],
        ["uninstall"],
        ["uninstall", "-h"],
        ["uninstall", "--", "tool"],
        ["uninstall", "tool", "--bogus"],
        ["uninstall-all", "tool"],
        ["upgrade-all", "--skip", "tool"],
        ["upgrade-all", "tool"],
        ["install", "tool"],
        ["run", "tool"],
        ["cache", "clear"],
    ],
)
def test_anything_else_is_left_to_the_full_cli(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_plain(argv) is None
    assert capsys.readouterr() == ("", "")


# --- uninstall: the files go after the answer ----------------------------------------------------

# How long a test waits for the end of appx's output: far longer than any run takes; a run
# that gets there has left something holding its output open.
READ_LIMIT = 120
STOPPED_DELETER = {"APPX_FAULT_AT": "before-background-removal", "APPX_FAULT_SIGNAL": "STOP"}


def process_state(pid: int) -> str:
    """A process's state letter (T: stopped, Z: a zombie), or "" when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[0]


def stopped_deleters(scratch: Path) -> list[int]:
    return [int(name.split("-")[1]) for name in dir_entries(scratch) if name.startswith("discard-")]


def stopped_deleter(scratch: Path) -> int:
    """The pid of the process deleting an uninstalled app, once it has stopped itself at its
    fault point: it names its scratch entry after renaming it (it runs on its own, so the
    test waits for it, within READ_LIMIT)."""
    deadline = time.monotonic() + READ_LIMIT
    while True:
        found = stopped_deleters(scratch)
        if len(found) == 1 and process_state(found[0]) == "T":
            return found[0]
        assert time.monotonic() < deadline, (dir_entries(scratch), found)
        time.sleep(0.02)


def test_uninstall_output_ends_while_its_files_are_still_being_deleted(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    for name, value in STOPPED_DELETER.items():
        monkeypatch.setenv(name, value)  # the deleter stops itself before deleting anything
    # As `appx uninstall tool-with-man | cat` would: read both pipes to their end.
    child = subprocess.Popen(
        factories.appx_command("uninstall", "tool-with-man"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    scratch = appx_env.appx_home / "tmp"
    try:
        out, err = child.communicate(timeout=READ_LIMIT)  # EOF: nobody holds the pipes open
    except subprocess.TimeoutExpired:
        for pid in stopped_deleters(scratch):  # do not leave the one holding them behind
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.communicate()
        raise
    pid = stopped_deleter(scratch)
    try:
        assert (child.returncode, out, err) == (0, "uninstalled tool-with-man\n", "")
        (entry,) = dir_entries(scratch)  # the app's files wait there, not deleted yet
        assert "current" in dir_entries(scratch / entry)
        assert dir_entries(appx_env.appx_home / "venvs") == set()  # the uninstall committed
        assert dir_entries(appx_env.bin_dir) == set()
        assert os.getsid(pid) != os.getsid(0)  # a session of its own: Ctrl-C is not for it
        fds = Path(f"/proc/{pid}/fd")
        descriptors = {fd.name: os.readlink(fd) for fd in fds.iterdir()}
        assert descriptors == {"0": os.devnull, "1": os.devnull, "2": os.devnull}
    finally:
        os.kill(pid, signal.SIGCONT)
    assert eventually_empty(scratch) == set()  # and once it goes on, the files are gone


def test_files_a_killed_deleter_left_are_swept_by_the_next_uninstall(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_appx("install", "tool-with-man", "cowsay-lite").code == 0
    for name, value in STOPPED_DELETER.items():
        monkeypatch.setenv(name, value)
    assert run_appx("uninstall", "tool-with-man").code == 0
    scratch = appx_env.appx_home / "tmp"
    pid = stopped_deleter(scratch)
    left = dir_entries(scratch)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while process_state(pid) not in {"", "Z"} and time.monotonic() < deadline:
        time.sleep(0.02)
    for name in STOPPED_DELETER:
        monkeypatch.delenv(name)

    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert not dir_entries(scratch) & left  # swept by the uninstall itself, before it answered
    assert eventually_empty(scratch) == set()
