"""The benchmark's columns: each tool, how it is configured, and the commands of each scenario.

Every column gets a download cache of its own (kept for the whole run) and a fresh home
for every measured round; both lie under the scratch dir, so uv can hardlink from its
cache. Index settings are the same for every tool: PyPI, and nothing from the user's pip
or uv configuration (see :func:`neutral_env`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

Kind = Literal["appx", "uv", "pipx"]

APPS = (
    "black",
    "pycowsay",
    "httpie",
    "isort",
    "flake8",
    "pyflakes",
    "yapf",
    "pygments",
    "autopep8",
    "cookiecutter",
)
ONE_APP = "black"
RUN_APP = "pycowsay"
RUN_ARGS = ("hi",)

# pip settings that say how to reach the network, not which index to use: kept.
KEPT_PIP = frozenset(
    {
        "PIP_CERT",
        "PIP_CLIENT_CERT",
        "PIP_PROXY",
        "PIP_TIMEOUT",
        "PIP_DEFAULT_TIMEOUT",
        "PIP_RETRIES",
        "PIP_DISABLE_PIP_VERSION_CHECK",
    }
)
# Other variables that would make one tool behave unlike the others, or unlike a usual shell.
DROPPED = frozenset({"VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME"})


@dataclass(frozen=True)
class Column:
    """One tool in one configuration: a column of the results table."""

    key: str
    label: str
    kind: Kind
    settings: tuple[tuple[str, str], ...]  # variables that select the configuration
    backend: str  # what the tool should record for an installed app ("" = not checked)


COLUMNS = (
    Column("appx-uv", "appx (uv)", "appx", (("APPX_BACKEND", "uv"),), "uv"),
    Column("appx-pip", "appx (pip)", "appx", (("APPX_BACKEND", "pip"),), "pip"),
    Column("uv", "uv tool", "uv", (), ""),
    Column("uv-compiled", "uv tool, bytecode", "uv", (("UV_COMPILE_BYTECODE", "1"),), ""),
    Column("pipx-uv", "pipx (uv)", "pipx", (("PIPX_DEFAULT_BACKEND", "uv"),), "uv"),
    Column("pipx-pip", "pipx (pip)", "pipx", (("PIPX_DEFAULT_BACKEND", "pip"),), "pip"),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)


@dataclass(frozen=True)
class Executables:
    """The tools under test."""

    appx: Path
    uv: Path
    uvx: Path
    pipx: Path
    python: Path  # the interpreter every tool builds its apps with

    def of(self, kind: Kind) -> Path:
        return {"appx": self.appx, "uv": self.uv, "pipx": self.pipx}[kind]


def neutral_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with no index settings of the user's, so every tool sees PyPI alone.

    uv reads no pip config, so pip's must go too for a like-for-like comparison:
    ``PIP_CONFIG_FILE=/dev/null`` (pip's own switch, which appx honours) and no ``PIP_*``
    variable but the network ones; no ``UV_*`` and ``UV_NO_CONFIG=1``; no ``PIPX_*`` or
    ``APPX_*``. ``PYTHONDONTWRITEBYTECODE`` goes too: a usual shell does not set it.
    """
    env = {
        key: value
        for key, value in base.items()
        if key not in DROPPED
        and not (key.startswith("PIP_") and key not in KEPT_PIP)
        and not key.startswith(("UV_", "PIPX_", "APPX_"))
    }
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1")
    return env


def cache_dir(scratch: Path, column: Column) -> Path:
    """The column's download cache: pip's and uv's caches, kept for the whole run."""
    return scratch / column.key / "cache"


