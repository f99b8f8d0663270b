"""Tests for appx.reconcile: mending links and displaced files after a crash; PATH warnings."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from appx.displaced import move_aside, stranded
from appx.links import receipt_links
from appx.linkstate import link_status
from appx.paths import AppxPaths
from appx.receipt import ExposedCommand, Receipt, save_receipt
from appx.reconcile import path_warnings, reconcile_links
from link_factories import make_generation, receipt_for, user_file

OLD, NEW = "g1-0000aaaa", "g2-0000bbbb"


def installed(paths: AppxPaths, receipt: Receipt, *, links: bool = True) -> None:
    """An app whose current generation OLD holds `receipt` and its commands, linked."""
    files = [f"bin/{command.name}" for command in receipt.commands]
    save_receipt(make_generation(paths, receipt.app, *files, name=OLD), receipt)
    if links:
        for link in receipt_links(paths, receipt):
            link.path.parent.mkdir(parents=True, exist_ok=True)
            link.path.symlink_to(link.target)


def killed_reinstall(paths: AppxPaths, app: str, command: str) -> Path:
    """What `install --force` killed at after-links leaves: the file aside, NEW's link there."""
    path = paths.bin_dir / command
    target = f"{paths.venvs}/{app}/current/bin/{command}"
    moved = move_aside(paths, path, app=app, generation=NEW, target=target, was="a file")
    path.symlink_to(target)
    return moved.moved_to


def test_a_killed_reinstall_gives_the_user_file_back_in_place_of_its_stray_link(
    paths: AppxPaths,
) -> None:
    installed(paths, receipt_for("multi", "multi-a"))
    mine = user_file(paths.bin_dir / "multi-c")
    aside = killed_reinstall(paths, "multi", "multi-c")
    assert stranded(paths) != []

    reconcile_links(paths)

    assert not (paths.bin_dir / "multi-c").is_symlink()
    assert (paths.bin_dir / "multi-c").read_bytes() == mine
    assert not os.path.lexists(aside)
    assert (paths.bin_dir / "multi-a").is_symlink()
    assert stranded(paths) == []


def test_a_file_put_back_wins_over_recreating_a_missing_link(paths: AppxPaths) -> None:
    # the user had replaced the app's link with a file of their own; --force was killed
    receipt = receipt_for("tool", "tool")
    installed(paths, receipt, links=False)
    mine = user_file(paths.bin_dir / "tool")
    killed_reinstall(paths, "tool", "tool")

    reconcile_links(paths)

    assert (paths.bin_dir / "tool").read_bytes() == mine
    links = receipt_links(paths, receipt)
    assert [s.state for s in link_status(paths, "tool", links)] == ["blocked"]


def test_missing_links_are_recreated_and_orphans_dropped(paths: AppxPaths) -> None:
    installed(paths, receipt_for("tool", "tool"), links=False)
    ghost = paths.bin_dir / "ghost"
    paths.bin_dir.mkdir()
    ghost.symlink_to(f"{paths.venvs}/ghost/current/bin/ghost")

    reconcile_links(paths)

    assert (paths.bin_dir / "tool").read_text(encoding="utf-8") == "tool:bin/tool\n"
    assert not os.path.lexists(ghost)


def test_a_receipt_naming_a_path_outside_the_bin_dir_makes_no_link(paths: AppxPaths) -> None:
    receipt = receipt_for("tool", "tool")
    installed(paths, receipt, links=False)
    edited = dataclasses.replace(
        receipt, commands=(ExposedCommand("tool", "../victimdir/pwned", "console", "tool"),)
    )
    save_receipt(paths.venvs / "tool" / OLD, edited)
    (paths.home.parent / "victimdir").mkdir()
    paths.bin_dir.mkdir()

    reconcile_links(paths)

    assert os.listdir(paths.home.parent / "victimdir") == []
    assert os.listdir(paths.bin_dir) == []


# ---------------------------------------------------------------- PATH warnings


def environ(paths: AppxPaths, *path: Path) -> dict[str, str]:
    home = paths.home.parent / "user"
    home.mkdir(exist_ok=True)
    return {"PATH": os.pathsep.join(map(str, path)), "HOME": str(home)}


def test_a_bin_dir_off_path_asks_for_ensurepath(paths: AppxPaths) -> None:
    [warning] = path_warnings(paths, ["tool"], environ(paths, Path("/usr/bin")))
    assert "run 'appx ensurepath'" in warning


@pytest.mark.parametrize(
    ("file", "line"),
    [
        (".bashrc", 'export PATH="$PATH:{bin}"'),
        (".profile", 'PATH="{bin}:$PATH"'),
        (".config/fish/config.fish", "set PATH $PATH {bin}"),
        (".zshrc", 'export PATH="$PATH:$HOME/bin-of-appx"'),
        (".bash_profile", 'export PATH="~/bin-of-appx/:$PATH"'),
    ],
)
def test_after_ensurepath_the_warning_says_open_a_new_shell(
    paths: AppxPaths, file: str, line: str
) -> None:
    env = environ(paths, Path("/usr/bin"))
    paths = dataclasses.replace(paths, bin_dir=Path(env["HOME"], "bin-of-appx"))
    startup = Path(env["HOME"], file)
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(f"# set by appx\n{line.format(bin=paths.bin_dir)}\n", encoding="utf-8")

    [warning] = path_warnings(paths, ["tool"], env)

    assert "open a new shell" in warning
    assert "appx ensurepath" not in warning


@pytest.mark.parametrize(
    "line",
    ['# export PATH="$PATH:{bin}"', 'export PATH="$PATH:{bin}2"', 'export PATH="{bin}/sub:$PATH"'],
    ids=["commented out", "another dir", "a subdir"],
)
def test_a_startup_file_that_does_not_add_the_bin_dir_still_asks_for_ensurepath(
    paths: AppxPaths, line: str
) -> None:
    env = environ(paths, Path("/usr/bin"))
    Path(env["HOME"], ".bashrc").write_text(line.format(bin=paths.bin_dir), encoding="utf-8")
    [warning] = path_warnings(paths, ["tool"], env)
    assert "run 'appx ensurepath'" in warning


def test_a_command_found_earlier_on_path_is_named(paths: AppxPaths) -> None:
    earlier = paths.home.parent / "earlier"
    user_file(earlier / "tool")
    env = environ(paths, earlier, paths.bin_dir)
    assert path_warnings(paths, ["tool", "other"], env) == [
        f"tool is shadowed by {earlier / 'tool'}, which comes first on PATH"
    ]
    assert path_warnings(paths, [], env) == []
