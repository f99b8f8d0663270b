"""Tests for appx.inspect: names, installed distributions, and what they expose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from appx.errors import SpecError
from appx.inspect import Command, ManPage, installed_distributions, read_exposed
from appx.names import name_problem, split_man_name, validate_name


@dataclass(frozen=True)
class FakeVenv:
    root: Path
    purelib: Path
    scripts: Path

    def add_dist(
        self,
        dir_name: str,
        *,
        metadata: str | None = None,
        entry_points: str | None = None,
        record: list[str] | None = None,
        requested: bool = True,
    ) -> Path:
        """Write a .dist-info dir by hand; RECORD lines are paths relative to purelib."""
        dist_info = self.purelib / f"{dir_name}.dist-info"
        dist_info.mkdir(parents=True)
        if metadata is not None:
            (dist_info / "METADATA").write_text(metadata, encoding="utf-8")
        if entry_points is not None:
            (dist_info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
        if record is not None:
            rows = [f"{path},sha256=abc,12" for path in record]
            rows.append(f"{dir_name}.dist-info/RECORD,,")
            (dist_info / "RECORD").write_text("\n".join(rows) + "\n", encoding="utf-8")
        if requested:
            (dist_info / "REQUESTED").write_text("", encoding="utf-8")
        return dist_info

    def exposed_by(self, *distributions: str) -> tuple[list[Command], list[ManPage], list[str]]:
        exposed = read_exposed(self.root, self.purelib, self.scripts, distributions)
        return list(exposed.commands), list(exposed.man_pages), list(exposed.rejected)


@pytest.fixture
def venv(tmp_path: Path) -> FakeVenv:
    root = tmp_path / "venv"
    purelib = root / "lib" / "python3.12" / "site-packages"
    purelib.mkdir(parents=True)
    (root / "bin").mkdir()
    return FakeVenv(root, purelib, root / "bin")


# ---------------------------------------------------------------- validate_name


@pytest.mark.parametrize("name", ["black", "black-b", "tool.py", "pycowsay+-b", "a b", "é" * 127])
def test_validate_name_accepts_ordinary_names(name: str) -> None:
    assert validate_name(name, "command name") == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        (".", "is a relative directory name"),
        ("..", "is a relative directory name"),
        ("a/b", "contains a path separator"),
        ("a\\b", "contains a path separator"),
        ("-x", "starts with '-'"),
        (".x", "starts with '.'"),
        ("\x00", "contains a control character"),
        ("a\nb", "contains a control character"),
        ("a\x7fb", "contains a control character"),
        ("x" * 256, "is longer than 255 bytes"),
        ("é" * 128, "is longer than 255 bytes"),  # 128 characters, 256 bytes
        ("bad\udcffbyte", "is not valid UTF-8"),
    ],
)
def test_validate_name_refuses_names_that_could_become_paths(name: str, problem: str) -> None:
    assert name_problem(name) == problem
    with pytest.raises(SpecError) as caught:
        validate_name(name, "command name")
    assert caught.value.message == f"invalid command name: {name!r}"
    assert problem in caught.value.hint
    assert "\n" not in caught.value.message


def test_validate_name_accepts_exactly_255_bytes() -> None:
    assert validate_name("x" * 255, "app name") == "x" * 255


# ---------------------------------------------------------------- installed_distributions


def test_installed_distributions_reads_names_versions_and_requested(venv: FakeVenv) -> None:
    venv.add_dist(
        "Foo_Bar-1.2",
        metadata="Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.2.post1\n\nName: not-this\n",
    )
    venv.add_dist("dep-3.0", metadata="Name: dep\nVersion: 3.0\n", requested=False)
    venv.add_dist("nometa-0.5")  # no METADATA: fall back to the directory name
    (venv.purelib / "notadist").mkdir()

    found = installed_distributions(venv.purelib)

    assert sorted(found) == ["dep", "foo-bar", "nometa"]
    assert found["foo-bar"].version == "1.2.post1"
    assert found["foo-bar"].requested is True
    assert found["foo-bar"].path == venv.purelib / "Foo_Bar-1.2.dist-info"
    assert found["dep"].requested is False
    assert (found["nometa"].name, found["nometa"].version) == ("nometa", "0.5")


def test_installed_distributions_of_a_missing_dir_is_empty(tmp_path: Path) -> None:
    assert installed_distributions(tmp_path / "nowhere") == {}


# ---------------------------------------------------------------- read_exposed

FOO_ENTRY_POINTS = """\
[console_scripts]
foo = foo.cli:main
foo.py = foo.cli:main [speedups]
-evil = foo.cli:main
; a comment
# another
../sneaky = foo.cli:main

[gui_scripts]
foo-gui = foo.gui:main

