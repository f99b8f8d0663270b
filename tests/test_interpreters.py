"""Finding a Python: by path, command or version; failing shims skipped; venvs traced to base."""

from __future__ import annotations

import os
import sys
import venv
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from appx.errors import PythonNotFoundError
from appx.interpreters import (
    Interpreter,
    Request,
    find_python,
    find_python_for,
    interpreter_from_probe,
    parse_request,
    pyenv_versions,
    uv_versions,
)
from appx.receipt import PythonInfo

# Read at import, before any fixture moves HOME.
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"
RUNNING_VERSION = (sys.version_info[0], sys.version_info[1], sys.version_info[2])


def running_base_python() -> Path:
    """The base interpreter of the Python running the tests (out of any venv)."""
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    if sys.prefix != sys.base_prefix and (base == Path(sys.executable) or not base.is_file()):
        base = Path(sys.base_prefix, "bin", f"python{MINOR}")
    return base


def pyenv_install(minor: str) -> Path | None:
    """The highest pyenv install of ``minor`` on this machine, if any."""
    names = [path.name for path in (PYENV_ROOT / "versions").glob(f"{minor}.*")]
    wanted = tuple(int(part) for part in minor.split("."))
    ordered = pyenv_versions(names, wanted)
    return PYENV_ROOT / "versions" / ordered[0][0] if ordered else None


