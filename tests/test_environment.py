"""Tests for appx.environment: ensurepath (userpath in a child, with a time limit), the report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appx.environment import (
    check_shell_safe,
    describe_environment,
    detect_shell,
    ensure_path,
    on_path,
)
from appx.errors import EnvironmentSetupError
from appx.paths import AppxPaths
from appx.proc import pid_alive
from factories import Env


@pytest.fixture
def home(hermetic_env: Env) -> Path:
    """The user's home directory of this test, where the shell startup files live."""
    return hermetic_env.home


def _paths(tmp_path: Path, bin_dir: Path | None = None) -> AppxPaths:
    return AppxPaths(
        home=tmp_path / "appx-home",
        bin_dir=bin_dir or tmp_path / "bin",
        man_dir=tmp_path / "man",
        cache_dir=tmp_path / "cache",
    )


def _environ(**changes: str) -> dict[str, str]:
    environ = dict(os.environ)
    environ.update(changes)
    return environ


# --- which shell -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "environ", "expected"),
    [
        ("zsh\n", {"SHELL": "/bin/bash"}, ("zsh",)),  # the shell appx was started from wins
        ("-bash", {}, ("bash",)),  # a login shell's name
        ("python3", {"BASH_VERSION": "5.2", "SHELL": "/usr/bin/fish"}, ("bash",)),
        ("python3", {"SHELL": "/usr/bin/fish"}, ("fish",)),
        ("tmux: server", {"SHELL": "/usr/local/bin/xonsh"}, ("xonsh",)),
        ("python3", {"SHELL": "/bin/tcsh"}, ("bash", "sh")),  # userpath's defaults
        ("", {}, ("bash", "sh")),
    ],
)
def test_the_shell_to_configure(parent: str, environ: dict[str, str], expected: tuple[str]) -> None:
    assert detect_shell(environ, parent) == expected


# --- what is on PATH ---------------------------------------------------------------------------


def test_a_bin_dir_reached_through_a_symlink_is_on_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert on_path(str(tmp_path / "real"), f"/usr/bin::{tmp_path / 'link'}/")
    assert not on_path(str(tmp_path / "real"), "/usr/bin:/bin")
    assert not on_path(str(tmp_path / "real"), "")


def test_environment_says_whether_the_bin_dir_is_on_path(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "bin")
    settings = {s.name: s for s in describe_environment(paths, {"PATH": f"/x:{tmp_path}/via"})}
    assert settings["bin dir on PATH"].value == "yes"
    settings = {s.name: s for s in describe_environment(paths, {"PATH": "/x"})}
    assert settings["bin dir on PATH"].value == "no"


# --- a bin dir a shell would not read literally -------------------------------------------------

