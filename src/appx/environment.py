"""What appx uses from its environment, and putting its bin dir on PATH."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appx.paths import AppxPaths


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    source: str


@dataclass(frozen=True)
class EnsurePathResult:
    location: str
    changed: bool
    in_current_path: bool
    files: tuple[str, ...] = ()


# The startup files userpath may write, to tell the user which ones changed.
_STARTUP_FILES = (
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".xonshrc",
    ".config/fish/config.fish",
)


def describe_environment(paths: AppxPaths, environ: Mapping[str, str]) -> list[Setting]:
    """Every path and variable appx uses and where each value came from (reads nothing else)."""
    settings = [
        Setting("APPX_HOME", str(paths.home), paths.sources.get("APPX_HOME", "default")),
        Setting("APPX_BIN_DIR", str(paths.bin_dir), paths.sources.get("APPX_BIN_DIR", "default")),
        Setting("APPX_MAN_DIR", str(paths.man_dir), paths.sources.get("APPX_MAN_DIR", "default")),
        Setting(
            "APPX_CACHE_DIR", str(paths.cache_dir), paths.sources.get("APPX_CACHE_DIR", "default")
        ),
        Setting(
            "APPX_DEFAULT_PYTHON",
            paths.default_python or "(the Python appx runs on)",
            paths.sources.get("APPX_DEFAULT_PYTHON", "default"),
        ),
    ]
    for name, value in (
        ("venvs", paths.venvs),
        ("shared", paths.shared),
        ("locks", paths.locks),
        ("logs", paths.logs),
        ("displaced", paths.displaced),
        ("tmp", paths.tmp),
    ):
        settings.append(Setting(name, str(value), "derived from APPX_HOME"))
    on_path = str(paths.bin_dir) in environ.get("PATH", "").split(os.pathsep)
    settings.append(Setting("bin dir on PATH", "yes" if on_path else "no", "PATH"))
    return settings


def ensure_path(paths: AppxPaths, *, force: bool = False) -> EnsurePathResult:
    """Add the bin dir to PATH through the shell's startup files (userpath)."""
    import userpath

    location = str(paths.bin_dir)
    in_path = bool(userpath.in_current_path(location))
    if in_path and not force:
        return EnsurePathResult(location, changed=False, in_current_path=True)
    if not force and userpath.in_new_path(location):
        return EnsurePathResult(location, changed=False, in_current_path=False)
    before = _startup_files()
    changed = bool(userpath.append(location, app_name="appx"))
    after = _startup_files()
    files = tuple(name for name in after if after[name] != before.get(name))
    return EnsurePathResult(location, changed=changed, in_current_path=in_path, files=files)


def _startup_files() -> dict[str, bytes]:
    home = Path.home()
    found = {}
    for name in _STARTUP_FILES:
        with contextlib.suppress(OSError):
            found[str(home / name)] = (home / name).read_bytes()
    return found
