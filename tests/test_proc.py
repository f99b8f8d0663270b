"""Tests for appx.proc: the cleaned environment, logged runs in their own session, group kills."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appx import proc

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


def test_user_site_packages_are_kept_out_and_extra_variables_win() -> None:
    given = {"PYTHONNOUSERSITE": "", "PIP_TARGET": "/t"}
    env = proc.clean_env(given, extra={"PIP_NO_INPUT": "1"})
    assert env["PYTHONNOUSERSITE"] == "1"
    assert env["PIP_NO_INPUT"] == "1"
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
    echoed: list[str] = []

    result = proc.run_logged([*_python(code), url], log=log, redact=_redact, echo=echoed.append)

    assert result == 3
    text = log.read_text(encoding="utf-8")
    assert "s3cret" not in text
    lines = text.splitlines()
    assert lines[0].startswith("$ ")
    assert lines[0].endswith("https://user:***@index.example.org/simple")
    assert "fetching https://user:***@index.example.org/simple" in lines
    assert "oops" in lines  # stderr goes to the same log
    assert echoed == lines[1:]


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


def test_interrupting_run_logged_stops_the_installers_whole_group(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    # The installer starts a helper of its own (as pip starts a build backend), then hangs.
    code = (
        "import subprocess, sys, time;"
        "helper = subprocess.Popen(['sleep', '60']);"
        "print(helper.pid, flush=True); time.sleep(60)"
    )
    groups: list[int] = []
    helpers: list[int] = []

    def interrupt(line: str) -> None:
        helpers.append(int(line))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        proc.run_logged(_python(code), log=log, on_start=groups.append, echo=interrupt)

    assert not proc.group_alive(groups[0])
    assert not proc.pid_alive(helpers[0])


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