[foo.plugins]
notacommand = foo.plugin:thing
"""

FOO_RECORD = [
    "foo/__init__.py",
    "foo/cli.py",
    "../../../bin/foo",  # the generated script of an entry point: stays "console"
    "../../../bin/foo-helper",  # a plain script
    "../../../bin/.hidden",  # refused
    "../../../bin/__pycache__/foo-helper.cpython-312.pyc",  # not directly in bin
    "../../../bin/../../etc/evil",  # escapes the venv: never a command
    "../../../bin/sub/nested",  # not directly in bin
    "../../../share/man/man1/foo.1",
    "../../../share/man/man6/foo-gui.6.gz",
    "../../../share/man/man1/README",  # not a man page name: refused
    "../../../share/man/man1/sub/deep.1",  # two levels down: ignored
    "../../../share/man/mann/foo.n",  # not man1..man9: ignored
    "../../../share/man/de/man1/foo.1",  # a locale dir: ignored
    "../../../share/doc/foo/foo.1",  # not under share/man
]


def test_read_exposed_gathers_entry_points_scripts_and_man_pages(venv: FakeVenv) -> None:
    venv.add_dist(
        "foo-1.0",
        metadata="Name: foo\nVersion: 1.0\n",
        entry_points=FOO_ENTRY_POINTS,
        record=FOO_RECORD,
    )

    commands, man_pages, rejected = venv.exposed_by("Foo")

    assert commands == [
        Command("foo", "console", "foo"),
        Command("foo-gui", "gui", "foo"),
        Command("foo-helper", "script", "foo"),
        Command("foo.py", "console", "foo"),
    ]
    assert man_pages == [
        ManPage("man1", "foo.1", "foo"),
        ManPage("man6", "foo-gui.6.gz", "foo"),
    ]
    assert rejected == [
        "refused command name '-evil' from package foo: starts with '-'",
        "refused command name '../sneaky' from package foo: contains a path separator",
        "refused command name '.hidden' from package foo: starts with '.'",
        "refused man page name 'README' from package foo: is not of the form NAME.<section>[.gz]",
    ]


def test_read_exposed_takes_only_the_named_distributions(venv: FakeVenv) -> None:
    venv.add_dist(
        "app-1.0",
        metadata="Name: app\nVersion: 1.0\n",
        entry_points="[console_scripts]\napp = app:main\n",
        record=["../../../bin/app"],
    )
    venv.add_dist(
        "dep-2.0",
        metadata="Name: dep\nVersion: 2.0\n",
        entry_points="[console_scripts]\ndep-tool = dep:main\nshared = dep:main\n",
        record=["../../../bin/dep-tool", "../../../bin/shared", "../../../share/man/man1/dep.1"],
        requested=False,
    )
    venv.add_dist(
        "other-1.0",
        metadata="Name: other\nVersion: 1.0\n",
        record=["../../../bin/shared"],  # a plain script of the same name
        requested=False,
    )

    assert venv.exposed_by("app")[0] == [Command("app", "console", "app")]
    assert venv.exposed_by("app")[1] == []

    commands, man_pages, _ = venv.exposed_by("app", "other", "dep")
    # an entry point beats a plain script of the same name, whoever comes first
    assert commands == [
        Command("app", "console", "app"),
        Command("dep-tool", "console", "dep"),
        Command("shared", "console", "dep"),
    ]
    assert man_pages == [ManPage("man1", "dep.1", "dep")]


def test_read_exposed_without_record_or_entry_points_is_empty(venv: FakeVenv) -> None:
    venv.add_dist("bare-1.0", metadata="Name: bare\nVersion: 1.0\n")
    assert venv.exposed_by("bare") == ([], [], [])
    assert venv.exposed_by("not-installed") == ([], [], [])


def test_read_exposed_survives_corrupt_files(venv: FakeVenv) -> None:
    dist_info = venv.add_dist("broken-1.0", metadata="Name: broken\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_bytes(
        b"\xff\xfe garbage\n[console_scripts\n= nothing\nnovalue =\n[console_scripts]\nok = m:f\n"
    )
    (dist_info / "RECORD").mkdir()  # unreadable as a file

    commands, man_pages, rejected = venv.exposed_by("broken")

    assert commands == [Command("ok", "console", "broken")]
    assert (man_pages, rejected) == ([], [])


def test_read_exposed_refuses_undecodable_script_names(venv: FakeVenv) -> None:
    dist_info = venv.add_dist("weird-1.0", metadata="Name: weird\nVersion: 1.0\n")
    (dist_info / "RECORD").write_bytes(b"../../../bin/bad\xffname,,\n../../../bin/good,,\n")

    commands, _, rejected = venv.exposed_by("weird")

    assert commands == [Command("good", "script", "weird")]
    assert len(rejected) == 1
    assert rejected[0].endswith("from package weird: is not valid UTF-8")


def test_read_exposed_accepts_absolute_record_paths(venv: FakeVenv) -> None:
    venv.add_dist(
        "abs-1.0",
        metadata="Name: abs\nVersion: 1.0\n",
        record=[str(venv.scripts / "abs-tool"), "/etc/passwd"],
    )
    assert venv.exposed_by("abs")[0] == [Command("abs-tool", "script", "abs")]


@pytest.mark.parametrize(
    ("name", "stem", "ext"),
    [
        ("tool.1", "tool", "1"),
        ("tool.1.gz", "tool", "1.gz"),
        ("tool.3p", "tool", "3p"),
        ("git-foo.1ssl", "git-foo", "1ssl"),
        ("foo.2.1", "foo.2", "1"),
    ],
)
def test_split_man_name(name: str, stem: str, ext: str) -> None:
    assert split_man_name(name) == (stem, ext)
    assert ManPage("man1", name, "d").split_name() == (stem, ext)


@pytest.mark.parametrize("name", ["README", "tool.", ".1", "tool.gz", "tool.x1"])
def test_split_man_name_refuses_non_man_pages(name: str) -> None:
    with pytest.raises(ValueError, match="not a man page name"):
        split_man_name(name)
