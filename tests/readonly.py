"""Read-only directories as root: run a command with the capabilities that ignore modes dropped."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

# The capabilities that let root ignore permission bits; dropped to test read-only directories.
ROOT_OVERRIDES = "cap_dac_override,cap_fowner,cap_dac_read_search"


def bound_by_permissions(argv: Sequence[str | Path]) -> list[str] | None:
    """``argv`` made to obey permission bits even as root (through capsh), or None if it cannot.

    Root writes into a directory whatever its mode, so a read-only directory can only be
    tested by dropping those capabilities first.
    """
    args = [os.fspath(arg) for arg in argv]
    if os.geteuid() != 0:
        return args
    capsh = shutil.which("capsh")
    if capsh is None:
        return None
    return [capsh, f"--drop={ROOT_OVERRIDES}", "--", "-c", shlex.join(args)]
