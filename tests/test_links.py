"""Tests for appx.links: exposed names, the links a receipt calls for, ownership, the one scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appx.errors import SpecError
from appx.links import (
    Link,
    exposed_man_name,
    exposed_name,
    occupant_of,
    owned_links,
    receipt_links,
    scan_links,
)
from appx.linkstate import orphan_links
from appx.paths import AppxPaths
from appx.shims import remove_app_links
from link_factories import receipt_for

# ---------------------------------------------------------------- exposed names


def test_exposed_names_carry_the_suffix_before_a_man_pages_extension() -> None:
    assert exposed_name("pycowsay", "") == "pycowsay"
    assert exposed_name("pycowsay", "-b") == "pycowsay-b"
    assert exposed_man_name("pycowsay.6", "-b") == "pycowsay-b.6"
    assert exposed_man_name("tool.1.gz", "-b") == "tool-b.1.gz"
    assert exposed_man_name("tool.3p", "") == "tool.3p"


@pytest.mark.parametrize(
    ("name", "suffix"),
    [("black", "/x"), ("black", "\n"), ("../black", ""), ("black", "b" * 255), (".hidden", "")],
)
def test_exposed_name_refuses_a_name_that_could_leave_the_bin_dir(name: str, suffix: str) -> None:
    with pytest.raises(SpecError) as caught:
        exposed_name(name, suffix)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    ("page", "suffix"), [("tool.1", "/../x"), ("README", ""), ("../tool.1", ""), ("tool.1", "\t")]
)
def test_exposed_man_name_refuses_bad_names(page: str, suffix: str) -> None:
    with pytest.raises(SpecError):
        exposed_man_name(page, suffix)


# ---------------------------------------------------------------- links from a receipt


def test_receipt_links_suffix_commands_and_man_pages(paths: AppxPaths) -> None:
    receipt = receipt_for(
        "pycowsay+-b", "pycowsay", suffix="-b", man=("man6/pycowsay.6", "man1/tool.1.gz")
    )
    app_root = f"{paths.home}/venvs/pycowsay+-b/current"
    assert receipt_links(paths, receipt) == [
        Link(paths.bin_dir / "pycowsay-b", f"{app_root}/bin/pycowsay"),
        Link(paths.man_dir / "man6" / "pycowsay-b.6", f"{app_root}/share/man/man6/pycowsay.6"),
        Link(paths.man_dir / "man1" / "tool-b.1.gz", f"{app_root}/share/man/man1/tool.1.gz"),
    ]


# ---------------------------------------------------------------- ownership and the scan


def test_occupant_of_tells_every_kind(paths: AppxPaths) -> None:
    bin_dir = paths.bin_dir
    bin_dir.mkdir()
    (bin_dir / "file").write_text("x", encoding="utf-8")
    (bin_dir / "dir").mkdir()
    (bin_dir / "pipx").symlink_to("/root/.local/pipx/venvs/black/bin/black")
    (bin_dir / "uv").symlink_to("/root/.local/share/uv/tools/black/bin/black")
    (bin_dir / "other").symlink_to("/usr/bin/true")
    (bin_dir / "ours").symlink_to(f"{paths.home}/venvs/black/current/bin/black")
    (bin_dir / "trap").symlink_to(f"{paths.home}/venvs/black+-b/current/bin/black")
    (bin_dir / "notcurrent").symlink_to(f"{paths.home}/venvs/black/g1/bin/black")

    kinds = {name: occupant_of(paths, bin_dir / name) for name in os.listdir(bin_dir)}
    kinds["free"] = occupant_of(paths, bin_dir / "free")

    assert {name: (o.kind, o.app) for name, o in kinds.items()} == {
        "file": ("file", None),
        "dir": ("directory", None),
        "pipx": ("pipx", None),
        "uv": ("uv", None),
        "other": ("symlink", None),
        "ours": ("app", "black"),
        "trap": ("app", "black+-b"),
        "notcurrent": ("symlink", None),
        "free": ("free", None),
    }
    assert kinds["pipx"].detail == "/root/.local/pipx/venvs/black/bin/black"


def ours(paths: AppxPaths, app: str, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    where.symlink_to(f"{paths.home}/venvs/{app}/current/bin/{where.name}")
    return where


def test_the_scan_sees_owned_links_in_bin_and_man_sections_only(paths: AppxPaths) -> None:
    black = ours(paths, "black", paths.bin_dir / "black")
    page = ours(paths, "black", paths.man_dir / "man1" / "black.1")
    ours(paths, "black", paths.man_dir / "mandb" / "black.1")  # appx never links here
    ours(paths, "black", paths.man_dir / "black.1")  # nor here
    (paths.bin_dir / "foreign").symlink_to("/usr/bin/true")
    twin = ours(paths, "black+-b", paths.bin_dir / "black-b")

    assert sorted(scan_links(paths)) == sorted(
        [
            (black, os.readlink(black)),
            (twin, os.readlink(twin)),
            (page, os.readlink(page)),
        ]
    )
    assert owned_links(paths, "black") == [black, page]


def test_uninstall_and_list_agree_on_a_symlinked_man_section(paths: AppxPaths) -> None:
    # man1 is a symlink to a directory elsewhere: links are created through it by path,
    # so removing an app's links must find them there, as the orphan report does
    elsewhere = paths.home.parent / "elsewhere-man1"
    elsewhere.mkdir()
    paths.man_dir.mkdir()
    (paths.man_dir / "man1").symlink_to(elsewhere)
    page = ours(paths, "black", paths.man_dir / "man1" / "black.1")
    assert orphan_links(paths) == [(page, "black")]

    assert remove_app_links(paths, "black") == [page]

    assert not os.path.lexists(elsewhere / "black.1")
    assert orphan_links(paths) == []


def test_the_scan_of_missing_dirs_is_empty(paths: AppxPaths) -> None:
    assert list(scan_links(paths)) == []
    paths.man_dir.parent.mkdir(parents=True, exist_ok=True)
    paths.man_dir.write_text("a file, not a directory", encoding="utf-8")
    assert list(scan_links(paths)) == []