def hermetic_env(tmp_path: Path, *path_dirs: Path) -> dict[str, str]:
    """An environment whose PATH is ``path_dirs`` and where pyenv and uv hold nothing."""
    return {
        "PATH": os.pathsep.join(map(str, path_dirs)) or str(tmp_path / "empty"),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


# -- real interpreters on this machine --------------------------------------------------------


def test_version_on_real_path_skips_pyenv_shim_and_records_the_real_install() -> None:
    install = pyenv_install("3.12")
    if install is None:
        pytest.skip(f"no pyenv Python 3.12 under {PYENV_ROOT}")
    environ = {k: v for k, v in os.environ.items() if k != "PYENV_VERSION"}
    environ["PYENV_ROOT"] = str(PYENV_ROOT)

    found = find_python("3.12", environ=environ)

    assert found.executable == install / "bin" / "python3.12"
    assert found.version == tuple(int(part) for part in install.name.split("."))
    assert found.requested == "3.12"
    assert found.implementation == "cpython"
    assert "shims" not in found.executable.parts


def test_venv_python_given_by_path_records_its_base_interpreter(tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=False, symlinks=True)
    venv_python = tmp_path / "venv" / "bin" / "python"

    found = find_python(str(venv_python), environ=hermetic_env(tmp_path))

    assert not found.executable.is_relative_to(tmp_path)
    assert found.executable.is_file()
    assert not (found.executable.parent.parent / "pyvenv.cfg").exists()
    assert found.version == RUNNING_VERSION
    assert found.requested == str(venv_python)


@pytest.mark.parametrize(("request_text", "name"), [(MINOR, f"python{MINOR}"), ("mypy", "mypy")])
def test_failing_candidates_on_path_are_skipped_for_a_later_working_one(
    tmp_path: Path, request_text: str, name: str
) -> None:
    script(tmp_path / "shims" / name, "echo 'pyenv: not selected' >&2; exit 127")
    script(tmp_path / "noisy" / name, "echo 'not json'")
    working = link(tmp_path / "real" / name, running_base_python())
    environ = hermetic_env(tmp_path, tmp_path / "shims", tmp_path / "noisy", tmp_path / "real")

    found = find_python(request_text, environ=environ)

    assert found.executable == working  # as found on PATH, symlink not resolved away
    assert found.version == RUNNING_VERSION


def test_only_failing_candidates_explain_what_was_skipped(tmp_path: Path) -> None:
    shim = script(tmp_path / "shims" / "python3.12", "echo 'pyenv: not selected' >&2; exit 127")

    with pytest.raises(PythonNotFoundError) as caught:
        find_python("3.12", environ=hermetic_env(tmp_path, shim.parent))

    assert caught.value.message == "no Python matching '3.12' was found"
    assert f"{shim} (failed with exit code 127: pyenv: not selected)" in caught.value.hint


def test_real_2_7_and_3_6_interpreters_are_refused_by_version() -> None:
    olds = sorted((PYENV_ROOT / "versions").glob("2.7.*")) + sorted(
        (PYENV_ROOT / "versions").glob("3.6.*")
    )
    if not olds:
        pytest.skip(f"no pyenv Python 2.7 or 3.6 under {PYENV_ROOT}")
    for install in olds:
        python = install / "bin" / "python"
        with pytest.raises(PythonNotFoundError) as caught:
            find_python(str(python), environ={"PATH": os.defpath})
        assert caught.value.message.startswith(f"'{python}' is Python {install.name}")
        assert "3.9 or newer" in caught.value.hint


def test_wrong_version_is_skipped_and_said_so(tmp_path: Path) -> None:
    python = link(tmp_path / "bin" / f"python{MINOR}", running_base_python())

    with pytest.raises(PythonNotFoundError) as caught:
        find_python(f"{MINOR}.999", environ=hermetic_env(tmp_path, python.parent))

    assert f"{python} (is {'.'.join(map(str, RUNNING_VERSION))})" in caught.value.hint


def test_same_file_reached_twice_on_path_is_probed_once(tmp_path: Path) -> None:
    # Like /bin -> /usr/bin on merged-/usr systems.
    shim = script(tmp_path / "usr-bin" / "mypy", "exit 127")
    alias = link(tmp_path / "bin", shim.parent)

    with pytest.raises(PythonNotFoundError) as caught:
        find_python("mypy", environ=hermetic_env(tmp_path, shim.parent, alias))

    assert caught.value.hint.count("exit code 127") == 1


def test_py_launcher_is_asked_for_the_version(tmp_path: Path) -> None:
    base = running_base_python()
    script(tmp_path / "bin" / "py", f'[ "$1" = "-{MINOR}" ] || exit 3; shift; exec "{base}" "$@"')

    found = find_python(MINOR, environ=hermetic_env(tmp_path, tmp_path / "bin"))

    assert found.version == RUNNING_VERSION
    assert found.executable.is_file()
    assert found.executable != tmp_path / "bin" / "py"


# -- pyenv and uv directories -----------------------------------------------------------------


def test_pyenv_versions_orders_matching_installs_highest_patch_first() -> None:
    names = ["3.12.1", "3.12.10", "3.12-dev", "3.11.7", "3.12.3", "my-venv", "2.7.18", "3.8.18"]
    names += ["3.13.0", "3.13.0t", "system"]

    assert [name for name, _ in pyenv_versions(names, (3, 12))] == ["3.12.10", "3.12.3", "3.12.1"]
    assert pyenv_versions(names, (3, 12, 3)) == [("3.12.3", (3, 12, 3))]
    assert [name for name, _ in pyenv_versions(names, (3,))] == [
        "3.13.0",
        "3.12.10",
        "3.12.3",
        "3.12.1",
        "3.11.7",
    ]
    assert pyenv_versions(names, (3, 14)) == []


def test_uv_versions_orders_highest_first_cpython_before_pypy() -> None:
    names = [
        "cpython-3.12.7-linux-x86_64-gnu",
        "pypy-3.12.7-linux-x86_64-gnu",
        "cpython-3.12.11-linux-x86_64-gnu",
        "cpython-3.12-linux-x86_64-gnu",  # uv's minor-version link
        "cpython-3.13.0+freethreaded-linux-x86_64-gnu",
        "cpython-3.8.20-linux-x86_64-gnu",
        ".lock",
    ]

    assert [name for name, _ in uv_versions(names, (3, 12))] == [
        "cpython-3.12.11-linux-x86_64-gnu",
        "cpython-3.12.7-linux-x86_64-gnu",
        "pypy-3.12.7-linux-x86_64-gnu",
    ]
    assert uv_versions(names, (3, 8)) == []


def test_pyenv_root_from_environ_is_searched_and_its_virtualenvs_skipped(tmp_path: Path) -> None:
    versions = tmp_path / "pyenv" / "versions"
    link(versions / f"{MINOR}.99" / "bin" / f"python{MINOR}", running_base_python())
    (versions / f"{MINOR}.99" / "pyvenv.cfg").write_text("home = /nowhere\n")
    wanted = link(versions / f"{MINOR}.0" / "bin" / f"python{MINOR}", running_base_python())
    environ = hermetic_env(tmp_path) | {"PYENV_ROOT": str(tmp_path / "pyenv")}

    assert find_python(MINOR, environ=environ).executable == wanted


def test_uv_managed_installs_are_searched(tmp_path: Path) -> None:
    install = tmp_path / "uv" / f"cpython-{MINOR}.0-linux-x86_64-gnu"
    wanted = link(install / "bin" / f"python{MINOR}", running_base_python())
    environ = hermetic_env(tmp_path) | {"UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv")}

    assert find_python(f"python{MINOR}", environ=environ).executable == wanted


