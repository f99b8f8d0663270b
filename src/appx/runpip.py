"""`appx runpip`: the backend's pip, run against an app's current environment, read-only.

Only subcommands that leave the environment as it is run (``list``, ``show``,
``freeze``...); ``install`` and ``uninstall`` are refused with a hint to use
inject, uninject or upgrade, so that the receipt always says what the app holds
and every change is a generation that ``rollback`` can undo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appx import proc
from appx.backends.pip_isolation import pip_environment
from appx.errors import NotInstalledError, ReceiptError, SpecError
from appx.lifecycle import recorded_python
from appx.paths import AppxPaths
from appx.receipt import load_receipt
from appx.uninstall import normalize_app

READ_ONLY = frozenset(
    {
        "list",
        "show",
        "freeze",
        "check",
        "inspect",
        "help",
        "index",
        "download",
        "wheel",
        "hash",
        "search",
        "debug",
        "completion",
        "lock",
    }
)
CHANGING = frozenset({"install", "uninstall"})
_TOP_LEVEL = frozenset({"--version", "-V", "--help", "-h"})


@dataclass(frozen=True)
class PipRun:
    """What to run and with which environment."""

    argv: list[str]
    env: dict[str, str]


def check_read_only(app: str, args: Sequence[str]) -> None:
    """Refuse pip arguments that would change the environment, or that appx cannot vouch for."""
    if not args or (len(args) == 1 and args[0] in _TOP_LEVEL):
        return
    command = args[0]
    if command in READ_ONLY:
        return
    if command in CHANGING:
        raise SpecError(
            f"appx runpip does not run 'pip {command}': it would change {app} behind its receipt",
            f"use 'appx inject {app} PKG', 'appx uninject {app} PKG' or 'appx upgrade {app}'"
            " (a new generation that 'appx rollback' can undo)",
        )
    if command.startswith("-"):
        raise SpecError(
            f"appx runpip needs pip's subcommand first, not {command!r}",
            f"put pip's options after it: appx runpip {app} list {command}",
        )
    raise SpecError(
        f"appx runpip does not run 'pip {command}'",
        f"it runs pip's read-only subcommands: {', '.join(sorted(READ_ONLY))}",
    )


def pip_run(paths: AppxPaths, app: str, args: Sequence[str]) -> PipRun:
    """How to run pip with ``args`` on the app's current generation."""
    from appx.backends.pip import PipBackend

    current = paths.apps.read_current(app)
    if current is None:
        raise NotInstalledError(f"{app} is not installed", "run 'appx list' to see installed apps")
    receipt = load_receipt(current.path)
    python = Path(receipt.venv.python)
    if not python.exists():
        raise ReceiptError(
            f"the environment of {app} is broken: {python} is missing",
            f"reinstall it: appx install --force {app}",
        )
    command = PipBackend(paths).pip_command(python, recorded_python(receipt))
    env = pip_environment()
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"  # a read must not reach out for pip's news
    return PipRun([*command, *args], env)


def run_pip(paths: AppxPaths, name: str, args: Sequence[str]) -> int:
    """Run pip on the app's current generation, output to the terminal; return pip's exit code.

    Like ``list``, a read takes no lock: it never waits for, nor holds up, a change.
    """
    paths.check_usable(write=False)
    app = normalize_app(name)
    check_read_only(app, args)
    run = pip_run(paths, app, args)
    return proc.run_app(run.argv, run.env)
