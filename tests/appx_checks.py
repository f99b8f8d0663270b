"""Reading what appx left on disk, for end-to-end assertions."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from factories import Env, ProcResult, RunAppx


def current_generation(env: Env, app: str) -> Path:
    return (env.appx_home / "venvs" / app / "current").resolve()


def receipt_of(env: Env, app: str) -> dict[str, Any]:
    data = json.loads((current_generation(env, app) / "appx-receipt.json").read_text())
    assert isinstance(data, dict)
    return data


def json_of(result: ProcResult) -> dict[str, Any]:
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def purelib_dists(env: Env, app: str) -> set[str]:
    """Distribution names installed in an app's current generation (from dist-info dirs)."""
    purelib = Path(receipt_of(env, app)["venv"]["purelib"])
    return {p.name.split("-")[0].lower().replace("_", "-") for p in purelib.glob("*.dist-info")}


def dir_entries(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()} if path.exists() else set()


def eventually_empty(path: Path, *, within: float = 120.0) -> set[str]:
    """What is left in ``path`` once it is empty (nothing), or after ``within`` seconds.

    For work appx leaves to a background process, such as deleting an uninstalled app's
    files: it ends when it ends; ``within`` only keeps a failing test from hanging.
    """
    deadline = time.monotonic() + within
    while (entries := dir_entries(path)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return entries


def output_of(command: Path, *args: str) -> str:
    """Run an exposed command (a shim) and return what it printed."""
    done = subprocess.run([command, *args], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def healthy_versions(run_appx: RunAppx) -> dict[str, str]:
    """app -> version from `appx list --json`, asserting that no app and no link has a problem."""
    listing = json.loads(run_appx("list", "--json").stdout)
    assert listing["orphan_links"] == [], listing
    for entry in listing["apps"]:
        assert entry["problems"] == [], entry
    return {entry["app"]: entry["version"] for entry in listing["apps"]}
