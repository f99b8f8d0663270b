"""`appx doctor` end to end: real installs broken the ways the world breaks them, then mended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appx_checks import current_generation, output_of, receipt_of
from factories import Env, IndexServer, ProcResult, RunAppx

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def problems_of(result: ProcResult) -> list[dict[str, Any]]:
    document = json.loads(result.stdout)
    assert document["schema"] == 1
    problems: list[dict[str, Any]] = document["problems"]
    assert document["fixed"] + document["unfixed"] == len(problems)
    return problems


def test_a_broken_home_is_reported_then_mended_and_a_users_file_is_never_touched(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite", "tool-with-man").code == 0
    healthy = run_appx("doctor")
    assert (healthy.code, healthy.stdout.strip()) == (0, "no problems found"), healthy

    home, bin_dir = appx_env.appx_home, appx_env.bin_dir
    receipt = receipt_of(appx_env, "cowsay-lite")
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(  # the app's own distribution uninstalled behind appx's back
        [uv, "pip", "uninstall", "--python", receipt["venv"]["python"], "cowsay-lite"],
        check=True,
        capture_output=True,
    )
    (bin_dir / "tool-with-man").unlink()
    mine = b"#!/bin/sh\necho mine\n"
    (bin_dir / "tool-with-man").write_bytes(mine)  # the user's own file where a link was
    (bin_dir / "gone").symlink_to(f"{home}/venvs/gone/current/bin/gone")  # an orphan
    (home / "venvs" / "cowsay-lite" / "g99-0000dead").mkdir()  # a garbage generation
    (home / "tmp").mkdir(exist_ok=True)
    (home / "tmp" / "junk").write_text("x")
    (home / "displaced").mkdir(exist_ok=True)
    (home / "displaced" / "index.jsonl").write_text("not json\n")
    (appx_env.cache_dir / "run" / ("f" * 16) / "g1-00000000").mkdir(parents=True)

    found = run_appx("doctor", "--json")
    assert found.code == 13, found
    kinds = {p["kind"] for p in problems_of(found)}
    assert kinds == {
        "distributions-differ",
        "link-dangling",
        "link-blocked",
        "orphan-link",
        "garbage-generation",
        "tmp-leftover",
        "displaced-index",
        "run-env",
    }
    assert all(p["fixed"] is None for p in problems_of(found))
    assert "appx doctor" in run_appx("list").stdout

    fixed = run_appx("doctor", "--fix")
    assert fixed.code == 13, fixed  # the user's file stays: that one is not appx's to fix
    assert "not fixed" in fixed.stdout
    assert "appx install --force tool-with-man" in fixed.stdout
    assert (bin_dir / "tool-with-man").read_bytes() == mine
    assert output_of(bin_dir / "cowsay-lite") == "cowsay-lite 2.0"  # the same version, rebuilt

    (bin_dir / "tool-with-man").unlink()  # the user moves their file away
    assert run_appx("doctor", "--fix").code == 0
    again = run_appx("doctor", "--json")
    assert (again.code, problems_of(again)) == (0, []), again


def test_an_unreadable_receipt_is_reported_and_install_force_mends_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    (current_generation(appx_env, "cowsay-lite") / "appx-receipt.json").write_text('{"app": ')
    found = run_appx("doctor", "cowsay-lite", "--fix")
    assert found.code == 13, found
    assert "receipt corrupt" in found.stdout
    assert "appx install --force" in found.stdout
    assert run_appx("install", "--force", "cowsay-lite").code == 0
    assert run_appx("doctor").code == 0


def pyenv_install(minor: str) -> Path:
    found = sorted((PYENV_ROOT / "versions").glob(f"{minor}.*"))
    if not found:
        pytest.skip(f"no pyenv-installed Python {minor} on this machine")
    return found[-1]


def test_a_removed_python_is_found_again_at_its_version_or_named_when_it_is_not(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pyenv_install("3.10")
    first, second = appx_env.tmp / "pyenv-a", appx_env.tmp / "pyenv-b"
    (first / "versions").mkdir(parents=True)
    (first / "versions" / real.name).symlink_to(real)  # a Python that can be taken away
    python = first / "versions" / real.name / "bin" / "python3.10"
    assert run_appx("install", "--python", str(python), "cowsay-lite").code == 0
    generation = current_generation(appx_env, "cowsay-lite")
    # no python3.10 anywhere appx looks: PATH without pyenv's shims, an empty pyenv
    path = [p for p in os.environ["PATH"].split(os.pathsep) if "pyenv" not in p]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("PYENV_ROOT", str(second))
    (first / "versions" / real.name).unlink()  # `pyenv uninstall`

    missing = run_appx("doctor", "--fix")
    assert missing.code == 13, missing
    assert "Python 3.10 is needed to rebuild cowsay-lite: install it" in missing.stdout
    assert current_generation(appx_env, "cowsay-lite") == generation  # nothing else lost
    assert "cowsay-lite" in run_appx("list", "--short").stdout

    (second / "versions").mkdir(parents=True)
    (second / "versions" / real.name).symlink_to(real)  # installed again, elsewhere
    found = run_appx("doctor")
    assert found.code == 13, found
    again = second / "versions" / real.name / "bin" / "python3.10"
    assert (
        f"would rebuild cowsay-lite at the recorded versions on Python 3.10 (found: {again})"
        in (found.stdout)
    )
    fixed = run_appx("doctor", "--fix")
    assert fixed.code == 0, fixed
    receipt = receipt_of(appx_env, "cowsay-lite")
    assert receipt["python"]["executable"] == str(again)
    assert receipt["python"]["version"].startswith("3.10.")
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"
    assert run_appx("doctor").code == 0
