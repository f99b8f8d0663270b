"""Tests for appx.paths: every directory from APPX_* variables or XDG defaults, nothing created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appx.errors import EnvironmentSetupError
from appx.paths import ENV_VARS, AppxPaths


def _all_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG variables under tmp_path, and no APPX_* from the shell."""
    home = tmp_path / "user"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


def test_appx_variables_set_every_directory(tmp_path: Path) -> None:
    environ = {
        "APPX_HOME": str(tmp_path / "h"),
        "APPX_BIN_DIR": str(tmp_path / "b"),
        "APPX_MAN_DIR": str(tmp_path / "m"),
        "APPX_CACHE_DIR": str(tmp_path / "c"),
        "APPX_DEFAULT_PYTHON": "3.12",
    }
    paths = AppxPaths.from_env(environ)
    assert paths.home == tmp_path / "h"
    assert paths.bin_dir == tmp_path / "b"
    assert paths.man_dir == tmp_path / "m"
    assert paths.cache_dir == tmp_path / "c"
    assert paths.default_python == "3.12"
    assert dict(paths.sources) == dict.fromkeys(ENV_VARS, "environment")


def test_defaults_follow_xdg_and_say_so(fake_home: Path, tmp_path: Path) -> None:
    paths = AppxPaths.from_env({})
    assert paths.home == tmp_path / "data" / "appx"
    assert paths.man_dir == tmp_path / "data" / "man"
    assert paths.cache_dir == tmp_path / "cache" / "appx"
    assert paths.bin_dir == fake_home / ".local" / "bin"
    assert paths.default_python is None
    for var in ENV_VARS:
        assert paths.sources[var].startswith("default"), var
    assert "XDG_DATA_HOME" in paths.sources["APPX_HOME"]


def test_defaults_without_xdg_variables_live_under_home(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    paths = AppxPaths.from_env({})
    assert paths.home == fake_home / ".local" / "share" / "appx"
    assert paths.man_dir == fake_home / ".local" / "share" / "man"
    assert paths.cache_dir == fake_home / ".cache" / "appx"


def test_an_empty_variable_counts_as_unset(fake_home: Path, tmp_path: Path) -> None:
    paths = AppxPaths.from_env({"APPX_HOME": "", "APPX_DEFAULT_PYTHON": ""})
    assert paths.home == tmp_path / "data" / "appx"
    assert paths.sources["APPX_HOME"].startswith("default")
    assert paths.default_python is None


def test_without_a_mapping_the_process_environment_is_read(
    fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPX_HOME", str(tmp_path / "from-env"))
    paths = AppxPaths.from_env()
    assert paths.home == tmp_path / "from-env"
    assert paths.sources["APPX_HOME"] == "environment"


def test_a_tilde_is_expanded(fake_home: Path) -> None:
    paths = AppxPaths.from_env({"APPX_BIN_DIR": "~/bin"})
    assert paths.bin_dir == fake_home / "bin"


@pytest.mark.parametrize("var", ["APPX_HOME", "APPX_BIN_DIR", "APPX_MAN_DIR", "APPX_CACHE_DIR"])
def test_a_relative_path_is_refused_naming_the_variable(fake_home: Path, var: str) -> None:
    with pytest.raises(EnvironmentSetupError, match=f"{var} must be an absolute path") as info:
        AppxPaths.from_env({var: "relative/dir"})
    assert "relative/dir" in info.value.message
    assert info.value.exit_code == 11


def test_a_space_in_appx_home_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSetupError, match="APPX_HOME contains whitespace") as info:
        AppxPaths.from_env({"APPX_HOME": str(tmp_path / "Application Support" / "appx")})
    assert "shebang" in info.value.hint


@pytest.mark.parametrize("blank", ["\t", "\n"], ids=["tab", "newline"])
def test_other_whitespace_in_appx_home_is_refused(tmp_path: Path, blank: str) -> None:
    # The kernel ends a shebang's interpreter at a tab as at a space, and a line at a newline.
    with pytest.raises(EnvironmentSetupError, match="APPX_HOME"):
        AppxPaths.from_env({"APPX_HOME": str(tmp_path / f"my{blank}apps")})


def test_a_space_in_the_default_home_is_refused_too(
    fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "my data"))
    with pytest.raises(EnvironmentSetupError, match="APPX_HOME contains whitespace"):
        AppxPaths.from_env({})


def test_a_space_in_the_bin_dir_is_allowed(tmp_path: Path) -> None:
    # Only APPX_HOME ends up in shebangs; a link may live in a dir with a space.
    paths = AppxPaths.from_env({"APPX_HOME": str(tmp_path / "h"), "APPX_BIN_DIR": "/x y/bin"})
    assert paths.bin_dir == Path("/x y/bin")


def test_from_env_creates_no_directory(fake_home: Path, tmp_path: Path) -> None:
    before = _all_files(tmp_path)
    AppxPaths.from_env({})
    AppxPaths.from_env({var: str(tmp_path / "set" / var) for var in ENV_VARS[:4]})
    assert _all_files(tmp_path) == before


def test_derived_directories_live_under_home(tmp_path: Path) -> None:
    home = tmp_path / "appx-home"
    paths = AppxPaths(
        home=home, bin_dir=tmp_path / "bin", man_dir=tmp_path / "man", cache_dir=tmp_path / "c"
    )
    assert paths.venvs == home / "venvs"
    assert paths.shared == home / "shared"
    assert paths.locks == home / "locks"
    assert paths.displaced == home / "displaced"
    assert paths.logs == home / "logs"
    assert paths.tmp == home / "tmp"
    assert paths.app_dir("black+-b") == home / "venvs" / "black+-b"
    assert not os.path.exists(home)