# -- what the user asked for ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", Request("version", "3", (3,))),
        ("3.12", Request("version", "3.12", (3, 12))),
        ("3.12.1", Request("version", "3.12.1", (3, 12, 1))),
        ("python3.12", Request("version", "python3.12", (3, 12))),
        ("/usr/bin/python3", Request("path", "/usr/bin/python3")),
        ("venv/bin/python", Request("path", "venv/bin/python")),
        ("pypy3", Request("command", "pypy3")),
        ("python", Request("command", "python")),
    ],
)
def test_parse_request(text: str, expected: Request) -> None:
    assert parse_request(text) == expected


def test_existing_file_without_slash_is_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mypython").touch()

    assert parse_request("mypython") == Request("path", "mypython")


def test_missing_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "python3"

    with pytest.raises(PythonNotFoundError) as caught:
        find_python(str(missing), environ=hermetic_env(tmp_path))

    assert caught.value.message == f"Python path '{missing}' does not exist"
    assert caught.value.exit_code == 7


def test_unknown_version_says_what_was_tried(tmp_path: Path) -> None:
    (tmp_path / "no-pyenv" / "versions" / "3.14-dev").mkdir(parents=True)

    with pytest.raises(PythonNotFoundError) as caught:
        find_python("3.14", environ=hermetic_env(tmp_path))

    assert caught.value.message == "no Python matching '3.14' was found"
    hint = caught.value.hint
    assert hint.startswith("tried: python3.14 on PATH, ")
    assert f"pyenv ({tmp_path / 'no-pyenv' / 'versions'})" in hint
    assert f"uv-managed Pythons ({tmp_path / 'data' / 'uv' / 'python'})" in hint
    assert "py launcher" in hint


def test_unknown_command_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python("pypy3", environ=hermetic_env(tmp_path))

    assert caught.value.message == "no Python matching 'pypy3' was found"
    assert caught.value.hint == "tried: pypy3 on PATH"


@pytest.mark.parametrize("text", ["2.7", "2", "3.6", "python3.8"])
def test_versions_older_than_3_9_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python(text, environ=hermetic_env(tmp_path))

    assert caught.value.message == f"Python {text} is not supported"
    assert "3.9 or newer" in caught.value.hint


def test_no_request_uses_the_default(tmp_path: Path) -> None:
    working = link(tmp_path / "bin" / "mypython", running_base_python())

    found = find_python(None, environ=hermetic_env(tmp_path), default=str(working))

    assert found.executable == working
    # recorded as requested, and by whom: a rebuild may follow the default of its day
    assert (found.requested, found.requested_by) == (str(working), "APPX_DEFAULT_PYTHON")
    assert PythonInfo(**found.to_json()).requested_by == "APPX_DEFAULT_PYTHON"


def test_broken_default_is_named_as_the_default(tmp_path: Path) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python("", environ=hermetic_env(tmp_path), default="3.99")

    assert caught.value.message == "no Python matching '3.99' (APPX_DEFAULT_PYTHON) was found"
    assert caught.value.hint.startswith("APPX_DEFAULT_PYTHON=3.99 chose it")


