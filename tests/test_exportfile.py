"""The export file: its TOML round trip, escaping, versioning and errors."""

from __future__ import annotations

import io
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from appx.errors import SpecError
from appx.exportfile import (
    FORMAT,
    ExportedApp,
    dumps,
    exported_app,
    loads,
    read_export,
    write_export,
)
from appx.indexes import IndexOptions
from appx.receipt import PythonInfo, Receipt, VenvInfo

ODD = 'quote " backslash \\ tab \t newline \n cr \r nul \x00 del \x7f bell \x07 é 雪 \U0001f600'


def full_app() -> ExportedApp:
    """An app with every field away from its default."""
    return ExportedApp(
        name="black+-b",
        package="black",
        spec="black[d]==24.1.0",
        version="24.1.0",
        kind="name",
        suffix="-b",
        python="3.12",
        include_deps=True,
        editable=False,
        pinned=True,
        injected=("black-plugin==1.0", "other"),
        index=IndexOptions(
            index_url="https://index.example.org/simple",
            extra_index_urls=("https://extra.example.org/simple",),
            find_links=("/srv/wheels",),
            no_index=True,
            pre=True,
            trusted_hosts=("extra.example.org",),
            constraints=("/srv/constraints.txt",),
            pip_args=("--no-cache-dir", "--prefer-binary"),
        ),
        distributions={"black": "24.1.0", "click": "8.1.7"},
    )


