"""The only door through which appx starts subprocesses.

Every child runs in a session of its own (so a killed appx can find and stop
the installer by process group) with a cleaned environment: variables that
would redirect an install or leak another environment into it are dropped,
while index, certificate and proxy settings are kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# Variables that would make an installer write somewhere else or run in another
# environment than the one appx chose.
DROPPED_VARIABLES = frozenset(
    {
        "PIP_TARGET",
        "PIP_PREFIX",
        "PIP_ROOT",
        "PIP_USER",
        "PIP_REQUIRE_VIRTUALENV",
        "PIP_PYTHON",
        "PIP_SRC",
        "PIP_EDITABLE_MODE",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "PYTHONNOUSERSITE",
        "PYTHONSAFEPATH",
        "PYTHONEXECUTABLE",
        "PYTHONDONTWRITEBYTECODE",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "CONDA_DEFAULT_ENV",
        "__PYVENV_LAUNCHER__",
        "UV_PROJECT_ENVIRONMENT",
        "UV_SYSTEM_PYTHON",
        "UV_BREAK_SYSTEM_PACKAGES",
        "UV_TOOL_DIR",
        "UV_TOOL_BIN_DIR",
        "UV_PYTHON",
    }
)

Argv = Sequence[str | os.PathLike[str]]


def clean_env(
    environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the environment for a child: the given one less the dropped variables."""
    base = os.environ if environ is None else environ
    env = {key: value for key, value in base.items() if key not in DROPPED_VARIABLES}
    env["PYTHONNOUSERSITE"] = "1"  # user site-packages never leak into an app's venv
    if extra:
        env.update(extra)
    return env


def capture(
    argv: Argv, *, env: Mapping[str, str] | None = None, timeout: float | None = 60
) -> subprocess.CompletedProcess[str]:
    """Run a short probe and capture its output; never raises for a non-zero exit."""
    try:
        return subprocess.run(
            [os.fspath(arg) for arg in argv],
            env=clean_env() if env is None else dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess([os.fspath(a) for a in argv], 127, "", str(exc))


def run_logged(
    argv: Argv,
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    redact: Callable[[str], str] = lambda text: text,
    echo: Callable[[str], None] | None = None,
) -> int:
    """Run an installer with its output appended to ``log``; return its exit code.

    ``on_start`` receives the child's process group id as soon as it exists, so a
    build marker can name it. Ctrl-C stops the child's whole group before the
    KeyboardInterrupt goes on.
    """
    command = [os.fspath(arg) for arg in argv]
    with log.open("a", encoding="utf-8") as sink:
        sink.write("$ " + redact(" ".join(command)) + "\n")
        sink.flush()
        try:
            child = subprocess.Popen(
                command,
                env=clean_env() if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            sink.write(f"cannot start {command[0]}: {exc}\n")
            return 127
        with child:
            try:
                if on_start is not None:
                    on_start(child.pid)
                assert child.stdout is not None  # noqa: S101 -- Popen was given stdout=PIPE
                for line in child.stdout:
                    clean = redact(line)
                    sink.write(clean)
                    if echo is not None:
                        echo(clean.rstrip("\n"))
                return child.wait()
            except BaseException:
                kill_group(child.pid)
                child.wait()
                raise


def kill_group(pgid: int, *, grace: float = 2.0) -> None:
    """Stop a process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if pgid <= 1 or pgid == os.getpgid(0):
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    while group_alive(pgid):
        time.sleep(0.02)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _only_zombies(pgid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in {"Z", "X"}


def start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None if it does not exist."""
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else None


def group_is_ours(pgid: int, started: int | None) -> bool:
    """Whether process group ``pgid`` is still the one whose leader started at ``started``.

    A pid is not reused while it names a live group, so a group whose leader is gone
    but whose members remain is still the original one.
    """
    leader_start = start_time(pgid)
    return leader_start is None or started is None or leader_start == started


def _stat_fields(pid: int) -> list[str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat.rpartition(")")[2].split()


def _state(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[0] if fields else ""


def _only_zombies(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            return False
    return True
