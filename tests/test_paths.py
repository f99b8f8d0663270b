"""Tests for appx.paths: every directory from APPX_* variables or XDG defaults, nothing created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import readonly
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


# --- check_usable: the preflight every command runs before it creates anything -----------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty directory of this test's own (the hermetic fixture fills tmp_path)."""
    path = tmp_path / "root"
    path.mkdir()
    return path


def _paths_under(root: Path) -> AppxPaths:
    return AppxPaths(
        home=root / "home", bin_dir=root / "bin", man_dir=root / "man", cache_dir=root / "cache"
    )


def _refusal(paths: AppxPaths, *, write: bool) -> EnvironmentSetupError:
    with pytest.raises(EnvironmentSetupError) as info:
        paths.check_usable(write=write)
    assert info.value.exit_code == 11
    return info.value


@pytest.mark.parametrize("write", [True, False])
def test_missing_directories_under_a_usable_parent_are_fine_and_stay_missing(
    root: Path, write: bool
) -> None:
    paths = _paths_under(root / "deep" / "er")
    paths.check_usable(write=write)
    assert _all_files(root) == []


@pytest.mark.parametrize("write", [True, False])
def test_existing_directories_are_fine(root: Path, write: bool) -> None:
    paths = _paths_under(root)
    for directory in (paths.home, paths.bin_dir, paths.man_dir, paths.venvs, paths.tmp):
        directory.mkdir(parents=True)
    paths.check_usable(write=write)


def test_symlinks_to_directories_are_fine(root: Path) -> None:
    paths = _paths_under(root)
    (root / "real-bin").mkdir()
    paths.bin_dir.symlink_to(root / "real-bin")
    paths.check_usable(write=True)


@pytest.mark.parametrize("write", [True, False])
def test_a_home_that_is_a_file_is_refused_naming_it(root: Path, write: bool) -> None:
    paths = _paths_under(root)
    paths.home.write_text("not a directory")
    error = _refusal(paths, write=write)
    assert error.message == f"APPX_HOME {paths.home} is not a directory"
    assert "APPX_HOME" in error.hint


@pytest.mark.parametrize("write", [True, False])
def test_a_file_among_the_parents_of_home_is_refused_naming_it(root: Path, write: bool) -> None:
    (root / "a-file").write_text("")
    paths = AppxPaths(
        home=root / "a-file" / "x" / "appx",
        bin_dir=root / "bin",
        man_dir=root / "man",
        cache_dir=root / "cache",
    )
    error = _refusal(paths, write=write)
    assert error.message == (
        f"APPX_HOME ({paths.home}) cannot be created: {root / 'a-file'} is not a directory"
    )


@pytest.mark.parametrize("var", ["APPX_BIN_DIR", "APPX_MAN_DIR"])
@pytest.mark.parametrize("write", [True, False])
def test_a_dangling_symlink_as_bin_or_man_dir_is_refused_naming_it(
    root: Path, var: str, write: bool
) -> None:
    paths = _paths_under(root)
    link = paths.bin_dir if var == "APPX_BIN_DIR" else paths.man_dir
    link.symlink_to(root / "nowhere")
    error = _refusal(paths, write=write)
    assert error.message == f"{var} {link} is a dangling symlink (to {root / 'nowhere'})"
    assert not os.path.lexists(root / "nowhere"), "the check creates nothing"


@pytest.mark.parametrize("var", ["APPX_BIN_DIR", "APPX_MAN_DIR"])
def test_a_file_as_bin_or_man_dir_is_refused_naming_it(root: Path, var: str) -> None:
    paths = _paths_under(root)
    file = paths.bin_dir if var == "APPX_BIN_DIR" else paths.man_dir
    file.write_text("")
    assert _refusal(paths, write=True).message == f"{var} {file} is not a directory"


def test_a_dangling_symlink_above_the_bin_dir_is_refused(root: Path) -> None:
    (root / "local").symlink_to(root / "gone")
    paths = AppxPaths(
        home=root / "home",
        bin_dir=root / "local" / "bin",
        man_dir=root / "man",
        cache_dir=root / "cache",
    )
    error = _refusal(paths, write=True)
    assert error.message.startswith(f"APPX_BIN_DIR ({paths.bin_dir}) cannot be created:")
    assert f"{root / 'local'} is a dangling symlink" in error.message


@pytest.mark.parametrize("name", ["venvs", "locks", "tmp", "logs", "shared", "displaced"])
def test_a_file_in_place_of_a_directory_inside_home_is_refused(root: Path, name: str) -> None:
    paths = _paths_under(root)
    paths.home.mkdir()
    (paths.home / name).write_text("")
    error = _refusal(paths, write=False)
    assert error.message == f"APPX_HOME/{name} {paths.home / name} is not a directory"


def test_a_symlink_loop_is_refused(root: Path) -> None:
    paths = _paths_under(root)
    paths.bin_dir.symlink_to(paths.bin_dir)
    error = _refusal(paths, write=False)
    assert str(paths.bin_dir) in error.message


# Read-only directories: root ignores permission bits, so these run in a child process that
# obeys them (capsh drops root's overriding capabilities).
CHECK = """
import sys
from pathlib import Path
from appx.errors import EnvironmentSetupError
from appx.paths import AppxPaths
root = Path(sys.argv[1])
paths = AppxPaths(home=root / "home", bin_dir=root / "bin", man_dir=root / "man",
                  cache_dir=root / "cache")
try:
    paths.check_usable(write=sys.argv[2] == "write")
except EnvironmentSetupError as error:
    print(error.message)
else:
    print("usable")
"""


def _check_bound_by_permissions(root: Path, mode: str) -> str:
    argv = readonly.bound_by_permissions([sys.executable, "-c", CHECK, str(root), mode])
    if argv is None:
        pytest.skip("running as root without capsh: permission bits cannot be made to bind")
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


@pytest.mark.parametrize("which", ["home", "bin", "man"])
def test_a_read_only_directory_is_refused_for_writing_only(root: Path, which: str) -> None:
    for name in ("home", "bin", "man"):
        (root / name).mkdir()
    (root / which).chmod(0o555)
    var = {"home": "APPX_HOME", "bin": "APPX_BIN_DIR", "man": "APPX_MAN_DIR"}[which]
    assert _check_bound_by_permissions(root, "write") == f"{var} {root / which} is read-only"
    assert _check_bound_by_permissions(root, "read") == "usable"


def test_a_home_that_cannot_be_created_is_refused_naming_the_read_only_parent(
    root: Path,
) -> None:
    root.chmod(0o555)
    try:
        message = _check_bound_by_permissions(root, "write")
        assert message == f"APPX_HOME ({root / 'home'}) cannot be created: {root} is read-only"
        assert _check_bound_by_permissions(root, "read") == "usable"
    finally:
        root.chmod(0o755)


def test_an_unreadable_home_is_refused_even_for_reading(root: Path) -> None:
    (root / "home").mkdir(mode=0o000)
    (root / "bin").mkdir()
    (root / "man").mkdir()
    try:
        assert _check_bound_by_permissions(root, "read") == (
            f"APPX_HOME {root / 'home'} cannot be read"
        )
    finally:
        (root / "home").chmod(0o755)


def test_logs_of_one_label_in_one_second_are_two_files(paths: AppxPaths) -> None:
    first, second = paths.new_log("install"), paths.new_log("install")  # two specs of a batch
    assert first != second
    assert first.exists() and second.exists()
    assert (first.stat().st_mode & 0o777, second.stat().st_mode & 0o777) == (0o600, 0o600)
