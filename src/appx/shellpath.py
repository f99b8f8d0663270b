"""The ensurepath child: userpath's work on the shell startup files, in a process of its own.

userpath starts the user's shells (``bash -i -c 'echo $PATH'``, and a login shell)
to see whether a new shell would find a directory, and those shells run the
user's startup files, which may hang or wait for input. So appx runs this module
as a child through ``appx.proc``, with a cleaned environment and a time limit,
never userpath in its own process. The child reads one JSON request from its
arguments and prints one JSON report on stdout:

``{"changed": [files whose contents changed], "in_new_path": bool | null,
"problem": str | null, "timed_out": bool}``

When the time limit passes, it prints the report (``timed_out`` true, and
``group``, its process group) and kills that whole group, itself and every
shell it started included; appx waits until the group is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

# The shells userpath knows how to configure.
SHELLS = ("bash", "fish", "sh", "xonsh", "zsh")


def main(request_text: str) -> int:
    """Do one request (see the module docstring); the exit code is 0 unless the request is bad."""
    import userpath

    request = json.loads(request_text)
    location: str = request["location"]
    shells: list[str] = request["shells"]
    home: str = request["home"]
    files = startup_files(location, shells, home)
    before = {file: _contents(file) for file in files}

    def changed() -> list[str]:
        return [file for file in files if _contents(file) != before[file]]

    _arm_watchdog(float(request["time_limit"]), changed)
    report: dict[str, Any] = {"changed": [], "in_new_path": None, "problem": None}
    try:
        present = not request["force"] and userpath.in_new_path(location, shells=shells, home=home)
    except Exception as error:  # noqa: BLE001 -- a shell that cannot start is reported, not fatal
        present, report["problem"] = False, _describe(error)
    if present:
        report["in_new_path"] = True
    else:
        try:
            report["in_new_path"] = bool(
                userpath.append(location, app_name="appx", shells=shells, home=home)
            )
        except Exception as error:  # noqa: BLE001 -- reported with the files that did change
            report["problem"] = _describe(error)
        report["changed"] = changed()
    signal.setitimer(signal.ITIMER_REAL, 0)
    _emit({**report, "timed_out": False})
    return 0


def startup_files(location: str, shells: list[str], home: str) -> list[str]:
    """The files userpath writes for these shells (what ensurepath may change)."""
    # userpath ships no type information (pyproject's override covers only the top module).
    from userpath.shells import SHELLS as USERPATH_SHELLS  # type: ignore[import-untyped]
    from userpath.utils import normpath  # type: ignore[import-untyped]

    return [
        file
        for name in shells
        for file in USERPATH_SHELLS[name](home).config(normpath(location), front=False)
    ]


def _arm_watchdog(seconds: float, changed: Any) -> None:
    """After ``seconds``, report a timeout and kill this process's group (its shells too)."""
    if os.getpgid(0) != os.getpid():  # pragma: no cover -- appx.proc starts us in a new session
        os.setpgid(0, 0)  # a group of our own, so the kill below never reaches our parent

    def give_up(signum: int, frame: FrameType | None) -> None:
        report = {"changed": changed(), "in_new_path": None, "problem": None}
        _emit({**report, "timed_out": True, "group": os.getpid()})
        os.killpg(os.getpid(), signal.SIGKILL)

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _contents(file: str) -> bytes | None:
    try:
        return Path(file).read_bytes()
    except OSError:
        return None


def _describe(error: Exception) -> str:
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"cannot start {error.filename}: it is not installed"
    return f"{type(error).__name__}: {error}".splitlines()[0]


def _emit(report: dict[str, Any]) -> None:
    # os.write, not print: the watchdog may fire while print's buffer is half full.
    os.write(sys.stdout.fileno(), (json.dumps(report) + "\n").encode())
