"""The pip backend end to end: pip's config and --pip-args never move an install, secrets stay
hidden, markers and bad archives get plain errors, the receipt records where things came from."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appx_checks import current_generation, dir_entries, output_of, purelib_dists, receipt_of
from factories import Env, IndexServer, RunAppx, WheelFactory

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _python39() -> str:
    found = sorted((PYENV_ROOT / "versions").glob("3.9.*/bin/python3.9"))
    if not found:
        pytest.skip("no pyenv-installed Python 3.9 (whose pip is 23.0.1) on this machine")
    return str(found[-1])


@pytest.mark.parametrize("section", ["install", "global"])
@pytest.mark.parametrize("python", ["default", "3.9"])
def test_pip_config_cannot_move_the_install(
    run_appx: RunAppx,
    pip_backend: str,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    section: str,
    python: str,
) -> None:
    elsewhere = appx_env.tmp / "elsewhere"
    for place in ("target", "prefix", "root", "src"):
        (elsewhere / place).mkdir(parents=True)
    fake_python = elsewhere / "python"
    fake_python.write_text(f"#!/bin/sh\ntouch {elsewhere / 'python-ran'}\nexit 1\n")
    fake_python.chmod(0o755)
    config = appx_env.tmp / "pip.conf"
    config.write_text(
        f"[{section}]\n"
        f"target = {elsewhere / 'target'}\n"
        f"prefix = {elsewhere / 'prefix'}\n"
        f"root = {elsewhere / 'root'}\n"
        f"src = {elsewhere / 'src'}\n"
        "user = true\n"
        f"python = {fake_python}\n"
        f"log = {elsewhere / 'pip.log'}\n"
        f"report = {elsewhere / 'report.json'}\n"
        "dry-run = true\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    args = ["--python", _python39()] if python == "3.9" else []

    result = run_appx("install", *args, "cowsay-lite")

    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"
    assert sorted(p.name for p in elsewhere.rglob("*")) == [
        "prefix",
        "python",
        "root",
        "src",
        "target",
    ]
    assert not (appx_env.home / ".local" / "lib").exists(), "nothing went to the user site"
    if python == "3.9":
        assert receipt_of(appx_env, "cowsay-lite")["backend_version"] == "23.0.1"


def test_pip_config_index_settings_are_kept(
    run_appx: RunAppx,
    index_server: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    """Both backends fetch from the index pip's configuration names."""
    config = appx_env.tmp / "pip.conf"
    config.write_text(
        f"[global]\nindex-url = {index_server.url}\n[install]\ntarget = {appx_env.tmp / 't'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    result = run_appx("install", "cowsay-lite==1.0")
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
    assert not (appx_env.tmp / "t").exists()
    assert receipt_of(appx_env, "cowsay-lite")["backend"] == backend


@pytest.mark.parametrize("pip_args", ["--target {x}", "--targ={x}", "-qt{x}", "--user"])
def test_pip_args_that_move_the_install_are_refused_before_anything_is_built(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, pip_args: str
) -> None:
    elsewhere = appx_env.tmp / "elsewhere"
    result = run_appx("install", "--pip-args", pip_args.format(x=elsewhere), "cowsay-lite")
    assert result.code == 3, result
    assert "--pip-args may not contain" in result.stderr
    assert not elsewhere.exists()
    assert dir_entries(appx_env.appx_home / "venvs") == set()
    assert dir_entries(appx_env.bin_dir) == set()


def test_a_marker_that_excludes_the_python_is_refused_before_anything_is_built(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "cowsay-lite; python_version<'3'")
    assert result.code == 3, result
    assert "excludes this Python" in result.stderr
    assert "names another project" not in result.stderr
    assert dir_entries(appx_env.appx_home / "venvs") == set()


def test_secrets_stay_out_of_output_logs_receipt_and_list(
    run_appx: RunAppx, index_server: IndexServer, appx_env: Env, backend: str
) -> None:
    index_url = index_server.url.replace("http://", "http://ghp_INDEXTOKEN@")
    base = index_server.url.removesuffix("simple/").replace("http://", "http://bob:SPECPASS@")
    spec = f"cowsay-lite @ {base}packages/cowsay_lite-1.0-py3-none-any.whl"

    result = run_appx("--verbose", "install", "-i", index_url, spec)

    assert result.code == 0, result
    listed = run_appx("list", "--json")
    generation = current_generation(appx_env, "cowsay-lite")
    receipt_text = (generation / "appx-receipt.json").read_text()
    logs = "".join(log.read_text() for log in (appx_env.appx_home / "logs").iterdir())
    for text in (result.stdout + result.stderr, listed.stdout, receipt_text, logs):
        assert "ghp_INDEXTOKEN" not in text
        assert "SPECPASS" not in text
    receipt = receipt_of(appx_env, "cowsay-lite")
    assert receipt["index"]["index_url"] == index_server.url.replace("http://", "http://****@")
    assert "bob:****@" in receipt["spec"]
    assert "bob:****@" in json.loads(listed.stdout)["apps"][0]["spec"]
    credentials = generation / "appx-credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    kept = json.loads(credentials.read_text())
    assert kept["index.index_url"] == index_url
    assert kept["spec"] == spec

    again = run_appx("install", "-i", index_url, spec)
    assert again.code == 0, again
    assert "already installed" in again.stdout + again.stderr
    assert "installed from" not in again.stdout + again.stderr  # the same spec, redacted
    assert "ghp_INDEXTOKEN" not in again.stdout + again.stderr


def test_a_bad_archive_gets_the_exception_as_its_hint(
    run_appx: RunAppx, appx_env: Env, pip_backend: str
) -> None:
    archive = appx_env.tmp / "bad-1.0.tar.gz"
    archive.write_text("garbage")
    result = run_appx("install", str(archive))
    assert result.code == 6, result
    assert "Exception:" not in result.stderr
    assert "gzip" in result.stderr


def test_extras_on_a_wheel_path_are_installed(
    run_appx: RunAppx, index: IndexServer, wheel_factory: WheelFactory, appx_env: Env
) -> None:
    wheel = wheel_factory(
        "extras-app", console_scripts={"extras-app": "extras_app:main"}, extras={"cli": ["dep-lib"]}
    )
    result = run_appx("install", f"{wheel}[cli]")
    assert result.code == 0, result
    assert purelib_dists(appx_env, "extras-app") == {"extras-app", "dep-lib"}


def test_the_receipt_records_direct_urls_and_the_defaulted_python(
    run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env, pip_backend: str
) -> None:
    wheel = wheel_factory("direct-app", console_scripts={"direct-app": "direct_app:main"})
    assert run_appx("install", str(wheel)).code == 0
    receipt = receipt_of(appx_env, "direct-app")
    origin = receipt["direct_urls"]["direct-app"]
    assert (origin["kind"], origin["url"]) == ("archive", wheel.as_uri())
    assert origin["archive_hash"].startswith("sha256=")
    assert receipt["python"]["requested_by"] == "appx"
    assert receipt["python"]["requested"] == receipt["python"]["executable"]


def test_a_name_too_long_for_the_filesystem_is_a_spec_error(run_appx: RunAppx) -> None:
    result = run_appx("install", "a" * 260)
    assert result.code == 3, result
    assert "Traceback" not in result.stderr


def test_a_broken_default_python_is_named_in_the_hint(
    run_appx: RunAppx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPX_DEFAULT_PYTHON", "3.99")
    result = run_appx("install", "cowsay-lite")
    assert result.code == 7, result
    assert "hint: APPX_DEFAULT_PYTHON=3.99" in result.stderr
