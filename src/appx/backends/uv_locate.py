"""Where uv is: the `uv` package of appx's own environment first (the ``appx[uv]`` extra),
then PATH; and whether it runs (``uv --version``, asked once per process)."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Source = Literal["appx's environment", "PATH"]

# Apps of one batch choose their backend in threads of their own: uv is looked for and
# run once, and sysconfig (which find_uv_bin reads) is not set up by two threads at once.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class FoundUv:
    """A uv binary and where it was found."""

    path: Path
    source: Source


def find_uv(environ: Mapping[str, str]) -> FoundUv | None:
    """The uv binary appx would use, found without running anything."""
    with _LOCK:
        own = _own_uv()
    if own is not None:
        return FoundUv(own, "appx's environment")
    on_path = shutil.which("uv", path=environ.get("PATH", os.defpath))
    return FoundUv(Path(on_path), "PATH") if on_path else None


def _own_uv() -> Path | None:
    """The binary of the `uv` package installed beside appx (its own ``find_uv_bin``)."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        found = Path(find_uv_bin())
    except (OSError, ValueError, TypeError):  # UvNotFound is a FileNotFoundError; TypeError:
        # seen when sysconfig's config vars were half set up by another thread
        return None
    return found if os.access(found, os.X_OK) else None


def package_version() -> str:
    """The version of the `uv` package beside appx ("" when none), from the name of its
    dist-info directory (``uv-0.9.5.dist-info``), which pip and uv write beside the package.

    `appx environment` shows it: importlib.metadata would cost that command a third of
    its time, for one directory name.
    """
    try:
        import uv
    except ImportError:
        return ""
    site = Path(uv.__file__).parent.parent
    try:
        names = os.listdir(site)
    except OSError:
        return ""
    versions = [
        name.removeprefix("uv-").removesuffix(".dist-info")
        for name in names
        if name.startswith("uv-") and name.endswith(".dist-info")
    ]
    return versions[0] if len(versions) == 1 else ""


def uv_version(path: Path) -> str | None:
    """uv's version when ``uv --version`` runs and says it; None when it does not (asked
    once per process and binary)."""
    with _LOCK:
        return _uv_version(path)


@functools.cache
def _uv_version(path: Path) -> str | None:
    from appx import proc  # only when uv must be run: reads never start a process

    result = proc.capture([path, "--version"], timeout=30)
    return parse_version(result.stdout) if result.returncode == 0 else None


def parse_version(text: str) -> str | None:
    """``uv 0.9.5 (d5f39331a 2025-10-21)`` -> ``0.9.5``; None for anything else."""
    words = text.strip().split()
    if len(words) >= 2 and words[0] == "uv" and words[1][:1].isdigit():
        return words[1]
    return None
