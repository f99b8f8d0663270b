"""Tests for appx.specs: what the user typed becomes a spec, and the app's name is known early."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from appx.errors import SpecError
from appx.specs import (
    app_name,
    check_marker,
    parse_spec,
    split_app_name,
    suffix_problem,
    validate_suffix,
)

if TYPE_CHECKING:
    from pathlib import Path


def _project(root: Path, pyproject: str | None = None, *, setup_py: bool = False) -> Path:
    root.mkdir(parents=True)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if setup_py:
        (root / "setup.py").write_text("from setuptools import setup\nsetup()\n", encoding="utf-8")
    return root


# ---------------------------------------------------------------- requirements and URLs


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("black", "black"),
        ("Black_Tool==1.0", "black-tool"),
        ("black[d]>=24", "black"),
        ("  black  ", "black"),
        ("Zope.Interface<6; python_version >= '3.8'", "zope-interface"),
    ],
)
def test_a_requirement_gives_its_canonical_name(tmp_path: Path, raw: str, name: str) -> None:
    spec = parse_spec(raw, cwd=tmp_path)
    assert spec.kind == "name"
    assert spec.name == name
    assert spec.raw == raw
    assert not spec.editable


def test_a_requirement_keeps_its_version_and_extras_for_the_installer(tmp_path: Path) -> None:
    spec = parse_spec("black[d]>=24", cwd=tmp_path)
    assert spec.requirement == "black[d]>=24"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("name @ https://example.org/x-1.0.tar.gz", "name"),
        ("My_Pkg[extra] @ https://example.org/archive.zip", "my-pkg"),
        ("black @ git+https://github.com/psf/black", "black"),
    ],
)
def test_a_direct_reference_is_a_url_whose_name_is_known(
    tmp_path: Path, raw: str, name: str
) -> None:
    spec = parse_spec(raw, cwd=tmp_path)
    assert spec.kind == "url"
    assert spec.name == name
    assert spec.requirement.split("@", 1)[1].strip() == raw.split("@", 1)[1].strip()


def test_a_vcs_url_needs_a_build_to_learn_its_name(tmp_path: Path) -> None:
    spec = parse_spec("git+https://github.com/psf/black@main", cwd=tmp_path)
    assert spec.kind == "vcs"
    assert spec.name is None
    assert spec.requirement == "git+https://github.com/psf/black@main"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("https://files.example.org/pkg-1.0-py3-none-any.whl", "pkg"),
        ("https://files.example.org/My_Tool-2.0.tar.gz", "my-tool"),
        ("https://files.example.org/some%20where/tool-1.0.zip", "tool"),
        ("https://files.example.org/download", None),
        ("https://files.example.org/not_a_wheel.whl", None),
    ],
)
def test_an_archive_url_gets_its_name_from_the_file_name(
    tmp_path: Path, raw: str, name: str | None
) -> None:
    spec = parse_spec(raw, cwd=tmp_path)
    assert spec.kind == "url"
    assert spec.name == name
    assert spec.requirement == raw


def test_a_url_without_host_or_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not a valid URL"):
        parse_spec("https://", cwd=tmp_path)


# ---------------------------------------------------------------- local files and directories


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("Cow_Say-1.0-py3-none-any.whl", "cow-say"),
        ("pkg-2.0.tar.gz", "pkg"),
        ("pkg-2.0.zip", "pkg"),
        ("pkg-2.0.tar.bz2", "pkg"),
    ],
)
def test_a_wheel_or_sdist_file_gets_its_name_from_the_file_name(
    tmp_path: Path, filename: str, name: str
) -> None:
    (tmp_path / filename).touch()
    spec = parse_spec(filename, cwd=tmp_path)
    assert spec.kind == ("wheel" if filename.endswith(".whl") else "sdist")
    assert spec.name == name
    assert spec.requirement == str(tmp_path / filename)


def test_a_relative_file_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "pkg-1.0-py3-none-any.whl").touch()
    spec = parse_spec("./dist/pkg-1.0-py3-none-any.whl", cwd=tmp_path)
    assert spec.requirement == str(tmp_path / "dist" / "pkg-1.0-py3-none-any.whl")


def test_a_wheel_file_with_an_invalid_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "oops.whl").touch()
    with pytest.raises(SpecError, match=r"not a valid wheel file name: oops\.whl"):
        parse_spec("oops.whl", cwd=tmp_path)


def test_a_file_that_is_not_a_package_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").touch()
    with pytest.raises(SpecError, match="not a wheel, sdist or project directory"):
        parse_spec("./notes.txt", cwd=tmp_path)


def test_a_project_with_a_static_name(tmp_path: Path) -> None:
    project = _project(tmp_path / "src-dir", '[project]\nname = "My_Tool"\nversion = "1"\n')
    spec = parse_spec("./src-dir", cwd=tmp_path)
    assert spec.kind == "directory"
    assert spec.name == "my-tool"
    assert spec.requirement == str(project)


def test_an_absolute_project_path(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", '[project]\nname = "tool"\n')
    spec = parse_spec(str(project), cwd=tmp_path / "elsewhere")
    assert (spec.kind, spec.name) == ("directory", "tool")


@pytest.mark.parametrize(
    "pyproject",
    [
        '[project]\nname = "tool"\ndynamic = ["name", "version"]\n',
        '[build-system]\nrequires = ["setuptools"]\n',
        "[project\nname = broken",
        '[project]\nversion = "1"\n',
        "[project]\nname = 3\n",
    ],
    ids=["dynamic-name", "no-project-table", "invalid-toml", "no-name", "name-not-a-string"],
)
def test_a_project_without_a_static_name_needs_a_build(tmp_path: Path, pyproject: str) -> None:
    _project(tmp_path / "p", pyproject)
    spec = parse_spec("./p", cwd=tmp_path)
    assert spec.kind == "directory"
    assert spec.name is None


def test_a_setup_py_project_needs_a_build(tmp_path: Path) -> None:
    _project(tmp_path / "p", setup_py=True)
    spec = parse_spec("./p", cwd=tmp_path)
    assert (spec.kind, spec.name) == ("directory", None)


def test_a_directory_that_is_not_a_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match=r"not a Python project: \./empty") as info:
        parse_spec("./empty", cwd=tmp_path)
    assert "pyproject.toml" in info.value.hint


def test_a_missing_path_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no such file or directory: \./nowhere/pkg") as info:
        parse_spec("./nowhere/pkg", cwd=tmp_path)
    assert info.value.exit_code == 3


def test_a_missing_wheel_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no such file or directory: pkg-1\.0-py3-none-any\.whl"):
        parse_spec("pkg-1.0-py3-none-any.whl", cwd=tmp_path)


def test_a_plain_name_is_a_requirement_even_when_a_directory_has_that_name(
    tmp_path: Path,
) -> None:
    _project(tmp_path / "black", '[project]\nname = "not-black"\n')
    spec = parse_spec("black", cwd=tmp_path)
    assert (spec.kind, spec.name) == ("name", "black")


def test_a_static_project_name_that_could_escape_a_directory_is_refused(tmp_path: Path) -> None:
    _project(tmp_path / "p", '[project]\nname = "evil/../x"\n')
    with pytest.raises(SpecError, match="invalid package name"):
        parse_spec("./p", cwd=tmp_path)


# ---------------------------------------------------------------- editable


def test_editable_accepts_a_project_directory(tmp_path: Path) -> None:
    _project(tmp_path / "p", '[project]\nname = "tool"\n')
    spec = parse_spec("./p", cwd=tmp_path, editable=True)
    assert spec.editable
    assert spec.name == "tool"


@pytest.mark.parametrize("raw", ["black", "pkg-1.0-py3-none-any.whl", "git+https://h/r"])
def test_editable_refuses_anything_but_a_directory(tmp_path: Path, raw: str) -> None:
    (tmp_path / "pkg-1.0-py3-none-any.whl").touch()
    with pytest.raises(SpecError, match="--editable needs a local project directory"):
        parse_spec(raw, cwd=tmp_path, editable=True)


# ---------------------------------------------------------------- invalid specs


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_an_empty_spec_is_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SpecError, match="empty spec"):
        parse_spec(raw, cwd=tmp_path)


@pytest.mark.parametrize("raw", ["!!", "black==", "black[", "black @", "black;;"])
def test_an_invalid_requirement_is_refused_with_a_hint(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SpecError, match="not a valid requirement, path or URL") as info:
        parse_spec(raw, cwd=tmp_path)
    assert info.value.hint
    assert info.value.exit_code == 3


# ---------------------------------------------------------------- suffixes and app names


@pytest.mark.parametrize("suffix", ["-b", "@2", "_x", "2.0", "..", "a" * 64])
def test_a_suffix_from_the_safe_alphabet_is_accepted(suffix: str) -> None:
    assert validate_suffix(suffix) == suffix


def test_a_dots_only_suffix_stays_inside_one_file_name() -> None:
    # '..' is accepted: it is only ever appended to a name, never used alone as a path.
    assert app_name("black", validate_suffix("..")) == "black+.."


@pytest.mark.parametrize(
    "suffix",
    ["", "/x", "a/b", "a\\b", "a b", "a\tb", "x\x00", "x\x1b[1m", "b\n", "+x", "ü", "a" * 65],
    ids=[
        "empty",
        "leading-slash",
        "slash",
        "backslash",
        "space",
        "tab",
        "nul",
        "escape",
        "trailing-newline",
        "plus",
        "non-ascii",
        "too-long",
    ],
)
def test_an_unsafe_suffix_is_refused(suffix: str) -> None:
    with pytest.raises(SpecError, match="invalid suffix") as info:
        validate_suffix(suffix)
    assert "64" in info.value.hint


@pytest.mark.parametrize(
    ("package", "suffix", "app"),
    [
        ("Py_Cow.Say", "-b", "py-cow-say+-b"),
        ("black", "", "black"),
        ("black", "@24", "black+@24"),
        ("pycowsay-b", "", "pycowsay-b"),
    ],
)
def test_app_name_and_split_app_name_round_trip(package: str, suffix: str, app: str) -> None:
    assert app_name(package, suffix) == app
    canonical, split_suffix = split_app_name(app)
    assert split_suffix == suffix
    assert app_name(canonical, split_suffix) == app


def test_a_suffixed_app_never_collides_with_a_package_of_the_joined_name() -> None:
    assert app_name("pycowsay", "-b") != app_name("pycowsay-b")


def test_suffix_problem_says_what_validate_suffix_refuses() -> None:
    assert suffix_problem("-b") is None
    assert suffix_problem("/x") is not None


# ---------------------------------------------------------------- long names (item 6)


@pytest.mark.parametrize(
    "raw",
    ["a" * 260, "a" * 260 + "!", "./" + "a" * 260, "a" * 300 + ".whl", "~/" + "b" * 260],
    ids=["name", "not-a-name", "relative-path", "wheel", "home-path"],
)
def test_a_name_too_long_for_the_filesystem_is_a_spec_error(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(raw, cwd=tmp_path)
    assert info.value.exit_code == 3


def test_a_path_under_an_unknown_home_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot use the path"):
        parse_spec("~no-such-user-here/proj", cwd=tmp_path)


# ---------------------------------------------------------------- extras on local paths (item 11)


def test_a_project_directory_with_extras_keeps_them_for_the_installer(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", '[project]\nname = "tool"\n')
    for raw in ("./proj[cli]", f"{project}[cli]", "./proj[docs, CLI]"):
        spec = parse_spec(raw, cwd=tmp_path)
        assert (spec.kind, spec.name) == ("directory", "tool")
        assert spec.requirement.startswith(f"{project}[")
    assert parse_spec("./proj[docs, cli]", cwd=tmp_path).requirement == f"{project}[cli,docs]"


def test_an_editable_project_with_extras(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", '[project]\nname = "tool"\n')
    spec = parse_spec("./proj[cli]", cwd=tmp_path, editable=True)
    assert (spec.editable, spec.requirement) == (True, f"{project}[cli]")


@pytest.mark.parametrize(
    ("filename", "kind"),
    [("tool-1.0-py3-none-any.whl", "wheel"), ("tool-1.0.tar.gz", "sdist")],
)
def test_a_wheel_or_sdist_with_extras(tmp_path: Path, filename: str, kind: str) -> None:
    (tmp_path / filename).touch()
    spec = parse_spec(f"{filename}[cli]", cwd=tmp_path)
    assert (spec.kind, spec.name) == (kind, "tool")
    assert spec.requirement == f"{tmp_path / filename}[cli]"


def test_extras_on_a_missing_path_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no such file or directory: \./gone$"):
        parse_spec("./gone[cli]", cwd=tmp_path)


def test_invalid_extras_on_a_path_are_refused(tmp_path: Path) -> None:
    _project(tmp_path / "proj", '[project]\nname = "tool"\n')
    with pytest.raises(SpecError, match="invalid extras"):
        parse_spec("./proj[-bad-]", cwd=tmp_path)


# ---------------------------------------------------------------- markers (item 12)

PY312 = {
    "python_version": "3.12",
    "python_full_version": "3.12.1",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "implementation_name": "cpython",
}


def test_a_marker_that_excludes_the_target_python_is_refused(tmp_path: Path) -> None:
    spec = parse_spec("pycowsay; python_version<'3'", cwd=tmp_path)
    with pytest.raises(SpecError, match="excludes this Python") as info:
        check_marker(spec, PY312)
    assert info.value.exit_code == 3
    assert "3.12.1" in info.value.hint


@pytest.mark.parametrize(
    "raw",
    [
        "pycowsay; python_version>='3.9'",
        "pycowsay",
        "tool @ https://h/tool-1.0.tar.gz ; sys_platform == 'linux'",
        "pycowsay; extra == ''",
    ],
)
def test_a_marker_that_holds_or_no_marker_is_accepted(tmp_path: Path, raw: str) -> None:
    check_marker(parse_spec(raw, cwd=tmp_path), PY312)


def test_a_direct_reference_with_an_excluding_marker_is_refused(tmp_path: Path) -> None:
    spec = parse_spec("tool @ https://h/tool-1.0.tar.gz ; sys_platform == 'win32'", cwd=tmp_path)
    with pytest.raises(SpecError, match="excludes this Python"):
        check_marker(spec, PY312)


def test_without_a_marker_environment_pip_decides(tmp_path: Path) -> None:
    check_marker(parse_spec("pycowsay; python_version<'3'", cwd=tmp_path), {})


@pytest.mark.parametrize(
    ("raw", "editable"),
    [
        ("tool @ https://tok@h/x.whl ;;", False),
        ("https://tok@h/x.whl", True),
        ("tool @ https://u:tok@h/x.whl; python_version<'3'", False),
    ],
)
def test_errors_about_a_spec_never_show_its_secret(
    tmp_path: Path, raw: str, editable: bool
) -> None:
    with pytest.raises(SpecError) as info:
        check_marker(parse_spec(raw, cwd=tmp_path, editable=editable), PY312)
    assert "tok" not in info.value.message + info.value.hint


@pytest.mark.parametrize("raw", ["bad @ @1", "tool @ ./proj", "tool @ /abs/tool.whl"])
def test_a_direct_reference_without_a_url_is_refused(raw: str, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not a URL after '@'"):
        parse_spec(raw, cwd=tmp_path)
