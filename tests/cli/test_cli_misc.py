"""uninstall, uninstall-all, environment, ensurepath, --version, --help, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appx import __version__
from appx.errors import EXIT_CODES
from appx_checks import dir_entries, json_of
from factories import Env, IndexServer, RunAppx

README = Path(__file__).parents[2] / "README.md"


def test_uninstall_removes_the_app_and_its_commands(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man", "cowsay-lite").code == 0
    result = run_appx("uninstall", "Tool_With.Man")  # any spelling of the name
    assert result.code == 0, result
    assert "uninstalled tool-with-man" in result.stdout
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite"}
    assert dir_entries(appx_env.man_dir / "man1") == set()
    assert dir_entries(appx_env.appx_home / "venvs") == {"cowsay-lite"}
    assert dir_entries(appx_env.appx_home / "tmp") == set()


def test_uninstall_of_an_app_not_installed(run_appx: RunAppx) -> None:
    result = run_appx("uninstall", "nothing-here")
    assert result.code == 4, result
    assert "nothing-here is not installed" in result.stderr


def test_uninstall_refuses_names_that_are_paths(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("uninstall", "../../etc")
    assert result.code == 3, result


def test_uninstall_several_with_one_missing_is_partial(
    run_appx: RunAppx, index: IndexServer
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    result = run_appx("uninstall", "cowsay-lite", "nothing-here")
    assert result.code == 10, result
    assert "nothing-here" in result.stderr
    assert "uninstalled cowsay-lite" in result.stdout


def test_uninstall_all(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    assert run_appx("install", "cowsay-lite", "gui-app", "tool-with-man").code == 0
    result = run_appx("uninstall-all")
    assert result.code == 0, result
    assert dir_entries(appx_env.bin_dir) == set()
    assert dir_entries(appx_env.appx_home / "venvs") == set()
    assert "no apps are installed" in run_appx("list").stdout


def test_environment_names_every_setting_and_its_source(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("environment")
    assert result.code == 0, result
    assert f"APPX_HOME            {appx_env.appx_home}  (environment)" in result.stdout
    data = json_of(run_appx("environment", "--json"))
    assert data["APPX_BIN_DIR"] == {"value": str(appx_env.bin_dir), "source": "environment"}
    assert data["APPX_DEFAULT_PYTHON"]["source"] == "default"
    assert not appx_env.appx_home.exists()


def test_relative_home_is_refused(run_appx: RunAppx, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPX_HOME", "relative/home")
    result = run_appx("list")
    assert result.code == 11, result
    assert "APPX_HOME must be an absolute path" in result.stderr


def test_ensurepath_edits_the_shell_startup_file(
    run_appx: RunAppx, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    (appx_env.home / ".bashrc").write_text("# mine\n")
    result = run_appx("ensurepath")
    assert result.code == 0, result
    assert "new shell" in result.stdout
    assert f"changed {appx_env.home / '.bashrc'}" in result.stdout
    assert not (appx_env.home / ".zshrc").exists(), "only the user's own shell is edited"
    assert str(appx_env.bin_dir) in (appx_env.home / ".bashrc").read_text()
    assert (appx_env.home / ".bashrc").read_text().startswith("# mine\n")
    again = run_appx("ensurepath")
    assert again.code == 0, again
    assert "already" in again.stdout


def test_version_and_help(run_appx: RunAppx) -> None:
    assert run_appx("--version").stdout.strip() == f"appx {__version__}"
    helped = run_appx("--help")
    assert helped.code == 0
    assert "appx install black" in helped.stdout
    install_help = run_appx("install", "--help").stdout
    for option in ("--python", "--force", "--suffix", "--include-deps", "--index-url"):
        assert option in install_help
    assert "Examples:" in install_help


def test_usage_errors_exit_2(run_appx: RunAppx) -> None:
    assert run_appx("install").code == 2
    assert run_appx("frobnicate").code == 2


def test_every_exit_code_is_documented_in_the_readme() -> None:
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README.read_text(), re.MULTILINE))
    assert {int(code) for code in table} == set(EXIT_CODES)


def test_quiet_prints_only_errors(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    result = run_appx("--quiet", "install", "cowsay-lite")
    assert result.code == 0, result
    assert result.stdout == ""
    assert result.stderr == ""  # not even the PATH warning
    failed = run_appx("-q", "install", "./nowhere")
    assert failed.code == 3
    assert "error: no such file or directory: ./nowhere" in failed.stderr


def test_verbose_shows_steps_and_the_traceback_of_an_error(
    run_appx: RunAppx, index: IndexServer
) -> None:
    result = run_appx("--verbose", "install", "cowsay-lite")
    assert result.code == 0, result
    assert "Installing cowsay-lite..." in result.stderr
    failed = run_appx("--verbose", "install", "./nowhere")
    assert failed.code == 3
    assert "Traceback" in failed.stderr
    assert "Traceback" not in run_appx("install", "./nowhere").stderr


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    block = re.search(r"<!-- tests -->\s*```sh\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert block is not None
    ci_script = (README.parent / ".ci" / "run").read_text().splitlines()
    assert block.group(1).strip() in ci_script


def test_uninstall_all_clears_an_interrupted_first_install(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    monkeypatch.setenv("APPX_FAULT_AT", "after-venv")
    assert run_appx("install", "gui-app").code == -9
    monkeypatch.delenv("APPX_FAULT_AT")
    assert dir_entries(appx_env.appx_home / "venvs") == {"cowsay-lite", "gui-app"}
    result = run_appx("uninstall-all")
    assert result.code == 0, result
    assert "uninstalled cowsay-lite" in result.stdout
    assert dir_entries(appx_env.appx_home / "venvs") == set()
