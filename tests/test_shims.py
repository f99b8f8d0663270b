"""Tests for appx.shims: the pure planner, then applying plans to a bin and man dir."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appx.errors import EnvironmentSetupError, ShimConflictError
from appx.links import Link, Occupant, occupant_of, owned_links, receipt_links
from appx.paths import AppxPaths
from appx.shims import (
    Observed,
    ShimPlan,
    apply_after_flip,
    apply_before_flip,
    compute_plan,
    conflict_error,
    plan_shims,
    remove_app_links,
    undo_before_flip,
)
from link_factories import make_generation, receipt_for

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


GEN = "g2-0000beef"


def links_for(
    paths: AppxPaths, app: str, *commands: str, suffix: str = "", man: tuple[str, ...] = ()
) -> list[Link]:
    """The links install derives for an app: names exposed into a receipt, links from it."""
    return receipt_links(paths, receipt_for(app, *commands, suffix=suffix, man=man))


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
    moved = apply_before_flip(paths, result, GEN)
    apply_after_flip(paths, app, result, moved)
    return result


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
        apply_before_flip(paths, result, GEN)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert not os.path.lexists(paths.bin_dir / "blackd")
    assert not os.path.lexists(paths.displaced)


def test_force_displaces_a_foreign_file_and_records_it(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    (paths.bin_dir / "blackd").symlink_to("/root/.local/pipx/venvs/black/bin/blackd")
    result = plan_shims(paths, "black", links_for(paths, "black", "black", "blackd"), force=True)
    assert [link.path.name for link, _ in result.displace] == ["black", "blackd"]

    moved = apply_before_flip(paths, result, GEN)

    assert [m.original for m in moved] == [paths.bin_dir / "black", paths.bin_dir / "blackd"]
    assert all(m.moved_to.parent == paths.displaced for m in moved)
    assert moved[0].moved_to.name.startswith("black.")
    assert moved[0].moved_to.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert os.readlink(moved[1].moved_to) == "/root/.local/pipx/venvs/black/bin/blackd"
    records = [
        json.loads(line)
        for line in (paths.displaced / "index.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [
        (r["event"], r["original"], r["moved_to"], r["app"], r["generation"]) for r in records
    ] == [("displaced", str(m.original), str(m.moved_to), "black", GEN) for m in moved]
    assert records[1]["was"] == "a pipx link -> /root/.local/pipx/venvs/black/bin/blackd"
    assert occupant_of(paths, paths.bin_dir / "black") == Occupant(
        "app", "black", result.displace[0][0].target
    )


def test_displacing_a_255_byte_name_keeps_a_valid_name(paths: AppxPaths) -> None:
    name = "b" * 255
    paths.bin_dir.mkdir()
    (paths.bin_dir / name).write_text("long", encoding="utf-8")
    result = plan_shims(paths, "black", links_for(paths, "black", name), force=True)
    [moved] = apply_before_flip(paths, result, GEN)
    assert moved.moved_to.read_text(encoding="utf-8") == "long"
    assert len(moved.moved_to.name) <= 255


def test_force_never_moves_a_directory(paths: AppxPaths) -> None:
    (paths.bin_dir / "black").mkdir(parents=True)
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    with pytest.raises(ShimConflictError, match="taken by a directory"):
        apply_before_flip(paths, result, GEN)
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
    apply_before_flip(paths, result, GEN)
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
        apply_before_flip(paths, result, GEN)

    assert (paths.bin_dir / "blackd").read_text(encoding="utf-8") == "late"
    assert not os.path.lexists(paths.bin_dir / "black")  # rolled back


def test_a_failed_apply_removes_the_links_it_made(paths: AppxPaths) -> None:
    links = links_for(paths, "black", "black", man=("man1/black.1",))
    result = plan_shims(paths, "black", links, force=False)
    paths.man_dir.write_text("not a directory", encoding="utf-8")  # appears after the plan

    with pytest.raises(OSError):  # which OSError depends on the platform
        apply_before_flip(paths, result, GEN)

    assert not os.path.lexists(paths.bin_dir / "black")
    assert paths.man_dir.read_text(encoding="utf-8") == "not a directory"


def test_a_file_in_place_of_the_man_dir_stops_the_plan(paths: AppxPaths) -> None:
    paths.man_dir.write_text("not a directory", encoding="utf-8")
    links = links_for(paths, "black", "black", man=("man1/black.1",))

    with pytest.raises(EnvironmentSetupError, match="a file stands in its way"):
        plan_shims(paths, "black", links, force=True)

    assert not os.path.lexists(paths.bin_dir)


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


def _cross_device(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_committing_records_each_displaced_file_after_the_flip(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("mine", encoding="utf-8")
    install(paths, "black", "black", force=True)
    events = (paths.displaced / "index.jsonl").read_text(encoding="utf-8").splitlines()
    assert [(json.loads(e)["event"], json.loads(e)["generation"]) for e in events] == [
        ("displaced", GEN),
        ("committed", GEN),
    ]


@pytest.fixture
def no_rename(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every rename fail as across filesystems (EXDEV); return the renames tried.

    Path.rename and shutil.move both call os.rename, so whatever still arrives was copied.
    """
    tried: list[object] = []

    def cross_device(source: object, *_args: object, **_kwargs: object) -> None:
        tried.append(source)
        _cross_device()

    monkeypatch.setattr(os, "rename", cross_device)
    return tried


