"""Named crash points for the crash tests: APPX_FAULT_AT=<point> SIGKILLs appx there.

The tests use it to prove that a kill at any step of a change leaves every app
whole. Reading one variable is the whole cost when it is unset.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after-marker",
    "after-venv",
    "after-install",
    "after-receipt",
    "after-links",
    "after-flip",
    "after-detach",
)


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL if the environment asks for a crash at ``point``."""
    if os.environ.get("APPX_FAULT_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
