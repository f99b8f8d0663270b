"""Named crash points for the crash tests: APPX_FAULT_AT=<point> SIGKILLs appx there.

The tests use it to prove that a kill at any step of a change leaves every app
whole. ``APPX_FAULT_SIGNAL`` sends other signals instead, in order (``INT``,
``TERM``, ``INT,INT`` for Ctrl-C pressed twice), to test what an interrupt at
that step does. Reading one variable is the whole cost when it is unset.
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


def checkpoint(point: str) -> None:
    """Signal this process (SIGKILL unless told otherwise) if asked to at ``point``."""
    if os.environ.get("APPX_FAULT_AT") != point:
        return
    for name in os.environ.get("APPX_FAULT_SIGNAL", "KILL").split(","):
        # as a keypress would: acted on here, in a worker thread of a batch too
        signals.send_to_self(signal.Signals[f"SIG{name.strip().upper()}"])
