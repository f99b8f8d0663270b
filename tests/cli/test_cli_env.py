"""Unusable directories are exit 11 naming the path; ensurepath writes only what shells read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import factories
import readonly
from appx_checks import dir_entries
from factories import Env, IndexServer, ProcResult, RunAppx


def run_bound(*args: str, cwd: Path) -> ProcResult:
    """Run appx so that permission bits bind it, even as root."""
    argv = readonly.bound_by_permissions(factories.appx_command(*args))
    if argv is None:
        pytest.skip("running as root without capsh: permission bits cannot be made to bind")
    return factories.run(argv, cwd=cwd)


def snapshot(*roots: Path) -> set[str]:
    found: set[str] = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            found.update(os.path.join(dirpath, name) for name in dirnames + filenames)
    return found


def assert_refused(result: ProcResult, message: str) -> None:
    assert result.code == 11, result
    assert f"error: {message}" in result.stderr, result
    assert "interrupted" not in result.stderr, result
    assert "Traceback" not in result.stderr, result


# --- unusable directories -------------------------------------------------------------------------


def test_install_into_a_read_only_home_is_refused_naming_it(
    index: IndexServer, appx_env: Env
) -> None:
    appx_env.appx_home.mkdir()
    appx_env.appx_home.chmod(0o555)
    result = run_bound("install", "cowsay-lite", cwd=appx_env.tmp)
    assert_refused(result, f"APPX_HOME {appx_env.appx_home} is read-only")
    assert dir_entries(appx_env.appx_home) == set()
    assert not os.path.lexists(appx_env.bin_dir)


@pytest.mark.parametrize("command", [["install", "cowsay-lite"], ["list"], ["uninstall-all"]])
def test_a_home_that_is_a_file_is_refused_naming_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, command: list[str]
) -> None:
    appx_env.appx_home.write_text("oops\n")
    result = run_appx(*command)
    assert_refused(result, f"APPX_HOME {appx_env.appx_home} is not a directory")
    assert "no apps are installed" not in result.stdout
    assert appx_env.appx_home.read_text() == "oops\n"


def test_list_json_with_a_home_that_is_a_file_does_not_say_no_apps(
    run_appx: RunAppx, appx_env: Env
) -> None:
    appx_env.appx_home.write_text("")
    result = run_appx("list", "--json")
    assert result.code == 11, result
    assert '"apps": []' not in result.stdout


def test_install_with_a_dangling_bin_dir_symlink_is_refused_naming_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    appx_env.bin_dir.symlink_to(appx_env.tmp / "gone")
    result = run_appx("install", "cowsay-lite")
    gone = appx_env.tmp / "gone"
    assert_refused(result, f"APPX_BIN_DIR {appx_env.bin_dir} is a dangling symlink (to {gone})")
    assert not os.path.lexists(appx_env.tmp / "gone")
    assert not os.path.lexists(appx_env.appx_home / "venvs")


def test_install_into_a_read_only_bin_dir_is_refused_and_builds_nothing(
    index: IndexServer, appx_env: Env
) -> None:
    appx_env.bin_dir.mkdir()
    appx_env.bin_dir.chmod(0o555)
    result = run_bound("install", "cowsay-lite", cwd=appx_env.tmp)
    assert_refused(result, f"APPX_BIN_DIR {appx_env.bin_dir} is read-only")
    assert dir_entries(appx_env.appx_home / "venvs") == set()


def test_uninstall_with_a_read_only_bin_dir_keeps_the_app_whole(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    before = snapshot(appx_env.appx_home, appx_env.bin_dir)
    appx_env.bin_dir.chmod(0o555)
    result = run_bound("uninstall", "cowsay-lite", cwd=appx_env.tmp)
    appx_env.bin_dir.chmod(0o755)
    assert_refused(result, f"APPX_BIN_DIR {appx_env.bin_dir} is read-only")
    assert (appx_env.bin_dir / "cowsay-lite").is_symlink()
    assert snapshot(appx_env.appx_home, appx_env.bin_dir) == before
    assert "cowsay-lite 2.0" in run_appx("list", "--short").stdout


def test_list_still_works_with_a_read_only_home(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    appx_env.appx_home.chmod(0o555)
    try:
        result = run_bound("list", "--short", cwd=appx_env.tmp)
    finally:
        appx_env.appx_home.chmod(0o755)
    assert result.code == 0, result
    assert "cowsay-lite 2.0" in result.stdout


def test_environment_reports_an_unusable_home_instead_of_failing(
    run_appx: RunAppx, appx_env: Env
) -> None:
    appx_env.appx_home.write_text("")
    result = run_appx("environment")
    assert result.code == 0, result
    assert f"no: APPX_HOME {appx_env.appx_home} is not a directory" in result.stdout


# --- ensurepath -----------------------------------------------------------------------------------


@pytest.fixture
def bash_user(appx_env: Env, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bash user with a startup file of their own; returns their ~/.bashrc."""
    monkeypatch.setenv("SHELL", "/bin/bash")
    bashrc = appx_env.home / ".bashrc"
    bashrc.write_text("# mine\n")
    return bashrc


@pytest.mark.parametrize("name", ["$(touch pwned)", "$HOME", 'a"b', "a b", "a:b"])
def test_ensurepath_refuses_a_bin_dir_a_shell_would_not_read_literally(
    run_appx: RunAppx,
    appx_env: Env,
    bash_user: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    bin_dir = appx_env.tmp / name / "bin"
    monkeypatch.setenv("APPX_BIN_DIR", str(bin_dir))
    result = run_appx("ensurepath")
    assert result.code == 11, result
    assert f"error: will not write the bin dir {str(bin_dir)!r}" in result.stderr
    assert bash_user.read_text() == "# mine\n"
    assert not os.path.lexists(appx_env.home / ".bash_profile")


def test_ensurepath_says_changed_when_it_changed_files_a_new_shell_skips(
    run_appx: RunAppx, appx_env: Env, bash_user: Path
) -> None:
    bash_user.write_text("# mine\nreturn\n")
    result = run_appx("ensurepath")
    assert result.code == 0, result
    assert f"changed {bash_user}" in result.stdout
    assert "already" not in result.stdout
    assert "a new shell still does not find it" in result.stderr


def test_ensurepath_starts_no_ps(
    run_appx: RunAppx, appx_env: Env, bash_user: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = appx_env.tmp / "fake-bin"
    fake.mkdir()
    (fake / "ps").write_text(f"#!/bin/sh\ntouch {appx_env.tmp / 'ps-ran'}\n")
    (fake / "ps").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = run_appx("ensurepath")
    assert result.code == 0, result
    assert f"changed {bash_user}" in result.stdout
    assert not os.path.lexists(appx_env.tmp / "ps-ran")


def test_ensurepath_with_unwritable_startup_files_is_an_error(
    run_appx: RunAppx, appx_env: Env, bash_user: Path
) -> None:
    bash_user.unlink()
    bash_user.mkdir()
    (appx_env.home / ".bash_profile").mkdir()
    result = run_appx("ensurepath")
    assert result.code == 11, result
    assert f"error: could not add {appx_env.bin_dir} to PATH in bash's startup files" in (
        result.stderr
    )
    assert "already" not in result.stdout
