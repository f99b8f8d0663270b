"""Installer backends behind one small interface (see base.Backend), and which one to use.

Selection, first that applies: ``--backend``, then ``APPX_BACKEND``, then the backend an
app's receipt records (an app keeps its backend until ``reinstall --backend``), then
automatic: uv when it is found and runs, else pip. An app whose ``--pip-args`` uv cannot
honour is built with pip, and the user is told why (`settle_backend`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appx.backends.base import Backend
    from appx.backends.uv_locate import FoundUv
    from appx.indexes import IndexOptions
    from appx.paths import AppxPaths

BACKENDS = ("pip", "uv")
VersionCheck = Callable[[Path], "str | None"]
Locate = Callable[[Mapping[str, str]], "FoundUv | None"]


@dataclass(frozen=True)
class BackendChoice:
    """The backend to use and why ("--backend uv", "automatic: uv not found", ...)."""

    name: str
    reason: str


def choose_backend(
    requested: str | None,
    environ: Mapping[str, str],
    recorded: str | None = None,
    *,
    check: VersionCheck | None = None,
    locate: Locate | None = None,
) -> BackendChoice:
    """Which backend builds: the flag, APPX_BACKEND, the receipt's, else uv if it runs.

    ``locate`` finds uv (default: `uv_locate.find_uv`); ``check`` tells its version, or
    None when it does not run (default: run ``uv --version``, once per process). An
    unknown name is a usage error (exit 2).
    """
    if requested:
        return BackendChoice(_valid(requested, "--backend"), f"--backend {requested}")
    wanted = environ.get("APPX_BACKEND", "").strip()
    if wanted:
        return BackendChoice(_valid(wanted, "APPX_BACKEND"), f"APPX_BACKEND={wanted}")
    if recorded == "pip":
        return BackendChoice("pip", "recorded in the app's receipt")
    return _uv_if_it_runs(environ, check, locate, recorded=recorded == "uv")


def _uv_if_it_runs(
    environ: Mapping[str, str],
    check: VersionCheck | None,
    locate: Locate | None,
    *,
    recorded: bool,
) -> BackendChoice:
    from appx.backends.uv_locate import find_uv, uv_version

    found = (locate or find_uv)(environ)
    runs = found is not None and (check or uv_version)(found.path) is not None
    if recorded:
        if runs:
            return BackendChoice("uv", "recorded in the app's receipt")
        return BackendChoice("pip", f"the app's receipt records uv, but {_missing(found)}")
    if found is None or not runs:
        return BackendChoice("pip", f"automatic: {_missing(found)}")
    return BackendChoice("uv", f"automatic: found in {found.source}")


def _missing(found: FoundUv | None) -> str:
    return "uv is not found" if found is None else f"uv at {found.path} does not run"


def _valid(given: str, where: str) -> str:
    name = given.strip().lower()  # `UV` and `Pip` name them too
    if name not in BACKENDS:
        from appx.errors import UsageError

        raise UsageError(
            f"{where}: unknown installer backend {given!r}",
            f"choose one of: {', '.join(BACKENDS)}",
        )
    return name


def settle_backend(choice: BackendChoice, index: IndexOptions) -> BackendChoice:
    """The choice, or pip when uv is chosen but cannot honour the --pip-args (the reason
    says which argument and why)."""
    if choice.name != "uv" or not index.pip_args:
        return choice
    from appx.backends.uv_args import Untranslatable, translate_pip_args

    translated = translate_pip_args(index.pip_args)
    if isinstance(translated, Untranslatable):
        return BackendChoice("pip", f"{translated.describe()}; building with pip")
    return choice


def open_backend(
    paths: AppxPaths,
    choice: BackendChoice,
    index: IndexOptions,
    note: Callable[[str], None],
    environ: Mapping[str, str] | None = None,
) -> Backend:
    """The backend a choice names, settled for the index options; a change is noted."""
    settled = settle_backend(choice, index)
    if settled != choice:
        note(settled.reason)
    return get_backend(settled.name, paths, environ)


def get_backend(name: str, paths: AppxPaths, environ: Mapping[str, str] | None = None) -> Backend:
    """The backend called ``name``; uv asked for but not found or not running is an error."""
    if name == "pip":
        from appx.backends.pip import PipBackend

        return PipBackend(paths)
    if name == "uv":
        from appx.backends.uv import UvBackend
        from appx.backends.uv_locate import find_uv, uv_version

        found = find_uv(os.environ if environ is None else environ)
        version = uv_version(found.path) if found is not None else None
        if found is None or version is None:
            from appx.errors import EnvironmentSetupError

            raise EnvironmentSetupError(
                f"the uv backend was asked for, but {_missing(found)}",
                "install appx with uv: pip install 'appx[uv]' (or put uv on PATH),"
                " or choose --backend pip",
            )
        return UvBackend(paths, found.path, version)
    _valid(name, "backend")
    raise AssertionError(name)  # pragma: no cover -- _valid refused it
