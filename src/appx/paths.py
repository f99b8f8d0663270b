"""Where appx keeps things: one frozen value built from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs.unix import Unix

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
        """Read APPX_* variables, falling back to XDG base directories (nothing is created).

        The XDG layout is used on every POSIX system, macOS included, because
        script shebangs cannot hold the space of "Application Support".
        """
        env = os.environ if environ is None else environ
        xdg = Unix()  # platformdirs' XDG rules (XDG_DATA_HOME, XDG_CACHE_HOME, ~)
        sources: dict[str, str] = {}

        def pick(var: str, default: Path, how: str) -> Path:
            if env.get(var):
                sources[var] = "environment"
                return _absolute(var, env[var])
            sources[var] = how
            return default

        data = Path(xdg.user_data_dir)
        home = pick("APPX_HOME", data / "appx", "default: $XDG_DATA_HOME/appx")
        man_dir = pick("APPX_MAN_DIR", data / "man", "default: $XDG_DATA_HOME/man")
        cache_dir = pick(
            "APPX_CACHE_DIR", Path(xdg.user_cache_dir) / "appx", "default: $XDG_CACHE_HOME/appx"
        )
        bin_dir = pick("APPX_BIN_DIR", Path.home() / ".local" / "bin", "default: ~/.local/bin")
        default_python = env.get("APPX_DEFAULT_PYTHON") or None
        sources["APPX_DEFAULT_PYTHON"] = "environment" if default_python else "default"
        if any(char.isspace() for char in str(home)):
            raise EnvironmentSetupError(
                f"APPX_HOME contains whitespace: {str(home)!r}",
                "script shebangs cannot hold a space, tab or newline; choose another path",
            )
        return cls(home, bin_dir, man_dir, cache_dir, default_python, sources)


def _absolute(var: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise EnvironmentSetupError(
            f"{var} must be an absolute path, not {value!r}", f"set {var} to a full path"
        )
    return path