@pytest.mark.parametrize("default", ["2.7", "/no/such/python", "3.99", "no-such-command"])
def test_every_broken_default_hints_at_the_variable(tmp_path: Path, default: str) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python(None, environ=hermetic_env(tmp_path), default=default)

    assert "APPX_DEFAULT_PYTHON" in caught.value.hint
    assert "--python" in caught.value.hint


def test_a_broken_request_does_not_blame_the_default(tmp_path: Path) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python("3.99", environ=hermetic_env(tmp_path), default="3.12")

    assert "APPX_DEFAULT_PYTHON" not in caught.value.message + caught.value.hint


def test_no_request_and_no_default_uses_appx_own_base_python(tmp_path: Path) -> None:
    found = find_python(None, environ=hermetic_env(tmp_path))

    assert found.version == RUNNING_VERSION
    assert (found.requested, found.requested_by) == (str(found.executable), "appx")
    assert not (found.executable.parent.parent / "pyvenv.cfg").exists()


def test_the_probe_records_the_marker_environment(tmp_path: Path) -> None:
    found = find_python(str(running_base_python()), environ=hermetic_env(tmp_path))

    assert found.markers["python_full_version"] == ".".join(map(str, RUNNING_VERSION))
    assert found.markers["python_version"] == MINOR
    assert found.markers["sys_platform"] == sys.platform
    assert found.markers["implementation_name"] == sys.implementation.name
    assert set(found.markers) >= {"os_name", "platform_machine", "platform_system"}


# -- the probe and the receipt ----------------------------------------------------------------


def venv_probe(base_prefix: Path, base_executable: str) -> dict[str, object]:
    return {
        "version": [3, 10, 4],
        "implementation": "cpython",
        "executable": "/home/u/venv/bin/python",
        "prefix": "/home/u/venv",
        "base_prefix": str(base_prefix),
        "base_executable": base_executable,
    }


def test_old_venv_probe_falls_back_to_base_prefix(tmp_path: Path) -> None:
    # Before 3.11, a venv reports its own python as _base_executable.
    base = script(tmp_path / "base" / "bin" / "python3.10", "exit 0")

    found = interpreter_from_probe("3.10", venv_probe(tmp_path / "base", "/home/u/venv/bin/python"))

    assert found == Interpreter("3.10", base, (3, 10, 4), "cpython")


