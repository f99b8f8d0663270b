"""The only door through which appx starts subprocesses.

Every child runs in a session of its own (so a killed appx can find and stop
the installer by process group) with a cleaned environment: variables that
would redirect an install or leak another environment into it are dropped,
while index, certificate and proxy settings are kept.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from appx import signals

if TYPE_CHECKING:
    # subprocess is imported where a child starts: uninstall and list import this module
    # to ask about processes and should not pay for it.
    import subprocess

    Popen = subprocess.Popen[str]

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


def clean_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a child: the given one less the dropped variables."""
    base = os.environ if environ is None else environ
    env = {key: value for key, value in base.items() if key not in DROPPED_VARIABLES}
    env["PYTHONNOUSERSITE"] = "1"  # user site-packages never leak into an app's venv
    return env


def capture(
    argv: Argv, *, env: Mapping[str, str] | None = None, timeout: float | None = 60
) -> subprocess.CompletedProcess[str]:
    """Run a short probe and capture its output; never raises for a non-zero exit.

    A probe that cannot start, or that outlives ``timeout`` seconds (its whole
    group is stopped then), is reported as exit 127 with the reason on stderr.
    """
    import subprocess

    command = [os.fspath(arg) for arg in argv]
    child: subprocess.Popen[str] | None = None
    try:
        with signals.deferred():
            try:
                child = _start(command, env, stderr=subprocess.PIPE)
            except OSError as exc:
                return subprocess.CompletedProcess(command, 127, "", str(exc))
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(child)
            reason = f"{command[0]} timed out after {timeout} seconds"
            return subprocess.CompletedProcess(command, 127, "", reason)
        kill_group(child.pid)  # helpers it left behind
        signals.poll()  # a short probe is never stopped: a batch's worker acts here
        return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
    except BaseException:
        if child is not None:
            _stop(child)
        raise


def run_logged(
    argv: Argv,
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    redact: Callable[[str], str] = lambda text: text,
) -> int:
    """Run an installer with its output appended to ``log``; return its exit code.

    ``on_start`` receives the child's process group id as soon as it exists, so a
    build marker can name it: a signal cannot come between the two. On any
    exception (Ctrl-C included) the child's whole group is stopped and waited for
    before the exception goes on, so no installer outlives its interrupted build.
    """
    import subprocess

    command = [os.fspath(arg) for arg in argv]
    with log.open("a", encoding="utf-8") as sink:
        sink.write("$ " + redact(" ".join(command)) + "\n")
        sink.flush()
        child: subprocess.Popen[str] | None = None
        try:
            with signals.deferred():
                try:
                    child = _start(command, env, stderr=subprocess.STDOUT)
                except OSError as exc:
                    sink.write(f"cannot start {command[0]}: {exc}\n")
                    return 127
                signals.started_child(child.pid)  # a batch's interrupt stops it
                if on_start is not None:
                    on_start(child.pid)
            assert child.stdout is not None  # noqa: S101 -- Popen was given stdout=PIPE
            for line in child.stdout:
                sink.write(redact(line))
            child.stdout.close()
            # Wait without reaping: while the leader is a zombie its pid, the group's
            # id, cannot be reused, so stopping what it left behind is safe.
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            signals.reaped_child(child.pid)
            kill_group(child.pid)  # helpers it left (a build backend, a daemon)
            child.wait()
        except BaseException:
            if child is not None:
                signals.reaped_child(child.pid)
                _stop(child)
            raise
    signals.poll()  # in a batch's worker: an installer stopped by an interrupt is one
    return child.returncode


def _start(command: list[str], env: Mapping[str, str] | None, *, stderr: int) -> Popen:
    """Start a child in a session of its own (its pid is its process group id)."""
    import subprocess

    return subprocess.Popen(
        command,
        env=clean_env() if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        errors="replace",
        start_new_session=True,
    )


def _stop(child: Popen) -> None:
    """Stop a child's whole group, close its pipes and reap it; a signal meanwhile waits."""
    with signals.deferred():
        kill_group(child.pid)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
        child.wait()


def in_background(work: Callable[[], object]) -> bool:
    """Start ``work`` in a detached process and return at once, without waiting for it.

    The process (forked twice, so nobody has to reap it) runs in a session of its own,
    with stdin, stdout and stderr on /dev/null and no other descriptor open: a script
    that reads appx's output to its end never waits for it, and Ctrl-C in the terminal
    does not reach it. False when no process could be started: the work is not done.
    The forked processes end with ``os._exit``: what the parent has buffered for its
    output is never written a second time by them.
    """
    try:
        middle = os.fork()
    except OSError:
        return False
    if middle == 0:  # pragma: no cover -- the forked processes, which coverage does not follow
        _run_detached(work)
    os.waitpid(middle, 0)  # it exits at once, leaving the worker to init
    return True


def _run_detached(work: Callable[[], object]) -> NoReturn:  # pragma: no cover -- forked
    code = 0
    try:
        os.setsid()
        if os.fork() == 0:
            quiet = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(quiet, fd)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            for signum in signals.SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            work()
    except BaseException:  # noqa: BLE001 -- nothing may unwind into the parent's code
        code = 1
    finally:
        os._exit(code)


def kill_group(pgid: int, *, grace: float = 2.0) -> None:
    """Stop a process group: SIGTERM, then SIGKILL after ``grace`` seconds; wait until gone."""
    if pgid <= 1 or pgid == os.getpgid(0):
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    if _wait_gone(pgid, time.monotonic() + grace):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    _wait_gone(pgid, None)


def _wait_gone(pgid: int, deadline: float | None) -> bool:
    """Poll until the group is gone (True) or the deadline passes (False)."""
    pause = 0.001  # most groups die at once: poll fast first, then back off
    while group_alive(pgid):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies count as gone)."""
    seen: set[int] | None = None
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        members = _members(pgid)
        if members is None or any(state not in {"Z", "X"} for state in members.values()):
            return True
        # A scan lists /proc first and reads each entry later: a member that forked
        # and died in between hides its child. Zombies cannot fork, so when every
        # member was a zombie already in the previous scan, nothing can hide.
        if seen is not None and set(members) <= seen:
            return False
        seen = set(members)


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


def _members(pgid: int) -> dict[int, str] | None:
    """The processes of a group and their states, or None where /proc cannot tell."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    members = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if len(fields) > 2 and int(fields[2]) == pgid:
            members[int(entry.name)] = fields[0]
    return members


def exec_app(argv: Sequence[str]) -> NoReturn:
    """Replace appx with the app: its signals, terminal, stdin and exit code are its own.

    The environment is the user's, as it is: the app is the user's program.
    """
    os.execv(argv[0], list(argv))  # noqa: S606 -- the user's app, as asked


def run_app(argv: Argv, env: Mapping[str, str] | None = None) -> int:
    """Run the app as a child in the foreground and return its exit code (128+N for signal N).

    Its output goes straight to the terminal; ``env`` replaces the environment when given.
    Ctrl-C reaches the app through the terminal; appx ignores it meanwhile and passes
    SIGTERM on, so that it can clean up after the app, whatever the app does.
    """
    import subprocess

    child = subprocess.Popen([os.fspath(arg) for arg in argv], env=env)
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, _: child.send_signal(signum)),
    }
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code
