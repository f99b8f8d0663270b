"""What a crash may and may not leave on disk: checks shared by the crash and fault tests."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

import factories
from factories import Env, ProcResult

KILLED = -signal.SIGKILL
GENERATION_RE = re.compile(r"g\d+-[0-9a-f]{8}")
# What `python -m venv --without-pip` and appx put in a generation besides installed files.
VENV_SKELETON_RE = re.compile(
    # pip's venv module and `uv venv` (which adds more activators and marks the dir as a cache)
    r"pyvenv\.cfg|appx-receipt\.json|lib64|\.gitignore|\.lock|CACHEDIR\.TAG"
    r"|bin/(python[0-9.]*|activate(\.[a-z0-9]+)?|Activate\.ps1|activate_this\.py|(deactivate|pydoc)\.bat)"
)


def list_json(run_appx: factories.RunAppx) -> dict[str, Any]:
    result = run_appx("list", "--json")
    assert result.code == 0, result
    listing: dict[str, Any] = json.loads(result.stdout)
    return listing


def listed(listing: dict[str, Any], app: str) -> dict[str, Any] | None:
    entries = [entry for entry in listing["apps"] if entry["app"] == app]
    assert len(entries) <= 1, listing
    return entries[0] if entries else None


def run_shim(env: Env, command: str) -> str:
    result = factories.run([env.bin_dir / command], timeout=60)
    assert result.code == 0, result
    return result.stdout.strip()


def assert_installed_at(env: Env, listing: dict[str, Any], app: str, version: str) -> None:
    """Listed whole at ``version``, no problem anywhere, and its shim runs that version."""
    entry = listed(listing, app)
    assert entry is not None, listing
    assert entry["version"] == version, entry
    assert entry["problems"] == [], entry
    assert listing["orphan_links"] == [], listing
    assert [c["state"] for c in entry["commands"]] == ["ok"], entry
    assert run_shim(env, app) == f"{app} {version}"


def assert_absent(env: Env, listing: dict[str, Any], app: str, *, orphan_shim: bool) -> None:
    """Not listed; its shim is either not there, or there and reported as an orphan."""
    assert listed(listing, app) is None, listing
    shim = env.bin_dir / app
    if orphan_shim:
        assert shim.is_symlink(), "the crash was expected to leave the new link behind"
        assert not shim.exists(), "a link of an app that is not installed must dangle"
        assert [str(shim) in orphan for orphan in listing["orphan_links"]] == [True], listing
    else:
        assert not shim.is_symlink(), f"{shim} exists though {app} was never committed"
        assert listing["orphan_links"] == [], listing


def files_under(root: Path) -> set[Path]:
    """Every file and symlink below ``root`` (symlinks to directories are not followed)."""
    found: set[Path] = set()
    for directory, dirnames, filenames in os.walk(root):
        found.update(Path(directory, name) for name in filenames)
        found.update(Path(directory, d) for d in dirnames if Path(directory, d).is_symlink())
    return found


def assert_holds_exactly_its_records(generation: Path) -> None:
    """The generation holds what its RECORD files list, plus the bare venv, and nothing else."""
    receipt = json.loads((generation / "appx-receipt.json").read_text(encoding="utf-8"))
    purelib = Path(receipt["venv"]["purelib"])
    assert purelib.is_relative_to(generation), receipt["venv"]
    recorded: set[Path] = set()
    for record in purelib.glob("*.dist-info/RECORD"):
        with record.open(encoding="utf-8", newline="") as rows:
            recorded.update(Path(os.path.normpath(purelib / row[0])) for row in csv.reader(rows))
    assert recorded, f"no RECORD under {purelib}"
    assert sorted(p for p in recorded if not p.is_relative_to(generation)) == []
    assert sorted(p for p in recorded if not os.path.lexists(p)) == [], "RECORD lists lost files"
    unlisted = sorted(
        path.relative_to(generation).as_posix()
        for path in files_under(generation) - recorded
        if not compiled_from_recorded(path, recorded)
        and (
            path.is_relative_to(purelib)
            or not VENV_SKELETON_RE.fullmatch(path.relative_to(generation).as_posix())
        )
    )
    assert unlisted == [], f"files that no RECORD lists (left by an interrupted build?): {unlisted}"


def compiled_from_recorded(path: Path, recorded: set[Path]) -> bool:
    """A `__pycache__` file of a recorded module: uv compiles bytecode without recording it."""
    if path.parent.name != "__pycache__" or path.suffix != ".pyc":
        return False
    module = path.name.split(".")[0]
    return path.parent.parent / f"{module}.py" in recorded


def readlink_or_empty(path: Path) -> str:
    try:
        return os.readlink(path)
    except FileNotFoundError:
        return ""


def assert_app_dir_whole(env: Env, app: str) -> None:
    """Only `current`, maybe `previous`, and the generations they name; that one is exact."""
    app_dir = env.appx_home / "venvs" / app
    pointers = {
        p: target for p in ("current", "previous") if (target := readlink_or_empty(app_dir / p))
    }
    assert "current" in pointers
    kept = set(os.listdir(app_dir)) - {"pinned"}  # the pin: a file, not a generation
    assert sorted(kept) == sorted({*pointers, *pointers.values()})
    for target in pointers.values():
        assert GENERATION_RE.fullmatch(target), pointers
        assert (app_dir / target / "appx-receipt.json").is_file()
    assert_holds_exactly_its_records(app_dir / pointers["current"])


def interrupted_at(
    point: str,
    signals: str,
    run_appx: factories.RunAppx,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
) -> ProcResult:
    """Run appx, sending itself ``signals`` (``INT``, ``TERM``, ``INT,INT``) at ``point``."""
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        patch.setenv("APPX_FAULT_SIGNAL", signals)
        return run_appx(*args)
