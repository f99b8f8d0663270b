"""Tests for appx.shims: the pure planner, then applying plans to a bin and man dir."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from appx.errors import EnvironmentSetupError, ShimConflictError, SpecError
from appx.inspect import Command, ManPage
from appx.paths import AppxPaths
from appx.shims import (
    Link,
    Observed,
    Occupant,
    ShimPlan,
    apply_after_flip,
    apply_before_flip,
    compute_plan,
    conflict_error,
    desired_links,
    link_status,
    occupant_of,
    owned_links,
    plan_shims,
    remove_app_links,
    undo_before_flip,
)

# ---------------------------------------------------------------- pure planning, no filesystem

HOME = "/h/appx"
BLACK = Link(Path("/h/bin/black"), f"{HOME}/venvs/black/current/bin/black")
BLACKD = Link(Path("/h/bin/blackd"), f"{HOME}/venvs/black/current/bin/blackd")
MAN = Link(Path("/h/man/man1/black.1"), f"{HOME}/venvs/black/current/share/man/man1/black.1")

FOREIGN = [
    Occupant("file"),
    Occupant("pipx", None, "/root/.local/pipx/venvs/black/bin/black"),
    Occupant("uv", None, "/root/.local/share/uv/tools/black/bin/black"),
    Occupant("symlink", None, "/usr/bin/black"),
]
OTHER_APP = Occupant("app", "black+-b", f"{HOME}/venvs/black+-b/current/bin/black")


def plan(
    *links: Link, force: bool = False, owned: tuple[Path, ...] = (), **at: Occupant
) -> ShimPlan:
    """Plan for app 'black'; `at` maps a link's file name to its occupant."""
    occupants = {
        link.path: at[link.path.name.replace(".", "_")]
        for link in links
        if link.path.name.replace(".", "_") in at
    }
    return compute_plan("black", links, Observed(occupants, owned), force=force)


def test_a_free_path_is_created() -> None:
    assert plan(BLACK, MAN) == ShimPlan(create=(BLACK, MAN))


def test_the_exact_link_is_kept_and_a_stale_own_link_is_recreated() -> None:
    stale = Occupant("app", "black", f"{HOME}/venvs/black/current/bin/old")
    result = plan(BLACK, BLACKD, black=Occupant("app", "black", BLACK.target), blackd=stale)
    assert result == ShimPlan(create=(BLACKD,), keep=(BLACK,))


def test_owned_links_no_longer_desired_are_dropped() -> None:
    gone = Path("/h/bin/black-old")
    result = plan(BLACK, owned=(BLACK.path, gone))
    assert result == ShimPlan(create=(BLACK,), drop=(gone,))


@pytest.mark.parametrize("occupant", FOREIGN, ids=lambda o: o.kind)
def test_a_foreign_occupant_is_a_conflict_without_force(occupant: Occupant) -> None:
    assert plan(BLACK, BLACKD, black=occupant) == ShimPlan(
        create=(BLACKD,), conflicts=((BLACK, occupant),)
    )


@pytest.mark.parametrize("occupant", FOREIGN, ids=lambda o: o.kind)
def test_a_foreign_occupant_is_displaced_with_force(occupant: Occupant) -> None:
    assert plan(BLACK, black=occupant, force=True) == ShimPlan(displace=((BLACK, occupant),))


def test_another_apps_link_is_a_conflict_unless_forced_then_taken_over() -> None:
    assert plan(BLACK, black=OTHER_APP) == ShimPlan(conflicts=((BLACK, OTHER_APP),))
    assert plan(BLACK, black=OTHER_APP, force=True) == ShimPlan(take_over=((BLACK, OTHER_APP),))


@pytest.mark.parametrize("force", [False, True])
def test_a_directory_is_always_a_conflict(force: bool) -> None:
    directory = Occupant("directory")
    assert plan(BLACK, black=directory, force=force) == ShimPlan(conflicts=((BLACK, directory),))


def test_occupant_descriptions() -> None:
    assert [o.describe() for o in FOREIGN] == [
        "a file",
        "a pipx link -> /root/.local/pipx/venvs/black/bin/black",
        "a uv tool link -> /root/.local/share/uv/tools/black/bin/black",
        "a symlink -> /usr/bin/black",
    ]
    assert OTHER_APP.describe() == "app 'black+-b'"
    assert Occupant("directory").describe() == "a directory"


def test_conflict_error_names_the_first_path_its_owner_and_the_rest() -> None:
    error = conflict_error(
        plan(BLACK, BLACKD, MAN, black=OTHER_APP, blackd=FOREIGN[0], black_1=FOREIGN[1])
    )
    assert error.message == "/h/bin/black is taken by app 'black+-b' (and 2 more)"
    assert error.hint == "uninstall black+-b or use --force to take it over"
    assert error.exit_code == 5


