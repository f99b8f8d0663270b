"""Tests for appx.linkstate: what `appx list` says about links, reading only."""

from __future__ import annotations

import os
import shutil

from appx.links import receipt_links
from appx.linkstate import is_installed, link_status, orphan_links, stray_links
from appx.paths import AppxPaths
from link_factories import make_generation, receipt_for


def test_link_status_reports_each_state(paths: AppxPaths) -> None:
    links = receipt_links(
        paths, receipt_for("black", "ok", "missing", "taken", "blocked", "dangling")
    )
    make_generation(paths, "black", "bin/ok")
    paths.bin_dir.mkdir()
    by_name = {link.path.name: link for link in links}
    (paths.bin_dir / "ok").symlink_to(by_name["ok"].target)
    (paths.bin_dir / "dangling").symlink_to(by_name["dangling"].target)
    (paths.bin_dir / "taken").symlink_to(f"{paths.home}/venvs/black+-b/current/bin/taken")
    (paths.bin_dir / "blocked").write_text("x", encoding="utf-8")

    statuses = {status.link.path.name: status for status in link_status(paths, "black", links)}

    assert {name: status.state for name, status in statuses.items()} == {
        "ok": "ok",
        "missing": "missing",
        "taken": "taken",
        "blocked": "blocked",
        "dangling": "dangling",
    }
    assert statuses["taken"].occupant.app == "black+-b"
    assert statuses["blocked"].occupant.describe() == "a file"


def test_a_file_in_place_of_the_man_dir_blocks_the_man_pages(paths: AppxPaths) -> None:
    paths.man_dir.parent.mkdir(parents=True, exist_ok=True)
    paths.man_dir.write_text("not a directory", encoding="utf-8")
    links = receipt_links(paths, receipt_for("black", "black", man=("man1/black.1",)))
    assert [s.state for s in link_status(paths, "black", links)] == ["missing", "blocked"]


def test_links_of_an_app_whose_current_generation_was_deleted_are_orphans(
    paths: AppxPaths,
) -> None:
    generation = make_generation(paths, "black", "bin/black")
    [link] = receipt_links(paths, receipt_for("black", "black"))
    paths.bin_dir.mkdir()
    link.path.symlink_to(link.target)
    assert is_installed(paths, "black")
    assert orphan_links(paths) == []

    shutil.rmtree(generation)  # `current` still names it

    assert not is_installed(paths, "black")
    assert orphan_links(paths) == [(link.path, "black")]


def test_orphans_are_links_of_apps_without_a_current_generation(paths: AppxPaths) -> None:
    make_generation(paths, "black", "bin/black")
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").symlink_to(f"{paths.home}/venvs/black/current/bin/black")
    ghost = paths.bin_dir / "ghost"
    ghost.symlink_to(f"{paths.home}/venvs/ghost/current/bin/ghost")
    (paths.bin_dir / "foreign").symlink_to("/usr/bin/true")
    assert orphan_links(paths) == [(ghost, "ghost")]


def test_strays_are_owned_links_the_current_receipt_does_not_list(paths: AppxPaths) -> None:
    make_generation(paths, "multi", "bin/multi-a")
    receipt = receipt_for("multi", "multi-a")
    [wanted] = receipt_links(paths, receipt)
    paths.bin_dir.mkdir()
    wanted.path.symlink_to(wanted.target)
    stray = paths.bin_dir / "multi-c"
    stray.symlink_to(f"{paths.home}/venvs/multi/current/bin/multi-c")
    os.symlink(f"{paths.home}/venvs/other/current/bin/multi-b", paths.bin_dir / "multi-b")
    assert stray_links(paths, receipt) == [stray]
