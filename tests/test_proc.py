"""Tests for appx.proc: the cleaned environment, logged runs in their own session, group kills."""

from __future__ import annotations

import contextlib
import dis
import functools
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest

from appx import proc, signals

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a process in a session of its own (like an installer); its group dies at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> subprocess.Popen[str]:
        child = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.PIPE, text=True)
        started.append(child)
        return child

    yield start
    for child in started:
        if proc.group_alive(child.pid):
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# ---------------------------------------------------------------- clean_env


@pytest.mark.parametrize(
    "var",
    [
        "PIP_TARGET",
        "PIP_PREFIX",
        "PIP_ROOT",
        "PIP_USER",
        "PIP_REQUIRE_VIRTUALENV",
        "PIP_PYTHON",
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "__PYVENV_LAUNCHER__",
    ],
)
def test_variables_that_redirect_an_install_are_dropped(var: str) -> None:
    env = proc.clean_env({var: "/somewhere/else", "PATH": "/usr/bin"})
    assert var not in env
    assert env["PATH"] == "/usr/bin"


@pytest.mark.parametrize(
    "var",
    [
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_CERT",
        "PIP_TRUSTED_HOST",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "UV_INDEX_URL",
    ],
)
def test_index_certificate_and_proxy_settings_are_kept(var: str) -> None:
    env = proc.clean_env({var: "https://proxy.example.org:3128"})
    assert env[var] == "https://proxy.example.org:3128"


def test_user_site_packages_are_kept_out() -> None:
    given = {"PYTHONNOUSERSITE": "", "PIP_TARGET": "/t"}
    env = proc.clean_env(given)
    assert env["PYTHONNOUSERSITE"] == "1"
    assert "PIP_TARGET" not in env
    assert given == {"PYTHONNOUSERSITE": "", "PIP_TARGET": "/t"}  # the caller's copy is untouched


def test_clean_env_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIP_TARGET", "/tmp/elsewhere")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    env = proc.clean_env()
    assert "PIP_TARGET" not in env
    assert env["HTTPS_PROXY"] == "http://proxy:3128"


# ---------------------------------------------------------------- run_logged


def _redact(text: str) -> str:
    return text.replace("s3cret", "***")


def test_run_logged_logs_the_command_and_output_with_credentials_redacted(
    tmp_path: Path,
) -> None:
    log = tmp_path / "install.log"
    code = "import sys; print('fetching', sys.argv[1]); print('oops', file=sys.stderr); sys.exit(3)"
    url = "https://user:s3cret@index.example.org/simple"

    result = proc.run_logged([*_python(code), url], log=log, redact=_redact)

    assert result == 3
    text = log.read_text(encoding="utf-8")
    assert "s3cret" not in text
    lines = text.splitlines()
    assert lines[0].startswith("$ ")
    assert lines[0].endswith("https://user:***@index.example.org/simple")
    assert "fetching https://user:***@index.example.org/simple" in lines
    assert "oops" in lines  # stderr goes to the same log