def test_displacing_a_file_across_filesystems_copies_it_whole(
    paths: AppxPaths, no_rename: list[object]
) -> None:
    paths.bin_dir.mkdir()
    mine = paths.bin_dir / "black"
    mine.write_bytes(b"#!/bin/sh\necho mine\n\x00\xff")
    mine.chmod(0o751)
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)

    [moved] = apply_before_flip(paths, result, GEN)

    assert no_rename == [mine, mine]  # appx's rename, then shutil.move's: both refused
    assert moved.moved_to.read_bytes() == b"#!/bin/sh\necho mine\n\x00\xff"
    assert moved.moved_to.stat().st_mode & 0o777 == 0o751
    assert occupant_of(paths, mine).app == "black"


def test_displacing_a_symlink_across_filesystems_keeps_it_a_symlink(
    paths: AppxPaths, no_rename: list[object]
) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").symlink_to("/usr/bin/black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)

    [moved] = apply_before_flip(paths, result, GEN)

    assert no_rename  # so the link was recreated from its text
    assert os.readlink(moved.moved_to) == "/usr/bin/black"
    assert occupant_of(paths, paths.bin_dir / "black").app == "black"


def test_a_staged_link_left_by_a_killed_appx_is_swept(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(paths, "black+-b", "black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    monkeypatch.setattr(os, "getpid", lambda: int(dead.stdout))  # this "appx" has since died

    def killed(*_args: object) -> None:
        raise SystemExit("killed between staging the link and renaming it")

    with monkeypatch.context() as patch:
        patch.setattr(Path, "replace", killed)
        patch.setattr(Path, "unlink", lambda *_a, **_k: None)  # a kill cleans nothing up
        with pytest.raises(SystemExit):
            apply_before_flip(paths, result, GEN)
    assert [name.split("-")[0] for name in os.listdir(paths.tmp)] == ["link"]

    paths.apps.sweep_tmp()

    assert os.listdir(paths.tmp) == []


def test_taking_over_across_filesystems_still_ends_with_our_link(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(paths, "black+-b", "black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    monkeypatch.setattr(Path, "replace", _cross_device)

    apply_before_flip(paths, result, GEN)

    assert occupant_of(paths, paths.bin_dir / "black").app == "black"
    assert os.listdir(paths.tmp) == []  # the staged link was cleaned up


def test_a_take_over_stops_if_a_file_replaced_the_link(paths: AppxPaths) -> None:
    install(paths, "black+-b", "black")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    (paths.bin_dir / "black").unlink()
    (paths.bin_dir / "black").write_text("late", encoding="utf-8")

    with pytest.raises(ShimConflictError, match="taken by a file"):
        apply_before_flip(paths, result, GEN)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "late"


def test_undo_before_flip_puts_displaced_files_back(paths: AppxPaths) -> None:
    paths.bin_dir.mkdir()
    (paths.bin_dir / "black").write_text("mine", encoding="utf-8")
    result = plan_shims(paths, "black", links_for(paths, "black", "black"), force=True)
    moved = apply_before_flip(paths, result, GEN)

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
        apply_before_flip(paths, result, GEN)

    assert (paths.bin_dir / "black").read_text(encoding="utf-8") == "mine"