UNSAFE_NAMES = [
    "$(touch pwned)",
    "`touch pwned`",
    "$HOME",
    "${HOME}",
    'quote"d',
    "it's",
    "back\\slash",
    "with space",
    "tab\there",
    "new\nline",
    "bell\x07",
    "a:b",
    "semi;colon",
    "amp&",
    "pipe|",
    "less<",
    "more>",
    "paren(",
    "brace{",
    "star*",
    "what?",
    "bang!",
    "hash#",
    "bracket[1]",
    "caret^",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_bin_dir_a_shell_would_not_read_literally_is_refused_and_nothing_is_written(
    tmp_path: Path, home: Path, name: str
) -> None:
    # A shell that started would leave a mark: the refusal comes before any shell runs.
    (home / ".bashrc").write_text("touch ~/a-shell-started\n")
    bin_dir = tmp_path / name / "bin"
    with pytest.raises(EnvironmentSetupError) as info:
        ensure_path(
            _paths(tmp_path, bin_dir), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"]
        )
    error = info.value
    assert error.exit_code == 11
    assert repr(str(bin_dir)) in error.message
    assert "yourself" in error.hint or "':'" in error.hint
    assert (home / ".bashrc").read_text() == "touch ~/a-shell-started\n"
    assert not os.path.lexists(home / "a-shell-started")
    assert not os.path.lexists(home / ".bash_profile")
    assert not os.path.lexists(tmp_path / "pwned")


def test_a_colon_is_refused_because_path_cannot_hold_it(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSetupError) as info:
        check_shell_safe(str(tmp_path / "a:b"))
    assert "PATH cannot hold a ':'" in info.value.hint


def test_a_bin_dir_that_resolves_to_an_unsafe_path_is_refused(tmp_path: Path) -> None:
    # userpath writes the resolved path, so that is the one a shell reads.
    (tmp_path / "$(touch pwned)").mkdir()
    (tmp_path / "bin").symlink_to(tmp_path / "$(touch pwned)")
    with pytest.raises(EnvironmentSetupError) as info:
        check_shell_safe(str(tmp_path / "bin"))
    assert f"it resolves to {str(tmp_path / '$(touch pwned)')!r}" in info.value.message


@pytest.mark.parametrize("name", ["jösé", "tools-1.0+local_2", "a@b,c=d%e~f"])
def test_a_bin_dir_of_inert_characters_is_written_and_a_new_shell_finds_it(
    tmp_path: Path, home: Path, name: str
) -> None:
    bin_dir = tmp_path / name / "bin"
    result = ensure_path(
        _paths(tmp_path, bin_dir), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"]
    )
    assert result.changed
    assert result.seen_by_new_shell is True  # userpath asked bash -i and bash -l
    assert str(bin_dir) in (home / ".bashrc").read_text()


# --- what changed -------------------------------------------------------------------------------


def test_ensurepath_names_the_files_it_changed_and_then_finds_it_there(
    tmp_path: Path, home: Path
) -> None:
    (home / ".bashrc").write_text("# mine\n")
    paths = _paths(tmp_path)
    environ = _environ(PATH="/usr/bin:/bin")
    result = ensure_path(paths, environ=environ, shells=["bash"])
    assert result.changed
    assert result.files == (str(home / ".bashrc"), str(home / ".bash_profile"))
    bashrc = (home / ".bashrc").read_text()
    assert bashrc.startswith("# mine\n")
    assert f'export PATH="$PATH:{paths.bin_dir}"' in bashrc
    again = ensure_path(paths, environ=environ, shells=["bash"])
    assert (again.changed, again.files) == (False, ())
    forced = ensure_path(paths, environ=environ, shells=["bash"], force=True)
    assert (forced.changed, forced.files) == (False, ())
    assert (home / ".bashrc").read_text() == bashrc


def test_a_change_a_new_shell_does_not_see_is_still_reported_as_a_change(
    tmp_path: Path, home: Path
) -> None:
    # userpath appends after the `return`, so bash never reads the line: before, appx then
    # said "already in your shell's startup files" right after it had changed them.
    (home / ".bashrc").write_text("return\n")
    result = ensure_path(_paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"])
    assert result.changed
    assert str(home / ".bashrc") in result.files
    assert result.seen_by_new_shell is False


def test_startup_files_that_cannot_be_written_are_an_error_not_already_there(
    tmp_path: Path, home: Path
) -> None:
    (home / ".bashrc").mkdir()  # userpath cannot write either file, and says nothing
    (home / ".bash_profile").mkdir()
    with pytest.raises(EnvironmentSetupError) as info:
        ensure_path(_paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"])
    assert info.value.message.startswith(f"could not add {tmp_path / 'bin'} to PATH in bash's")
    assert "yourself" in info.value.hint


def test_a_shell_that_is_not_installed_still_gets_its_file_and_the_check_is_unknown(
    tmp_path: Path, home: Path
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = ensure_path(_paths(tmp_path), environ=_environ(PATH=str(empty)), shells=["zsh"])
    assert result.files == (str(home / ".zshrc"), str(home / ".zprofile"))
    assert result.seen_by_new_shell is None


def test_already_on_the_current_path_starts_nothing_and_writes_nothing(
    tmp_path: Path, home: Path
) -> None:
    (home / ".bashrc").write_text("touch ~/a-shell-started\n")
    paths = _paths(tmp_path)
    result = ensure_path(paths, environ=_environ(PATH=f"/usr/bin:{paths.bin_dir}"), shells=["bash"])
    assert result.in_current_path
    assert not result.changed
    assert not os.path.lexists(home / "a-shell-started")


# --- the user's shells run in a child, with a cleaned environment and a time limit -------------


def test_a_startup_file_that_hangs_stops_ensurepath_with_an_error_and_no_process_left(
    tmp_path: Path, home: Path
) -> None:
    pids = home / "pids"
    (home / ".bashrc").write_text(f"echo $$ >> {pids}\nsleep 120 & echo $! >> {pids}\nwait $!\n")
    with pytest.raises(EnvironmentSetupError) as info:
        ensure_path(
            _paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"], time_limit=2
        )
    assert info.value.message == "bash's startup files did not finish within 2 seconds"
    assert "waits for input or hangs" in info.value.hint
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2, "bash and its sleep were started"
    assert not [pid for pid in started if pid_alive(pid)]


def test_a_hang_after_the_change_names_the_changed_files(tmp_path: Path, home: Path) -> None:
    # The check before the change finds nothing quickly; the check after it hangs.
    marker = home / "second-run"
    (home / ".bashrc").write_text(f"[ -e {marker} ] && sleep 120\ntouch {marker}\n")
    with pytest.raises(EnvironmentSetupError) as info:
        ensure_path(
            _paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"], time_limit=3
        )
    assert f"(it changed {home / '.bashrc'}, {home / '.bash_profile'})" in info.value.message


def test_a_startup_file_that_prompts_gets_no_input_and_ensurepath_goes_on(
    tmp_path: Path, home: Path
) -> None:
    (home / ".bashrc").write_text(
        'read -r -p "continue? " answer\nread -r other < /dev/tty\necho "${answer:-none}" > ~/got\n'
    )
    result = ensure_path(_paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["bash"])
    assert result.changed
    assert (home / "got").read_text() == "none\n"


def test_the_shells_get_no_variable_that_makes_them_source_other_files(
    tmp_path: Path, home: Path
) -> None:
    sourced = tmp_path / "sourced"
    sourced.write_text(f"touch {tmp_path / 'was-sourced'}\n")
    (home / ".profile").write_text(f'echo "BASH_ENV=${{BASH_ENV-}} ENV=${{ENV-}}" > {home}/seen\n')
    environ = _environ(PATH="/usr/bin:/bin", ENV=str(sourced), BASH_ENV=str(sourced))
    result = ensure_path(_paths(tmp_path), environ=environ, shells=["sh"])  # sh -i reads $ENV
    assert result.files == (str(home / ".profile"),)
    assert (home / "seen").read_text() == "BASH_ENV= ENV=\n"
    assert not os.path.lexists(tmp_path / "was-sourced")


def test_environment_says_whether_the_directories_are_usable(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    settings = {s.name: s for s in describe_environment(paths, {})}
    assert settings["directories usable"].value == "yes"
    paths.home.write_text("")
    settings = {s.name: s for s in describe_environment(paths, {})}
    assert settings["directories usable"].value == f"no: APPX_HOME {paths.home} is not a directory"
    assert settings["logs"].value == str(paths.home / "logs")


def test_a_child_that_fails_is_a_clear_error(tmp_path: Path, home: Path) -> None:
    with pytest.raises(EnvironmentSetupError) as info:
        ensure_path(_paths(tmp_path), environ=_environ(PATH="/usr/bin:/bin"), shells=["tcsh"])
    assert info.value.message.startswith("could not run userpath to edit your shell's startup")
    assert "KeyError" in info.value.message
    assert list(home.iterdir()) == []
