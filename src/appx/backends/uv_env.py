"""The environment uv runs in: the user's, less what would move or redirect an install,
with the user's pip index settings given to uv as uv's own variables."""

from __future__ import annotations

from collections.abc import Mapping

from appx.backends.pip_isolation import pip_environment
from appx.backends.uv_args import uv_settings_from_pip

# uv variables that would move or reshape an install, or choose another environment,
# configuration or interpreter than the one appx gives: never passed to uv.
DROPPED_UV_VARIABLES = frozenset(
    {
        "UV_PYTHON",
        "UV_SYSTEM_PYTHON",
        "UV_BREAK_SYSTEM_PACKAGES",
        "UV_TARGET",
        "UV_PREFIX",
        "UV_PROJECT",
        "UV_PROJECT_ENVIRONMENT",
        "UV_WORKING_DIR",
        "UV_WORKING_DIRECTORY",
        "UV_CONFIG_FILE",
        "UV_NO_CONFIG",
        "UV_NO_BUILD_ISOLATION",
        "UV_NO_BUILD_ISOLATION_PACKAGE",
        "UV_NO_INSTALLER_METADATA",  # appx needs REQUESTED and direct_url.json
        "UV_VENV_SEED",  # no pip in an app's venv
        "UV_VENV_CLEAR",
        "UV_COMPILE_BYTECODE",  # always compiled: the flag says so
        "UV_TOOL_DIR",
        "UV_TOOL_BIN_DIR",
        "UV_NO_PROGRESS",
    }
)


def uv_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a uv child: the user's, less what would redirect the install,
    with pip's index settings as uv's variables where the user set none of uv's own."""
    env = pip_environment(environ)  # pip's config files come as PIP_* variables too
    for key in DROPPED_UV_VARIABLES:
        env.pop(key, None)
    if env.get("UV_LINK_MODE", "").lower() == "symlink":  # links into a cache that may be cleaned
        del env["UV_LINK_MODE"]
    env.update(uv_settings_from_pip(_pip_settings(env), env))
    env["UV_NO_CONFIG"] = "1"
    env["UV_NO_PROGRESS"] = "1"
    return env


def _pip_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """pip's settings by pip's names: ``PIP_INDEX_URL`` -> ``index-url``."""
    return {
        key[4:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("PIP_") and value
    }
