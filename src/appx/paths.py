"""Where appx keeps things: one frozen value built from the environment."""

from __future__ import annotations

import itertools
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from appx.errors import EnvironmentSetupError

if TYPE_CHECKING:
    from appx.store import Store

# A log's name is its label, a time stamp and the pid: the label is cut to keep it a valid name.
_MAX_LOG_LABEL = 120

ENV_VARS = ("APPX_HOME", "APPX_BIN_DIR", "APPX_MAN_DIR", "APPX_CACHE_DIR", "APPX_DEFAULT_PYTHON")
# The directories appx keeps under APPX_HOME (one property each below).
HOME_SUBDIRS = ("venvs", "shared", "locks", "displaced", "logs", "tmp")


@dataclass(frozen=True)
class AppxPaths:
    """Every directory appx uses, and where each value came from."""

    # The directories under home are cached properties: links are classified by their text
    # against venvs/, once per link in a listing, and a Path join each time adds up.

    home: Path
    bin_dir: Path
    man_dir: Path
    cache_dir: Path
    default_python: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @cached_property
    def venvs(self) -> Path:
        return self.home / "venvs"

    @cached_property
    def shared(self) -> Path:
        return self.home / "shared"

    @cached_property
    def locks(self) -> Path:
        return self.home / "locks"

    @cached_property
    def displaced(self) -> Path:
        return self.home / "displaced"

    @cached_property
    def logs(self) -> Path:
        return self.home / "logs"

    @cached_property
    def tmp(self) -> Path:
        return self.home / "tmp"

    @property
    def apps(self) -> Store:
        """The store of installed apps: their generations in venvs/, scratch in tmp/."""
        from appx.store import Store  # the store starts processes: not on every import

        return Store(self.venvs, self.tmp)

    @property
    def runs(self) -> Store:
        """The store of `appx run` envs: one unit per key in the cache's run/, its own scratch."""
        from appx.store import Store

        return Store(self.cache_dir / "run", self.cache_dir / "tmp")

    def new_log(self, label: str) -> Path:
        """A fresh log file (0600) for one operation's installer output, never one that exists
        (several apps of one command may have the same label in the same second)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        stem = f"{label[:_MAX_LOG_LABEL]}-{stamp}-{os.getpid()}"
        for number in itertools.count(1):
            path = self.logs / (f"{stem}.log" if number == 1 else f"{stem}-{number}.log")
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            return path
        raise AssertionError("unreachable")  # pragma: no cover -- count() never ends

    def pin_path(self, app: str) -> Path:
        """The file whose presence pins an app (upgrade-all skips it, upgrade refuses it)."""
        return self.app_dir(app) / "pinned"

    def app_dir(self, app: str) -> Path:
        return self.venvs / app

    def check_usable(self, *, write: bool) -> None:
        """Raise EnvironmentSetupError naming the first of appx's directories it cannot use.

        Reads only (a few stats): a command calls this before it creates or starts
        anything, so an unusable directory is one clear error (exit 11) and never a
        half-done change. ``write`` also requires that appx can create entries there.
        """
        for label, path in (
            ("APPX_HOME", self.home),
            ("APPX_BIN_DIR", self.bin_dir),
            ("APPX_MAN_DIR", self.man_dir),
        ):
            _check_directory(label, path, write=write)
        for name in HOME_SUBDIRS:
            _check_directory(f"APPX_HOME/{name}", self.home / name, write=write, create=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppxPaths:
        """Read APPX_* variables, falling back to XDG base directories (nothing is created).

        The XDG layout is used on every POSIX system, macOS included, because
        script shebangs cannot hold the space of "Application Support".
        """
        env = os.environ if environ is None else environ
        sources: dict[str, str] = {}

        def pick(var: str, default: Callable[[], Path], how: str) -> Path:
            if env.get(var):
                sources[var] = "environment"
                return _absolute(var, env[var])
            sources[var] = how
            return default()

        home = pick("APPX_HOME", lambda: _xdg_data() / "appx", "default: $XDG_DATA_HOME/appx")
        man_dir = pick("APPX_MAN_DIR", lambda: _xdg_data() / "man", "default: $XDG_DATA_HOME/man")
        cache_dir = pick(
            "APPX_CACHE_DIR", lambda: _xdg_cache() / "appx", "default: $XDG_CACHE_HOME/appx"
        )
        bin_dir = pick(
            "APPX_BIN_DIR", lambda: Path.home() / ".local" / "bin", "default: ~/.local/bin"
        )
        default_python = env.get("APPX_DEFAULT_PYTHON") or None
        sources["APPX_DEFAULT_PYTHON"] = "environment" if default_python else "default"
        if any(char.isspace() for char in str(home)):
            raise EnvironmentSetupError(
                f"APPX_HOME contains whitespace: {str(home)!r}",
                "script shebangs cannot hold a space, tab or newline; choose another path",
            )
        return cls(home, bin_dir, man_dir, cache_dir, default_python, sources)


# platformdirs' XDG rules (XDG_DATA_HOME, XDG_CACHE_HOME, ~), imported only for a default:
# its import costs a read-only command more than its work where APPX_* set every path.


def _xdg_data() -> Path:
    from platformdirs.unix import Unix

    return Path(Unix().user_data_dir)


def _xdg_cache() -> Path:
    from platformdirs.unix import Unix

    return Path(Unix().user_cache_dir)


def _check_directory(label: str, path: Path, *, write: bool, create: bool = True) -> None:
    """Refuse ``path`` unless it is (or, if ``create``, can become) a directory appx can use."""
    existing = path
    while _lstat(label, existing) is None:
        if not create or existing.parent == existing:
            return
        existing = existing.parent
    what = label if existing == path else f"{label} ({path}) cannot be created:"
    target = _stat(label, existing)
    if target is None:
        raise EnvironmentSetupError(
            f"{what} {existing} is a dangling symlink (to {os.readlink(existing)})",
            f"create the directory it points to, remove the link, or set {_variable(label)}",
        )
    if not stat.S_ISDIR(target.st_mode):
        raise EnvironmentSetupError(
            f"{what} {existing} is not a directory",
            f"move the file away, or set {_variable(label)} to a directory",
        )
    if not os.access(existing, os.R_OK | os.X_OK):
        raise EnvironmentSetupError(
            f"{what} {existing} cannot be read",
            f"fix its permissions, or set {_variable(label)} to a directory you own",
        )
    if write and not os.access(existing, os.W_OK):
        raise EnvironmentSetupError(
            f"{what} {existing} is read-only",
            f"make it writable, or set {_variable(label)} to a directory you own",
        )


def _lstat(label: str, path: Path) -> os.stat_result | None:
    """What is at ``path`` itself (a symlink too), or None; an unreadable parent is an error."""
    return _stat(label, path, follow=False)


def _stat(label: str, path: Path, *, follow: bool = True) -> os.stat_result | None:
    try:
        return os.stat(path, follow_symlinks=follow)
    except (FileNotFoundError, NotADirectoryError):
        return None  # the caller walks up to the parent that is missing or is a file
    except OSError as error:  # EACCES, ELOOP, ...
        raise EnvironmentSetupError(
            f"{label}: cannot look at {path}: {error.strerror}",
            f"fix it or its parent directories, or set {_variable(label)}",
        ) from None


def _variable(label: str) -> str:
    return label.split("/", 1)[0]


def _absolute(var: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise EnvironmentSetupError(
            f"{var} must be an absolute path, not {value!r}", f"set {var} to a full path"
        )
    return path