def test_conflict_error_hints_at_force_or_says_a_directory_stays(paths: AppxPaths) -> None:
    error = conflict_error(plan(BLACK, black=FOREIGN[1]), paths)
    assert error.message == f"/h/bin/black is taken by {FOREIGN[1].describe()}"
    assert error.hint == f"use --force to move it aside into {paths.home}/displaced/"
    error = conflict_error(plan(BLACK, black=Occupant("directory"), force=True))
    assert error.message == "/h/bin/black is taken by a directory"
    assert "never moves a directory" in error.hint


# ---------------------------------------------------------------- the filesystem


def make_generation(paths: AppxPaths, app: str, *files: str) -> None:
    """Create venvs/<app>/g1 holding `files` and point `current` at it (relative)."""
    gen = paths.venvs / app / "g1"
    for name in files:
        (gen / name).parent.mkdir(parents=True, exist_ok=True)
        (gen / name).write_text(f"{app}:{name}\n", encoding="utf-8")
    gen.mkdir(parents=True, exist_ok=True)
    (paths.venvs / app / "current").symlink_to("g1")


def links_for(
    paths: AppxPaths, app: str, *commands: str, suffix: str = "", man: tuple[str, ...] = ()
) -> list[Link]:
    return desired_links(
        paths,
        app,
        suffix,
        [Command(name, "console", app.partition("+")[0]) for name in commands],
        [ManPage(name.partition("/")[0], name.partition("/")[2], app) for name in man],
    )


def install(
    paths: AppxPaths,
    app: str,
    *commands: str,
    suffix: str = "",
    man: tuple[str, ...] = (),
    force: bool = False,
) -> ShimPlan:
    """Plan and apply the links of an app, as install does around its flip."""
    result = plan_shims(
        paths, app, links_for(paths, app, *commands, suffix=suffix, man=man), force=force
    )
    apply_before_flip(paths, result)
    apply_after_flip(paths, app, result)
    return result


def test_desired_links_suffix_commands_and_man_pages(paths: AppxPaths) -> None:
    links = links_for(
        paths, "pycowsay+-b", "pycowsay", suffix="-b", man=("man6/pycowsay.6", "man1/tool.1.gz")
    )
    app_root = f"{paths.home}/venvs/pycowsay+-b/current"
    assert links == [
        Link(paths.bin_dir / "pycowsay-b", f"{app_root}/bin/pycowsay"),
        Link(paths.man_dir / "man1" / "tool-b.1.gz", f"{app_root}/share/man/man1/tool.1.gz"),
        Link(paths.man_dir / "man6" / "pycowsay-b.6", f"{app_root}/share/man/man6/pycowsay.6"),
    ]


@pytest.mark.parametrize(("app", "suffix"), [("black", "/x"), ("../black", ""), ("black", "\n")])
def test_desired_links_refuse_bad_names(paths: AppxPaths, app: str, suffix: str) -> None:
    with pytest.raises(SpecError):
        links_for(paths, app, "black", suffix=suffix)


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


def test_new_links_dangle_until_current_appears(paths: AppxPaths) -> None:
    install(paths, "pycowsay+-b", "pycowsay", suffix="-b", man=("man6/pycowsay.6",))
    command = paths.bin_dir / "pycowsay-b"
    page = paths.man_dir / "man6" / "pycowsay-b.6"
    assert command.is_symlink() and not command.exists()
    assert page.is_symlink() and not page.exists()

    make_generation(paths, "pycowsay+-b", "bin/pycowsay", "share/man/man6/pycowsay.6")

    assert command.read_text(encoding="utf-8") == "pycowsay+-b:bin/pycowsay\n"
    assert page.read_text(encoding="utf-8") == "pycowsay+-b:share/man/man6/pycowsay.6\n"
    assert os.readlink(command) == f"{paths.home}/venvs/pycowsay+-b/current/bin/pycowsay"


def test_reinstalling_keeps_links_and_drops_the_ones_gone(paths: AppxPaths) -> None:
    install(paths, "black", "black", "blackd", man=("man1/black.1",))
    result = install(paths, "black", "black")
    assert [link.path.name for link in result.keep] == ["black"]
    assert set(result.drop) == {paths.bin_dir / "blackd", paths.man_dir / "man1" / "black.1"}
    assert sorted(os.listdir(paths.bin_dir)) == ["black"]
    assert os.listdir(paths.man_dir / "man1") == []