def column_env(
    base: Mapping[str, str], column: Column, home: Path, cache: Path, python: Path
) -> dict[str, str]:
    """The environment of one column's commands: a home under ``home``, the given cache.

    Everything a tool writes for its apps (environments, links, man pages, appx's and
    pipx's run caches) goes under ``home``; pip's and uv's downloads under ``cache``.
    All tools build with ``python``; uv may not download an interpreter.
    """
    env = neutral_env(base)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(cache),
        PIP_CACHE_DIR=str(cache / "pip"),
        UV_CACHE_DIR=str(cache / "uv"),
    )
    if column.kind == "appx":
        env.update(
            APPX_HOME=str(home / "appx"),
            APPX_BIN_DIR=str(home / "bin"),
            APPX_MAN_DIR=str(home / "man"),
            APPX_CACHE_DIR=str(home / "appx-run-cache"),
            APPX_DEFAULT_PYTHON=str(python),
        )
    elif column.kind == "pipx":
        env.update(
            PIPX_HOME=str(home / "pipx"),
            PIPX_BIN_DIR=str(home / "bin"),
            PIPX_MAN_DIR=str(home / "man"),
            PIPX_DEFAULT_PYTHON=str(python),
        )
    else:
        env.update(UV_TOOL_DIR=str(home / "tools"), UV_TOOL_BIN_DIR=str(home / "bin"))
        env.update(UV_PYTHON=str(python), UV_PYTHON_DOWNLOADS="never")
    env.update(column.settings)
    return env


def version_argv(column: Column, exe: Executables) -> list[str]:
    return [str(exe.of(column.kind)), "--version"]


def install_argvs(column: Column, exe: Executables, apps: tuple[str, ...]) -> list[list[str]]:
    """The commands that install ``apps``: one for appx, one per app for the others."""
    tool = str(exe.of(column.kind))
    if column.kind == "appx":
        return [[tool, "install", *apps]]
    if column.kind == "pipx":
        return [[tool, "install", app] for app in apps]
    return [[tool, "tool", "install", app] for app in apps]


def uninstall_argv(column: Column, exe: Executables, app: str) -> list[str]:
    tool = str(exe.of(column.kind))
    return [tool, "tool", "uninstall", app] if column.kind == "uv" else [tool, "uninstall", app]


def list_argv(column: Column, exe: Executables) -> list[str]:
    tool = str(exe.of(column.kind))
    return [tool, "tool", "list"] if column.kind == "uv" else [tool, "list"]


def upgrade_all_argv(column: Column, exe: Executables) -> list[str]:
    tool = str(exe.of(column.kind))
    return [tool, "tool", "upgrade", "--all"] if column.kind == "uv" else [tool, "upgrade-all"]


def run_argv(column: Column, exe: Executables) -> list[str]:
    if column.kind == "uv":
        return [str(exe.uvx), RUN_APP, *RUN_ARGS]
    return [str(exe.of(column.kind)), "run", RUN_APP, *RUN_ARGS]


def link_path(home: Path, command: str) -> Path:
    """The command's link in the bin dir, as a user's shell finds it."""
    return home / "bin" / command


def venv_script(column: Column, home: Path, app: str, command: str) -> Path:
    """The command's own script inside the app's environment."""
    if column.kind == "appx":
        return home / "appx" / "venvs" / app / "current" / "bin" / command
    if column.kind == "pipx":
        return home / "pipx" / "venvs" / app / "bin" / command
    return home / "tools" / app / "bin" / command


def list_json_argv(column: Column, exe: Executables) -> list[str] | None:
    """A listing that names each app's backend, for the tools that record one."""
    if column.kind == "uv":
        return None
    return [str(exe.of(column.kind)), "list", "--json"]


def recorded_backends(kind: Kind, listing: str) -> dict[str, str]:
    """App name -> the backend the tool recorded, from ``list --json`` output."""
    doc = json.loads(listing)
    if kind == "appx":
        return {app["app"]: str(app.get("backend")) for app in doc["apps"]}
    return {
        name: str(venv["metadata"].get("backend", "pip")) for name, venv in doc["venvs"].items()
    }


def uv_run_environments(cache: Path) -> list[Path]:
    """uvx's cached run environments (in uv's cache, beside the downloads)."""
    return sorted((cache / "uv").glob("environments-v*"))
