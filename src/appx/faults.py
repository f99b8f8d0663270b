"""Crash points for the crash tests: named points, and every filesystem mutation.

``APPX_FAULT_AT=<point>`` SIGKILLs appx at one of the named ``POINTS``.
``APPX_FAULT_AT=mutation:N`` SIGKILLs it just before the Nth filesystem mutation
appx itself makes (a file opened for writing, a directory made, a rename, a
symlink, an unlink, a tree removed, a mode or time set), and
``APPX_FAULT_TRACE=<file>`` appends one line per mutation to that file, so a test
can count a command's mutations and then kill it before each one in turn.
``APPX_FAULT_SIGNAL`` sends other signals instead, in order (``INT``, ``TERM``,
``INT,INT`` for Ctrl-C pressed twice), to test what an interrupt there does.

The tests use them to prove that a kill at any step of a change leaves every app
whole. Reading the variables is the whole cost when they are unset: the mutation
watch (``appx.faultwatch``) is imported only when one of them asks for it.
"""

from __future__ import annotations

import os
import signal

from appx import signals

POINTS = (
    "after-marker",
    "after-venv",
    "after-install",
    "after-receipt",
    "after-links",
    "after-flip",
    "after-detach",
    "before-background-removal",  # in the process that deletes an uninstalled app's files
)
MUTATION = "mutation:"


def checkpoint(point: str) -> None:
    """Signal this process (SIGKILL unless told otherwise) if asked to at ``point``."""
    if os.environ.get("APPX_FAULT_AT") != point:
        return
    signal_self()


def signal_self() -> None:
    """Send this process the signals APPX_FAULT_SIGNAL names (SIGKILL by default)."""
    for name in os.environ.get("APPX_FAULT_SIGNAL", "KILL").split(","):
        # as a keypress would: acted on here, in a worker thread of a batch too
        signals.send_to_self(signal.Signals[f"SIG{name.strip().upper()}"])
