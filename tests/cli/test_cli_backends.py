"""Both backends end to end: choosing one, switching an app, --pip-args for uv, bytecode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appx_checks import output_of, receipt_of
from factories import Env, IndexServer, RunAppx


def test_pip_args_both_installers_understand_are_honoured(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, backend: str
) -> None:
    result = run_appx("install", "--pip-args", "--no-deps -q", "app-with-dep")
    assert result.code == 0, result
    assert "cannot honour" not in result.stderr
    receipt = receipt_of(appx_env, "app-with-dep")
    assert receipt["backend"] == backend
    assert receipt["distributions"] == {"app-with-dep": "1.0"}  # no dep-lib: --no-deps held


def test_pip_args_uv_cannot_honour_build_the_app_with_pip_and_say_why(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, backend: str
) -> None:
    result = run_appx("install", "--pip-args", "--prefer-binary", "cowsay-lite")
    assert result.code == 0, result
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "pip"
    note = "uv cannot honour --pip-args '--prefer-binary': uv has no option that does the same"
    assert (note in result.stderr) == (backend == "uv")


@pytest.mark.usefixtures("backend")
def test_bytecode_is_compiled_whatever_pythondontwritebytecode_says(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert run_appx("install", "cowsay-lite").code == 0
    purelib = Path(receipt_of(appx_env, "cowsay-lite")["venv"]["purelib"])
    compiled = [p.name for p in (purelib / "cowsay_lite" / "__pycache__").glob("__init__*.pyc")]
    assert compiled, "the app's module has no bytecode"


def test_reinstall_backend_switches_the_app_and_later_changes_keep_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "--backend", "pip", "cowsay-lite==1.0").code == 0
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "pip"
    assert run_appx("upgrade", "cowsay-lite").code == 0  # uv is available: the receipt wins
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "pip"
    switched = run_appx("reinstall", "--backend", "uv", "cowsay-lite")
    assert switched.code == 0, switched
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "uv"
    assert run_appx("inject", "cowsay-lite", "dep-lib").code == 0
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "uv"
    assert run_appx("uninject", "cowsay-lite", "dep-lib").code == 0
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "uv"
    assert run_appx("rollback", "cowsay-lite").code == 0
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "uv"
    pip_list = run_appx("runpip", "cowsay-lite", "list")  # a uv venv has no pip: appx's runs
    assert pip_list.code == 0, pip_list
    assert "cowsay-lite" in pip_list.stdout
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"


def test_install_force_keeps_the_recorded_backend_unless_told_otherwise(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "--backend", "pip", "cowsay-lite").code == 0
    forced = run_appx("install", "--force", "cowsay-lite")  # uv is available: the receipt wins
    assert forced.code == 0, forced
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "pip"
    switched = run_appx("install", "--force", "--backend", "uv", "cowsay-lite")
    assert switched.code == 0, switched
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == "uv"


@pytest.mark.parametrize(
    ("args", "environ"),
    [(["install", "--backend", "conda", "x"], {}), (["install", "x"], {"APPX_BACKEND": "poetry"})],
)
def test_an_unknown_backend_is_a_usage_error_naming_the_choices(
    run_appx: RunAppx,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    environ: dict[str, str],
) -> None:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    result = run_appx(*args)
    assert result.code == 2, result
    assert "unknown installer backend" in result.stderr
    assert "choose one of: pip, uv" in result.stderr
    assert not (appx_env.appx_home / "venvs").exists() or not any(
        (appx_env.appx_home / "venvs").iterdir()
    )


def test_environment_says_which_backend_and_why(
    run_appx: RunAppx, monkeypatch: pytest.MonkeyPatch
) -> None:
    automatic = json.loads(run_appx("environment", "--json").stdout)
    assert automatic["backend"]["value"].startswith("uv ")
    assert automatic["backend"]["source"] == "automatic: found in appx's environment"
    assert automatic["uv"]["value"].endswith("/uv")
    monkeypatch.setenv("APPX_BACKEND", "pip")
    chosen = run_appx("environment").stdout
    assert "pip  (APPX_BACKEND=pip)" in chosen


def test_uv_settings_cannot_move_the_install(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = appx_env.tmp / "elsewhere"
    config = appx_env.tmp / "xdg-config" / "uv"
    config.mkdir(parents=True)
    (config / "uv.toml").write_text(f'[pip]\ntarget = "{elsewhere}"\nsystem = true\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(appx_env.tmp / "xdg-config"))
    monkeypatch.delenv("UV_NO_CONFIG")
    monkeypatch.setenv("UV_PYTHON", "/nonexistent/python")
    monkeypatch.setenv("UV_SYSTEM_PYTHON", "1")
    monkeypatch.setenv("UV_NO_INSTALLER_METADATA", "1")
    monkeypatch.setenv("UV_VENV_SEED", "1")
    monkeypatch.setenv("UV_LINK_MODE", "symlink")
    monkeypatch.setenv("APPX_BACKEND", "uv")
    result = run_appx("install", "cowsay-lite")
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"
    assert not elsewhere.exists()
    receipt = receipt_of(appx_env, "cowsay-lite")
    purelib = Path(receipt["venv"]["purelib"])
    assert not list(purelib.glob("pip")), "no pip seeded into the app's venv"
    assert (purelib / "cowsay_lite" / "__init__.py").is_file()
    assert not (purelib / "cowsay_lite" / "__init__.py").is_symlink()  # linked from uv's cache
    assert (purelib / "cowsay_lite-2.0.dist-info" / "REQUESTED").is_file()