def test_a_foreign_file_is_never_touched_without_force(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    result = plan_shims(paths, "black", links_for(paths, "black", "black", "blackd"), force=False)

    with pytest.raises(ShimConflictError, match="is taken by a file"):
        apply_before_flip(paths, result)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert not (paths.bin_dir / "blackd").exists()
    assert not paths.displaced.exists()


def test_force_displaces_a_foreign_file_and_records_it(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    (paths.bin_dir / "blackd").symlink_to("/root/.local/pipx/venvs/black/bin/blackd")
    result = plan_shims(paths, "black", links_for(paths, "black", "black", "blackd"), force=True)
    assert [link.path.name for link, _ in result.displace] == ["black", "blackd"]

    moved = apply_before_flip(paths, result)

    assert [m.original for m in moved] == [paths.bin_dir / "black", paths.bin_dir / "blackd"]
    assert all(m.moved_to.parent == paths.displaced for m in moved)
    assert moved[0].moved_to.name.startswith("black.")
    assert moved[0].moved_to.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert os.readlink(moved[1].moved_to) == "/root/.local/pipx/venvs/black/bin/blackd"
    records = [
        json.loads(line)
        for line in (paths.displaced / "index.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["original"], r["moved_to"], r["app"]) for r in records] == [
        (str(m.original), str(m.moved_to), "black") for m in moved
    ]
    assert records[1]["was"] == "a pipx link -> /root/.local/pipx/venvs/black/bin/blackd"
    assert occupant_of(paths, paths.bin_dir / "black") == Occupant(
        "app", "black", result.displace[0][0].target
    )


def test_displacing_a_255_byte_name_keeps_a_valid_name(paths: AppxPaths) -> None:
    name = "b" * 255
    paths.bin_dir.mkdir()
    (paths.bin_dir / name).write_text("long", encoding="utf-8")
    result = plan_shims(paths, "black", links_for(paths, "black", name), force=True)
    [moved] = apply_before_flip(paths, result)
    assert moved.moved_to.read_text(encoding="utf-8") == "long"
    assert len(moved.moved_to.name) <= 255


def test_force_never_moves_a_directory(paths: AppxPaths) -> None:
    (paths.bin_dir / "black").mkdir(parents=True)
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    with pytest.raises(ShimConflictError, match="taken by a directory"):
        apply_before_flip(paths, result)
    assert (paths.bin_dir / "black").is_dir()


def test_another_apps_link_is_taken_over_only_with_force(paths: AppxPaths) -> None:
    install(paths, "black+-b", "black")  # no suffix: a link named plain 'black'
    taken_target = os.readlink(paths.bin_dir / "black")

    refused = plan_shims(paths, "black", links_for(paths, "black", "black"), force=False)
    assert refused.conflicts and refused.conflicts[0][1].app == "black+-b"

    result = install(paths, "black", "black", force=True)

    assert [occupant.app for _, occupant in result.take_over] == ["black+-b"]
    assert os.readlink(paths.bin_dir / "black") == f"{paths.home}/venvs/black/current/bin/black"
    assert os.listdir(paths.tmp) == []  # the staged link was renamed into place
    undo_before_flip(paths, result)
    assert os.readlink(paths.bin_dir / "black") == taken_target


def test_a_stale_own_link_is_retargeted(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").symlink_to(f"{paths.home}/venvs/black/current/bin/black-old")
    result = install(paths, "black", "black")
    assert result.create and not result.conflicts
    assert os.readlink(paths.bin_dir / "black") == f"{paths.home}/venvs/black/current/bin/black"


def test_a_dropped_link_is_removed_only_if_still_ours(paths: AppxPaths) -> None:
    install(paths, "black", "black", "blackd", "black-primer")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=False)
    assert set(result.drop) == {paths.bin_dir / "blackd", paths.bin_dir / "black-primer"}
    apply_before_flip(paths, result)
    # between plan and removal, someone else puts their own file at one dropped name
    (paths.bin_dir / "blackd").unlink()
    (paths.bin_dir / "blackd").write_text("someone else's", encoding="utf-8")

    apply_after_flip(paths, "black", result)

    assert (paths.bin_dir / "blackd").read_text(encoding="utf-8") == "someone else's"
    assert not os.path.lexists(paths.bin_dir / "black-primer")
    assert (paths.bin_dir / "black").is_symlink()


def test_a_file_appearing_after_the_plan_is_not_overwritten(paths: AppxPaths) -> None:
    result = plan_shims(paths, "black", links_for(paths, "black", "black", "blackd"), force=False)
    paths.bin_dir.mkdir()
    (paths.bin_dir / "blackd").write_text("late", encoding="utf-8")

    with pytest.raises(ShimConflictError, match="blackd is taken by a file"):
        apply_before_flip(paths, result)

    assert (paths.bin_dir / "blackd").read_text(encoding="utf-8") == "late"
    assert not os.path.lexists(paths.bin_dir / "black")  # rolled back


def test_a_failed_apply_removes_the_links_it_made(paths: AppxPaths) -> None:
    links = links_for(paths, "black", "black", man=("man1/black.1",))
    result = plan_shims(paths, "black", links, force=False)
    paths.man_dir.write_text("not a directory", encoding="utf-8")  # appears after the plan

    with pytest.raises(OSError):  # which OSError depends on the platform
        apply_before_flip(paths, result)

    assert not os.path.lexists(paths.bin_dir / "black")
    assert paths.man_dir.read_text(encoding="utf-8") == "not a directory"


def test_a_file_in_place_of_the_man_dir_stops_the_plan(paths: AppxPaths) -> None:
    paths.man_dir.write_text("not a directory", encoding="utf-8")
    links = links_for(paths, "black", "black", man=("man1/black.1",))

    with pytest.raises(EnvironmentSetupError, match="a file stands in its way"):
        plan_shims(paths, "black", links, force=True)

    assert [s.state for s in link_status(paths, "black", links)] == ["missing", "blocked"]
    assert not paths.bin_dir.exists()


def test_undo_before_flip_removes_created_links(paths: AppxPaths) -> None:
    result = install(paths, "black", "black", man=("man1/black.1",))
    undo_before_flip(paths, result)
    assert os.listdir(paths.bin_dir) == []
    assert os.listdir(paths.man_dir / "man1") == []


def test_remove_app_links_leaves_the_suffixed_twin_and_foreign_files(paths: AppxPaths) -> None:
    install(paths, "black", "black", man=("man1/black.1",))
    install(paths, "black+-b", "black", suffix="-b", man=("man1/black.1",))
    (paths.bin_dir / "mine").write_text("x", encoding="utf-8")
    (paths.bin_dir / "pipx-black").symlink_to("/root/.local/pipx/venvs/black/bin/black")

    assert owned_links(paths, "black") == [
        paths.bin_dir / "black",
        paths.man_dir / "man1" / "black.1",
    ]
    removed = remove_app_links(paths, "black")

    assert removed == [paths.bin_dir / "black", paths.man_dir / "man1" / "black.1"]
    assert sorted(os.listdir(paths.bin_dir)) == ["black-b", "mine", "pipx-black"]
    assert os.listdir(paths.man_dir / "man1") == ["black-b.1"]
    assert owned_links(paths, "black+-b") == [
        paths.bin_dir / "black-b",
        paths.man_dir / "man1" / "black-b.1",
    ]


def test_owned_links_without_any_dirs_is_empty(paths: AppxPaths) -> None:
    assert owned_links(paths, "black") == []
    assert remove_app_links(paths, "black") == []


def test_link_status_reports_each_state(paths: AppxPaths) -> None:
    links = links_for(paths, "black", "ok", "missing", "taken", "blocked", "dangling")
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


def _cross_device(*_args: object) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_displacing_across_filesystems_keeps_a_symlink_a_symlink(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").symlink_to("/usr/bin/black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    monkeypatch.setattr(Path, "rename", _cross_device)

    [moved] = apply_before_flip(paths, result)

    assert os.readlink(moved.moved_to) == "/usr/bin/black"
    assert occupant_of(paths, paths.bin_dir / "black").app == "black"


def test_taking_over_across_filesystems_still_ends_with_our_link(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(paths, "black+-b", "black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    monkeypatch.setattr(Path, "replace", _cross_device)

    apply_before_flip(paths, result)

    assert occupant_of(paths, paths.bin_dir / "black").app == "black"
    assert os.listdir(paths.tmp) == []  # the staged link was cleaned up


def test_a_take_over_stops_if_a_file_replaced_the_link(paths: AppxPaths) -> None:
    install(paths, "black+-b", "black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    (paths.bin_dir / "black").unlink()
    (paths.bin_dir / "black").write_text("late", encoding="utf-8")

    with pytest.raises(ShimConflictError, match="taken by a file"):
        apply_before_flip(paths, result)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "late"


def test_undo_before_flip_puts_displaced_files_back(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("mine", encoding="utf-8")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    moved = apply_before_flip(paths, result)

    undo_before_flip(paths, result, moved)  # as if the flip had failed

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "mine"
    events = (paths.displaced / "index.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in events] == ["displaced", "restored"]


def test_a_failed_apply_puts_displaced_files_back(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("mine", encoding="utf-8")
    links = links_for(paths, "black", "black", man=("man1/black.1",))
    result = plan_shims(paths, "black", links, force=True)
    paths.man_dir.write_text("not a directory", encoding="utf-8")  # appears after the plan

    with pytest.raises(OSError):  # which OSError depends on the platform
        apply_before_flip(paths, result)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "mine"