def test_venv_whose_base_is_gone_is_unusable(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    with pytest.raises(ValueError, match="base Python is missing") as caught:
        interpreter_from_probe("", venv_probe(gone, str(gone / "python")))

    assert str(caught.value) == f"is a venv whose base Python is missing from {gone / 'bin'}"


def test_garbled_probe_output_is_unusable() -> None:
    with pytest.raises(ValueError, match="unexpected probe result"):
        interpreter_from_probe("", {"version": "3.12"})


def test_the_receipt_records_the_interpreter() -> None:
    found = Interpreter("3.12", Path("/opt/py/bin/python3.12"), (3, 12, 1), "cpython")

    assert found.version_str == "3.12.1"
    assert PythonInfo(**found.to_json()) == PythonInfo(
        "3.12", "/opt/py/bin/python3.12", "3.12.1", "cpython", "--python"
    )


# -- a Python for a script's requires-python --------------------------------------------------

OTHER_INSTALLS = {
    minor: install
    for minor in ("3.9", "3.10", "3.11", "3.12", "3.13")
    if minor != MINOR and (install := pyenv_install(minor)) is not None
}


def numbers(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


NEXT = f"{sys.version_info[0]}.{sys.version_info[1] + 1}"  # '>3.11' would admit 3.11.7
NEWER = [minor for minor in OTHER_INSTALLS if numbers(minor) > numbers(MINOR)]
OLDER = [minor for minor in OTHER_INSTALLS if minor not in NEWER]


def by_minor(minors: list[str]) -> list[str]:
    """Minor versions, newest first."""
    return sorted(minors, key=numbers, reverse=True)


def fake_pyenv(tmp_path: Path, *minors: str, path_dirs: tuple[Path, ...] = ()) -> dict[str, str]:
    """An environment whose pyenv holds links to this machine's pyenv installs of ``minors``."""
    for minor in minors:
        install = OTHER_INSTALLS[minor]
        link(
            tmp_path / "pyenv" / "versions" / install.name / "bin" / f"python{minor}",
            install / "bin" / f"python{minor}",
        )
    return hermetic_env(tmp_path, *path_dirs) | {"PYENV_ROOT": str(tmp_path / "pyenv")}


def needs(count: int, minors: list[str], what: str) -> list[str]:
    if len(minors) < count:
        pytest.skip(f"needs {count} pyenv Pythons {what} than {MINOR} under {PYENV_ROOT}")
    return by_minor(minors)


def test_the_default_python_is_kept_when_it_satisfies(tmp_path: Path) -> None:
    environ = fake_pyenv(tmp_path, *NEWER)
    default = link(tmp_path / "bin" / "mypython", running_base_python())

    found = find_python_for(SpecifierSet(f">={MINOR}"), environ=environ, default=None)
    chosen = find_python_for(SpecifierSet(f"=={MINOR}.*"), environ=environ, default=str(default))

    assert (found.version, found.requested_by) == (RUNNING_VERSION, "appx")
    assert (chosen.executable, chosen.requested_by) == (default, "APPX_DEFAULT_PYTHON")


def test_otherwise_the_newest_python_that_satisfies_is_chosen(tmp_path: Path) -> None:
    newest, second = needs(2, NEWER, "newer")[:2]
    environ = fake_pyenv(tmp_path, *OTHER_INSTALLS)

    found = find_python_for(SpecifierSet(f">={NEXT}"), environ=environ, default=None)
    below = find_python_for(SpecifierSet(f">={NEXT},<{newest}"), environ=environ, default=None)

    assert found.version_str == OTHER_INSTALLS[newest].name
    assert (found.requested, found.requested_by) == (f">={NEXT}", "requires-python")
    assert below.version_str == OTHER_INSTALLS[second].name


def test_an_upper_bound_finds_an_older_python(tmp_path: Path) -> None:
    older = needs(1, OLDER, "older")[0]
    environ = fake_pyenv(tmp_path, *OTHER_INSTALLS)

    found = find_python_for(SpecifierSet(f"<{MINOR}"), environ=environ, default=None)

    assert found.version_str == OTHER_INSTALLS[older].name


def test_versions_on_path_are_searched_and_failing_ones_skipped(tmp_path: Path) -> None:
    newer = needs(1, NEWER, "newer")[0]
    script(tmp_path / "shims" / f"python{newer}", "echo 'pyenv: not selected' >&2; exit 127")
    working = link(
        tmp_path / "real" / f"python{newer}", OTHER_INSTALLS[newer] / "bin" / f"python{newer}"
    )
    environ = hermetic_env(tmp_path, tmp_path / "shims", working.parent)

    found = find_python_for(SpecifierSet(f">={NEXT}"), environ=environ, default=None)

    assert found.executable == working


def test_when_nothing_satisfies_the_requirement_and_the_versions_found_are_named(
    tmp_path: Path,
) -> None:
    environ = fake_pyenv(tmp_path, *OTHER_INSTALLS)

    with pytest.raises(PythonNotFoundError) as caught:
        find_python_for(SpecifierSet(">=3.99"), environ=environ, default=None)

    assert caught.value.exit_code == 7
    assert caught.value.message == "no Python satisfies requires-python '>=3.99'"
    running = ".".join(map(str, RUNNING_VERSION))
    found = [running] + [install.name for install in OTHER_INSTALLS.values()]
    ordered = sorted(found, key=numbers, reverse=True)
    assert caught.value.hint.startswith(f"found Python {', '.join(ordered)}; ")
    assert "--python" in caught.value.hint


def test_a_broken_default_is_reported_as_the_default(tmp_path: Path) -> None:
    with pytest.raises(PythonNotFoundError) as caught:
        find_python_for(SpecifierSet(">=3.9"), environ=hermetic_env(tmp_path), default="3.99")

    assert "APPX_DEFAULT_PYTHON" in caught.value.hint