def receipt(**changes: object) -> Receipt:
    base = Receipt(
        app="tool",
        package="tool",
        version="1.0",
        spec="tool==1.0",
        spec_kind="name",
        requirement="tool==1.0",
        suffix="",
        python=PythonInfo("3.12", "/usr/bin/python3.12", "3.12.4", "cpython", "--python"),
        venv=VenvInfo("/v/bin/python", "/v/lib", "/v/bin"),
        backend="pip",
        backend_version="24.0",
        distributions={"tool": "1.0", "dep": "2.0"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_every_field_survives_the_round_trip() -> None:
    apps = [full_app(), ExportedApp("tool", "tool", "/src/tool", "0.1", kind="directory")]
    text = dumps(apps)
    assert tomllib.loads(text)["format"] == FORMAT
    assert loads(text) == apps


def test_odd_strings_are_escaped_and_read_back_exactly() -> None:
    app = replace(
        full_app(),
        spec=ODD,
        kind="url",  # a name spec must name its package; this one is only a text
        injected=(ODD, ""),
        index=IndexOptions(index_url=ODD, pip_args=(ODD,)),
    )
    text = dumps([app])
    assert "\x00" not in text
    assert "\x7f" not in text
    assert loads(text) == [app]


def test_no_credentials_are_written() -> None:
    secret = replace(
        full_app(),
        spec="tool @ https://alice:s3cret@git.example.org/tool.whl",
        kind="url",
        injected=("plugin @ https://TOKEN123@example.org/p.whl",),
        index=IndexOptions(
            index_url="https://bob:hunter2@pypi.example.org/simple",
            extra_index_urls=("https://TOKEN456@extra.example.org/simple",),
            find_links=("https://u:pw9@links.example.org/",),
            pip_args=("--index-url=https://u:pw8@x.example.org",),
        ),
    )
    text = dumps([secret])
    for word in ("s3cret", "TOKEN123", "hunter2", "TOKEN456", "pw9", "pw8"):
        assert word not in text
    (back,) = loads(text)
    assert back.index.index_url == "https://bob:****@pypi.example.org/simple"


def test_an_app_is_exported_from_its_receipt() -> None:
    app = exported_app(receipt(), pinned=True)
    assert (app.name, app.spec, app.version, app.python, app.pinned) == (
        "tool",
        "tool==1.0",
        "1.0",
        "3.12",
        True,
    )
    assert app.distributions == {"dep": "2.0", "tool": "1.0"}
    local = exported_app(
        receipt(spec="./tool", spec_kind="directory", requirement="/src/tool", editable=True),
        pinned=False,
    )
    assert (local.spec, local.kind, local.editable) == ("/src/tool", "directory", True)
    hidden = exported_app(receipt(injected=("x @ https://TOKEN@h/x.whl",)), pinned=False)
    assert hidden.injected == ("x @ https://****@h/x.whl",)


def test_a_newer_format_is_refused_with_a_message() -> None:
    with pytest.raises(SpecError, match=r"format 2; this appx reads format 1") as caught:
        loads("format = 2\n[[app]]\nwhatever = true\n", "apps.toml")
    assert "upgrade appx" in caught.value.hint
    assert caught.value.exit_code == 3


def test_a_file_without_a_format_is_refused() -> None:
    with pytest.raises(SpecError, match="no format number"):
        loads("[[app]]\nname = 'x'\n")


def test_malformed_toml_is_an_error_naming_its_line() -> None:
    text = dumps([full_app()]).replace('version = "24.1.0"', "version = 24.1.0.0", 1)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "24.1.0.0" in t)
    with pytest.raises(SpecError, match=rf"apps\.toml is not valid TOML: .*line {line}"):
        loads(text, "apps.toml")


@pytest.mark.parametrize(
    ("replace_this", "with_this", "message"),
    [
        ('version = "24.1.0"', "version = 24", r"app 1 \(black\+-b\): version is not a string"),
        ("pinned = true", 'pinned = "yes"', r"app 1 \(black\+-b\): pinned is not true or false"),
        ('injected = ["black-plugin==1.0", "other"]', "injected = [1]", "not an array of strings"),
        ("no_index = true", "no_index = 1", r"\(black\+-b\): index: no_index is not true"),
        ('click = "8.1.7"', "click = 8", r"distributions: click is not a string"),
        ('name = "black+-b"', 'name = "../x"', "contains a path separator"),
        ('name = "black+-b"', 'name = "black+-c"', "does not match package"),
        ('name = "black+-b"', 'name = "black"', "does not match package"),
        ('kind = "name"', 'kind = "script"', "kind 'script' is not one of"),
        ('python = "3.12"', 'python = "3.12; rm"', "is not a version such as 3.12"),
        ('spec = "black[d]==24.1.0"', "", r"app 1 \(black\+-b\): spec is missing"),
    ],
)
def test_a_wrong_value_names_the_app_and_key(
    replace_this: str, with_this: str, message: str
) -> None:
    text = dumps([full_app()])
    assert replace_this in text
    with pytest.raises(SpecError, match=message):
        loads(text.replace(replace_this, with_this, 1))


def test_an_app_listed_twice_is_refused() -> None:
    with pytest.raises(SpecError, match="listed twice"):
        loads(dumps([full_app(), full_app()]))


def test_unknown_keys_of_the_same_format_are_ignored() -> None:
    text = dumps([full_app()]).replace("[[app]]\n", "[[app]]\nfuture = 1\n")
    text = text.replace("format = 1\n", "format = 1\nextra = 2\n")
    assert loads(text) == [full_app()]


def test_files_are_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out" / "apps.toml"
    path.parent.mkdir()
    write_export(path, dumps([full_app()]))
    assert read_export(path, io.StringIO()) == [full_app()]
    assert [p.name for p in path.parent.iterdir()] == ["apps.toml"]  # no temp file left
    assert read_export(Path("-"), io.StringIO(dumps([]))) == []
    with pytest.raises(SpecError, match="no such file"):
        read_export(tmp_path / "nope.toml", io.StringIO())
    with pytest.raises(SpecError, match="cannot write"):
        write_export(tmp_path / "missing" / "apps.toml", "x")


@pytest.mark.parametrize(
    "key",
    ['"x==1\\n--no-index\\ny"', '"--extra-index-url"', '"Not_Canonical"'],
)
def test_distributions_can_hold_only_project_names_and_versions(key: str) -> None:
    text = dumps([full_app()]).replace("[app.distributions]", f'[app.distributions]\n{key} = "1"')
    with pytest.raises(SpecError, match="is not a project name"):
        loads(text)
    bad_version = dumps([full_app()]).replace(
        "[app.distributions]", '[app.distributions]\nfine = "1 --pre"'
    )
    with pytest.raises(SpecError, match="is not a version"):
        loads(bad_version)


def test_a_spec_that_installs_another_package_is_refused() -> None:
    text = dumps([replace(full_app(), spec="pycowsay")])
    with pytest.raises(SpecError, match="does not install package"):
        loads(text)
