"""Where appx keeps things: one frozen value built from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appx.errors import EnvironmentSetupError

ENV_VARS = ("APPX_HOME", "APPX_BIN_DIR", "APPX_MAN_DIR", "APPX_CACHE_DIR", "APPX_DEFAULT_PYTHON")


@dataclass(frozen=True)
class AppxPaths:
    """Every directory appx uses, and where each value came from."""

    home: Path
    bin_dir: Path
    man_dir: Path
    cache_dir: Path
    default_python: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def venvs(self) -> Path:
        return self.home / "venvs"

    @property
    def shared(self) -> Path:
        return self.home / "shared"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def displaced(self) -> Path:
        return self.home / "displaced"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    def app_dir(self, app: str) -> Path:
        return self.venvs / app

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppxPaths:
        """Read APPX_* variables, falling back to XDG-style defaults (no directory is created)."""
        env = os.environ if environ is None else environ
        home_dir = Path(env.get("HOME") or Path.home())
        sources: dict[str, str] = {}

        def pick(var: str, xdg_var: str, xdg_default: Path, tail: str) -> Path:
            if env.get(var):
                sources[var] = "environment"
                return _absolute(var, env[var])
            if env.get(xdg_var):
                sources[var] = f"default (${xdg_var})"
                return _absolute(xdg_var, env[xdg_var]) / tail
            sources[var] = "default"
            return xdg_default / tail

        # XDG layout on every POSIX system, macOS too: shebangs cannot hold a space.
        data = home_dir / ".local" / "share"
        home = pick("APPX_HOME", "XDG_DATA_HOME", data, "appx")
        man_dir = pick("APPX_MAN_DIR", "XDG_DATA_HOME", data, "man")
        cache_dir = pick("APPX_CACHE_DIR", "XDG_CACHE_HOME", home_dir / ".cache", "appx")
        if env.get("APPX_BIN_DIR"):
            sources["APPX_BIN_DIR"] = "environment"
            bin_dir = _absolute("APPX_BIN_DIR", env["APPX_BIN_DIR"])
        else:
            sources["APPX_BIN_DIR"] = "default"
            bin_dir = home_dir / ".local" / "bin"
        default_python = env.get("APPX_DEFAULT_PYTHON") or None
        sources["APPX_DEFAULT_PYTHON"] = "environment" if default_python else "default"
        if " " in str(home):
            raise EnvironmentSetupError(
                f"APPX_HOME contains a space: {home}",
                "script shebangs cannot hold a space; choose a path without one",
            )
        return cls(home, bin_dir, man_dir, cache_dir, default_python, sources)


def _absolute(var: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise EnvironmentSetupError(
            f"{var} must be an absolute path, not {value!r}", f"set {var} to a full path"
        )
    return path
