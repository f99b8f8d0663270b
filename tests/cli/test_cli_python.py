"""`--python` end to end: another pyenv interpreter, an old target Python, bad requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appx_checks import current_generation, output_of, receipt_of
from factories import Env, IndexServer, RunAppx

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def pyenv_python(minor: str) -> Path:
    found = sorted((PYENV_ROOT / "versions").glob(f"{minor}.*/bin/python{minor}"))
    if not found:
        pytest.skip(f"no pyenv-installed Python {minor} on this machine")
    return found[-1]


def test_python_version_is_found_in_pyenv_even_behind_a_failing_shim(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = pyenv_python("3.12")
    shims = appx_env.tmp / "shims"
    shims.mkdir()
    probed = appx_env.tmp / "shim-was-run"
    shim = shims / "python3.12"  # like pyenv's shim of a version that is not selected
    shim.write_text(f"#!/bin/sh\ntouch {probed}\necho 'pyenv: not selected' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(shims), os.environ["PATH"]]))
    result = run_appx("install", "--python", "3.12", "cowsay-lite")
    assert result.code == 0, result
    assert probed.exists(), "the failing shim came first on PATH and was tried"
    receipt = receipt_of(appx_env, "cowsay-lite")
    assert receipt["python"]["requested"] == "3.12"
    assert receipt["python"]["executable"] == str(expected)
    assert receipt["python"]["version"].startswith("3.12.")
    assert "python3.12" in os.readlink(
        current_generation(appx_env, "cowsay-lite") / "bin" / "python"
    )
    listed = run_appx("list").stdout
    assert "(Python 3.12." in listed
    again = run_appx("install", "cowsay-lite")  # no --python: the default differs, unasked
    assert again.code == 0, again
    assert "installed with Python" not in again.stdout + again.stderr


def test_old_target_python_gets_a_pip_that_supports_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, pip_backend: str
) -> None:
    python39 = pyenv_python("3.9")
    result = run_appx("install", "--python", str(python39), "cowsay-lite")
    assert result.code == 0, result
    receipt = receipt_of(appx_env, "cowsay-lite")
    assert receipt["python"]["version"].startswith("3.9.")
    shared = {p.name for p in (appx_env.appx_home / "shared").iterdir()}
    assert f"pip-{receipt['backend_version']}" in shared
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"


def test_default_python_comes_from_the_environment(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = pyenv_python("3.13")
    monkeypatch.setenv("APPX_DEFAULT_PYTHON", "3.13")
    assert run_appx("install", "cowsay-lite").code == 0
    assert receipt_of(appx_env, "cowsay-lite")["python"]["executable"] == str(expected)


def test_python_that_cannot_be_found(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("install", "--python", "3.99", "cowsay-lite")
    assert result.code == 7, result
    assert "3.99" in result.stderr
    assert "tried" in result.stderr
    assert not (appx_env.appx_home / "venvs").exists()


def test_python_too_old_for_the_package_fails_cleanly(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "future-python")
    assert result.code == 6, result
    assert "log:" in result.stderr
    assert not any((appx_env.appx_home / "venvs").iterdir())