def test_run_logged_appends_to_an_existing_log(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    log.write_text("earlier step\n", encoding="utf-8")
    assert proc.run_logged(_python("print('later step')"), log=log) == 0
    assert log.read_text(encoding="utf-8").splitlines()[0] == "earlier step"
    assert "later step" in log.read_text(encoding="utf-8").splitlines()


def test_run_logged_accepts_path_arguments(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    script = tmp_path / "hello.py"
    script.write_text("print('from a path')\n", encoding="utf-8")
    assert proc.run_logged([Path(sys.executable), script], log=log) == 0
    assert "from a path" in log.read_text(encoding="utf-8")


def test_run_logged_leaves_no_pipe_open(tmp_path: Path) -> None:
    # One leaked pipe per installer run adds up over upgrade-all, and warns under -W error.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert proc.run_logged(_python("print('x')"), log=tmp_path / "install.log") == 0
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_run_logged_runs_the_child_in_its_own_session(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    groups: list[int] = []
    code = "import json, os; print(json.dumps([os.getpid(), os.getsid(0), os.getpgid(0)]))"

    assert proc.run_logged(_python(code), log=log, on_start=groups.append) == 0

    pid, sid, pgid = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert sid != os.getsid(0)
    assert sid == pgid == pid
    assert groups == [pgid]


def test_run_logged_gives_the_child_a_clean_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_TARGET", str(tmp_path / "target"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    log = tmp_path / "install.log"
    code = (
        "import json, os; names = ('PIP_TARGET', 'PYTHONPATH', 'HTTPS_PROXY');"
        "print(json.dumps([os.environ.get(name) for name in names]))"
    )
    assert proc.run_logged(_python(code), log=log) == 0
    seen = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert seen == [None, None, "http://proxy.example.org:3128"]


@pytest.mark.parametrize("runner", ["run_logged", "capture"])
def test_ctrl_c_while_the_child_runs_stops_its_whole_group(
    tmp_path: Path, appx_handlers: None, runner: str
) -> None:
    pids = tmp_path / "pids"
    # The installer starts a helper of its own (as pip starts a build backend), then hangs.
    code = (
        "import os, pathlib, subprocess, sys, time;"
        "helper = subprocess.Popen(['sleep', '60']); written = pathlib.Path(sys.argv[1] + '.new');"
        "written.write_text(f'{os.getpid()} {helper.pid}'); os.replace(written, sys.argv[1]);"
        "time.sleep(60)"
    )
    argv = [*_python(code), str(pids)]
    ctrl_c = threading.Thread(target=_ctrl_c_once_exists, args=(pids,))
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            if runner == "capture":
                proc.capture(argv)
            else:
                proc.run_logged(argv, log=tmp_path / "install.log")
    finally:
        ctrl_c.join()

    installer, helper = map(int, pids.read_text().split())
    assert not proc.group_alive(installer)
    assert not proc.pid_alive(helper)


def _ctrl_c_once_exists(path: Path) -> None:
    """Press Ctrl-C (SIGINT to this process) once ``path`` exists."""
    while not path.exists():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)


def test_helpers_a_finished_child_leaves_in_its_group_are_stopped(tmp_path: Path) -> None:
    # A build backend still running after pip exits could write into a generation
    # that appx is about to discard or flip.
    helper = "sleep 60 >/dev/null 2>&1 & echo $!"
    log = tmp_path / "install.log"
    assert proc.run_logged(["sh", "-c", helper], log=log) == 0
    assert not proc.pid_alive(int(log.read_text(encoding="utf-8").splitlines()[-1]))

    probe = proc.capture(["sh", "-c", helper])
    assert probe.returncode == 0
    assert not proc.pid_alive(int(probe.stdout))


def test_run_logged_reports_a_missing_program_as_a_failed_run(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    missing = tmp_path / "venv" / "bin" / "python"
    assert proc.run_logged([missing, "-m", "pip"], log=log) != 0
    assert str(missing) in log.read_text(encoding="utf-8")


# ---------------------------------------------------------------- capture


def test_capture_returns_output_and_a_failing_exit_code() -> None:
    result = proc.capture(_python("import sys; print('out'); sys.exit(4)"))
    assert result.returncode == 4
    assert result.stdout == "out\n"


def test_capture_of_a_missing_program_is_exit_127(tmp_path: Path) -> None:
    result = proc.capture([tmp_path / "no-such-python", "-V"])
    assert result.returncode == 127
    assert "no-such-python" in result.stderr


def test_capture_gives_up_after_its_timeout() -> None:
    result = proc.capture(_python("import time; time.sleep(30)"), timeout=0.5)
    assert result.returncode == 127
    assert "timed out" in result.stderr


# ---------------------------------------------------------------- process groups


def test_kill_group_stops_every_process_of_the_group(spawn: Spawn) -> None:
    shell = spawn("sh", "-c", "sleep 60 & echo $!; sleep 60")
    assert shell.stdout is not None
    helper = int(shell.stdout.readline())
    assert proc.group_alive(shell.pid)

    proc.kill_group(shell.pid)

    assert not proc.group_alive(shell.pid)
    assert not proc.pid_alive(helper)
    assert shell.wait(timeout=5) == -signal.SIGTERM


def test_kill_group_stops_members_whose_leader_is_gone(spawn: Spawn) -> None:
    # pip may exit while a build backend it started keeps running in its group.
    shell = spawn("sh", "-c", "sleep 60 >/dev/null & echo $!")
    assert shell.stdout is not None
    helper = int(shell.stdout.readline())
    assert shell.wait(timeout=5) == 0
    assert proc.group_alive(shell.pid)

    proc.kill_group(shell.pid)

    assert not proc.group_alive(shell.pid)
    assert not proc.pid_alive(helper)


def test_a_group_is_alive_while_its_leader_forks_and_exits(spawn: Spawn) -> None:
    # The /proc scan lists pids before it reads them: a leader that forks and exits
    # in between must not hide its child (kill_group would return while it runs).
    for _ in range(20):
        shell = spawn("sh", "-c", "sleep 60 >/dev/null 2>&1 & exit 0")
        seen = [proc.group_alive(shell.pid) for _ in range(20)]
        assert all(seen), seen
        proc.kill_group(shell.pid)


def test_kill_group_escalates_to_sigkill_after_the_grace_period(spawn: Spawn) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('ready', flush=True); time.sleep(60)"
    )
    stubborn = spawn(*_python(code))
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == "ready\n"

    proc.kill_group(stubborn.pid, grace=0.2)

    assert stubborn.wait(timeout=5) == -signal.SIGKILL


def test_kill_group_never_signals_appx_itself() -> None:
    proc.kill_group(os.getpgid(0))
    proc.kill_group(0)
    proc.kill_group(1)
    assert proc.pid_alive(os.getpid())  # still here to tell


def test_kill_group_of_a_gone_group_returns_at_once() -> None:
    gone = subprocess.Popen(["true"], start_new_session=True)
    gone.wait()
    started = time.monotonic()
    proc.kill_group(gone.pid)
    assert time.monotonic() - started < 1
    assert not proc.group_alive(gone.pid)


def test_pid_alive_tells_running_from_finished_and_zombie() -> None:
    assert proc.pid_alive(os.getpid())
    assert not proc.pid_alive(999_999)
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 5
        while proc.pid_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        # It has exited but is not reaped yet: a zombie, which counts as gone.
        assert Path(f"/proc/{child.pid}").exists()
        assert not proc.pid_alive(child.pid)
    finally:
        child.wait()
    assert not proc.pid_alive(child.pid)


# ---------------------------------------------------------------- interrupts at any point

# A child that starts a grandchild in its own process group, which writes a file
# after a second, and exits at once: as pip leaves a build backend running.
GRANDCHILD_SLEEP = 1.0
_LATE_WRITER = "(sleep {sleep}; echo late > '{path}') </dev/null >/dev/null 2>&1 & echo started"


class _CtrlCAtLine:
    """Send SIGINT to this process at the n-th line run in proc.py or signals.py.

    The handler runs inside the tracer, so the KeyboardInterrupt surfaces at that
    line. Lines that start with a NOP (``try:``) are skipped: CPython never runs a
    signal handler there, and an exception raised there by a tracer escapes the
    function's handlers. The /proc scan's inner loop is not traced (a signal there
    is one at the line that calls it), which keeps the number of runs small.
    """

    FILES = frozenset({proc.__file__, signals.__file__})
    SKIPPED = frozenset({"_members", "_stat_fields"})

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self.sent = False
        self.where = ""
        self.previous: Any = None

    def __enter__(self) -> _CtrlCAtLine:
        self.previous = sys.gettrace()  # coverage's tracer, when measuring
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)

    def _call(self, frame: FrameType, event: str, arg: object) -> Any:
        code = frame.f_code
        traced = code.co_filename in self.FILES and code.co_name not in self.SKIPPED
        return self._line if traced else None

    def _line(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "line" and not self.sent and not _at_nop(frame):
            if self.seen == self.n:
                self.sent = True
                self.where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"
                os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, in this frame
            self.seen += 1
        return self._line


@contextlib.contextmanager
def _unclosed_log_allowed() -> Iterator[None]:
    """Let the log file of an interrupted run close quietly (a child still running warns).

    An exception raised between ``open()`` and the ``with`` that closes it leaves
    the file to be closed when the exception is dropped: CPython cannot make a
    with statement signal-proof, and the tracer also raises at lines a real
    signal never reaches. What this test checks is processes.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "unclosed file", ResourceWarning)
        yield
        gc.collect()


@functools.cache
def _nops(code: CodeType) -> frozenset[int]:
    return frozenset(i.offset for i in dis.get_instructions(code) if i.opname == "NOP")


def _at_nop(frame: FrameType) -> bool:
    return frame.f_lasti in _nops(frame.f_code)


Runner = Callable[[list[str], Path, Callable[[int], None]], object]


def _via_run_logged(argv: list[str], scratch: Path, on_start: Callable[[int], None]) -> object:
    return proc.run_logged(
        argv, log=scratch / "install.log", env=dict(os.environ), on_start=on_start
    )


def _via_capture(argv: list[str], scratch: Path, on_start: Callable[[int], None]) -> object:
    return proc.capture(argv, env=dict(os.environ))


@pytest.mark.parametrize("runner", [_via_run_logged, _via_capture], ids=["run_logged", "capture"])
def test_ctrl_c_at_any_point_leaves_no_process_of_the_childs_group(
    tmp_path: Path, appx_handlers: None, runner: Runner
) -> None:
    late_files = []
    point = 0
    while True:
        late = tmp_path / f"late-{point}"
        argv = ["sh", "-c", _LATE_WRITER.format(sleep=GRANDCHILD_SLEEP, path=late)]
        groups: list[int] = []
        interrupted = False
        with _unclosed_log_allowed(), _CtrlCAtLine(point) as ctrl_c:
            try:
                runner(argv, tmp_path, groups.append)
            except KeyboardInterrupt:
                interrupted = True
        if not ctrl_c.sent:
            break  # past the last line: this run was not interrupted, and its writer runs on
        assert interrupted, f"Ctrl-C at {ctrl_c.where} was lost"
        assert not [g for g in groups if proc.group_alive(g)], f"Ctrl-C at {ctrl_c.where}"
        late_files.append((late, ctrl_c.where))
        point += 1
    assert point > 10, "the tracer saw too few lines to have tried every point"

    time.sleep(GRANDCHILD_SLEEP + 0.5)
    assert [where for late, where in late_files if late.exists()] == []


def test_a_signal_while_the_child_is_being_recorded_stops_it(
    tmp_path: Path, appx_handlers: None
) -> None:
    groups: list[int] = []

    def record(pgid: int) -> None:
        groups.append(pgid)
        os.kill(os.getpid(), signal.SIGTERM)  # held until the group is recorded
        groups.append(-1)

    with pytest.raises(KeyboardInterrupt):
        proc.run_logged(["sleep", "60"], log=tmp_path / "install.log", on_start=record)

    assert groups[1] == -1, "the recording step was cut short"
    assert not proc.group_alive(groups[0])


def test_capture_that_times_out_stops_the_childs_whole_group(tmp_path: Path) -> None:
    late = tmp_path / "late"
    writer = _LATE_WRITER.format(sleep=GRANDCHILD_SLEEP, path=late)
    result = proc.capture(["sh", "-c", f"{writer}; sleep 60"], timeout=0.2)

    assert result.returncode == 127
    assert "timed out" in result.stderr
    time.sleep(GRANDCHILD_SLEEP + 0.5)
    assert not late.exists(), "the probe's helper outlived the time limit"
