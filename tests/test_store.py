"""Tests for appx.store: generations, the current/previous pointers, garbage and scratch."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appx.locks import app_locks
from appx.paths import AppxPaths
from appx.store import (
    GENERATION_RE,
    Generation,
    Store,
    finish_generation,
    record_installer,
    remove_tree,
    sweep_abandoned,
)


@pytest.fixture
def sleeper() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start ``sleep 60`` in a session of its own, like an installer; killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
            child.wait()


def _built(paths: AppxPaths, app: str) -> Generation:
    """A complete generation (a directory with a file in it), not yet current."""
    generation = paths.apps.begin_generation(app)
    (generation.path / "bin").mkdir(parents=True)
    (generation.path / "bin" / "tool").write_text("#!/bin/sh\n", encoding="utf-8")
    finish_generation(generation)
    return generation


def _installed(paths: AppxPaths, app: str) -> Generation:
    generation = _built(paths, app)
    paths.apps.flip(generation)
    return generation


def _listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------- generations


def test_a_new_generation_is_marked_as_being_built(paths: AppxPaths) -> None:
    generation = paths.apps.begin_generation("black")
    assert GENERATION_RE.match(generation.name)
    assert generation.name.startswith("g1-")
    assert generation.path == paths.app_dir("black") / generation.name
    marker = json.loads(generation.marker.read_text(encoding="utf-8"))
    assert marker == {"pid": os.getpid(), "groups": []}
    finish_generation(generation)
    assert not generation.marker.exists()


def test_generation_numbers_go_up(paths: AppxPaths) -> None:
    first = _installed(paths, "black")
    second = paths.apps.begin_generation("black")  # in progress: only its marker exists
    third = paths.apps.begin_generation("black")
    assert [g.name.split("-")[0] for g in (first, second, third)] == ["g1", "g2", "g3"]


def test_a_discarded_generation_name_is_not_reused(paths: AppxPaths) -> None:
    first = _built(paths, "black")
    paths.apps.discard(first)
    assert not first.path.exists()
    assert not paths.app_dir("black").exists()
    again = paths.apps.begin_generation("black")
    assert again.name != first.name


def test_a_half_built_generation_is_not_installed(paths: AppxPaths) -> None:
    generation = paths.apps.begin_generation("black")
    generation.path.mkdir()
    assert paths.apps.read_current("black") is None
    assert paths.apps.installed() == []


def test_a_deleted_current_generation_is_not_installed(paths: AppxPaths) -> None:
    generation = _installed(paths, "black")
    _installed(paths, "zeta")
    shutil.rmtree(generation.path)

    assert paths.apps.read_current("black") is None
    assert paths.apps.installed() == ["zeta"]
    assert paths.apps.pointer_name("black") == generation.name  # for saying what broke


def test_a_current_pointer_to_a_file_is_not_installed(paths: AppxPaths) -> None:
    generation = _installed(paths, "black")
    shutil.rmtree(generation.path)
    generation.path.write_text("", encoding="utf-8")
    assert paths.apps.read_current("black") is None


def test_a_new_generation_outnumbers_a_deleted_current_one(paths: AppxPaths) -> None:
    generation = _installed(paths, "black")
    shutil.rmtree(generation.path)
    assert paths.apps.begin_generation("black").name.startswith("g2-")


# ---------------------------------------------------------------- the flip


def test_flip_moves_current_and_keeps_the_replaced_one_as_previous(paths: AppxPaths) -> None:
    app_dir = paths.app_dir("black")
    g1, g2, g3 = _built(paths, "black"), _built(paths, "black"), _built(paths, "black")

    assert paths.apps.flip(g1) is None
    assert paths.apps.read_current("black") == g1
    assert paths.apps.read_pointer("black", "previous") is None

    assert paths.apps.flip(g2) == g1
    assert paths.apps.read_current("black") == g2
    assert paths.apps.read_pointer("black", "previous") == g1

    assert paths.apps.flip(g3) == g2
    assert paths.apps.read_current("black") == g3
    assert paths.apps.read_pointer("black", "previous") == g2

    # Relative links, so the home can be moved; no temporary link left behind.
    assert os.readlink(app_dir / "current") == g3.name
    assert os.readlink(app_dir / "previous") == g2.name
    assert not [e for e in os.listdir(app_dir) if e.startswith(".pointer-")]


def test_flipping_to_the_current_generation_keeps_previous(paths: AppxPaths) -> None:
    g1, g2 = _installed(paths, "black"), _installed(paths, "black")
    assert paths.apps.flip(g2) == g2
    assert paths.apps.read_pointer("black", "previous") == g1


def test_flipping_back_to_previous_swaps_the_two(paths: AppxPaths) -> None:
    g1, g2 = _installed(paths, "black"), _installed(paths, "black")
    assert paths.apps.flip(g1) == g2  # what rollback does
    assert paths.apps.read_current("black") == g1
    assert paths.apps.read_pointer("black", "previous") == g2
    assert paths.apps.collect_garbage("black") == []


def test_flip_never_records_a_missing_generation_as_previous(paths: AppxPaths) -> None:
    g1 = _installed(paths, "black")
    g2 = _installed(paths, "black")
    shutil.rmtree(g2.path)  # current names a generation that is gone
    g3 = _built(paths, "black")

    assert paths.apps.flip(g3) is None

    assert paths.apps.read_current("black") == g3
    assert os.readlink(paths.app_dir("black") / "previous") == g1.name  # still a real one
    assert paths.apps.read_pointer("black", "previous") == g1


def test_flip_of_a_first_generation_over_a_missing_one_leaves_no_previous(
    paths: AppxPaths,
) -> None:
    g1 = _installed(paths, "black")
    shutil.rmtree(g1.path)
    g2 = _built(paths, "black")

    assert paths.apps.flip(g2) is None

    assert paths.apps.read_current("black") == g2
    assert not (paths.app_dir("black") / "previous").is_symlink()


def test_current_resolves_to_the_generation_directory(paths: AppxPaths) -> None:
    generation = _installed(paths, "black")
    current = paths.app_dir("black") / "current"
    assert current.resolve() == generation.path.resolve()
    assert (current / "bin" / "tool").is_file()


@pytest.mark.parametrize("target", ["../../etc", "/etc", "g1", "g1-XYZ", "current", ""])
def test_a_current_link_that_does_not_name_a_generation_is_ignored(
    paths: AppxPaths, target: str
) -> None:
    app_dir = paths.app_dir("evil")
    app_dir.mkdir(parents=True)
    if target:
        os.symlink(target, app_dir / "current")
    else:
        (app_dir / "current").write_text("g1-0123abcd", encoding="utf-8")  # not a link
    assert paths.apps.read_current("evil") is None
    assert paths.apps.installed() == []


def test_installed_apps_lists_only_apps_with_a_current_generation(paths: AppxPaths) -> None:
    _installed(paths, "zeta")
    _installed(paths, "black+-b")
    _installed(paths, "black")
    paths.apps.begin_generation("building")  # a build in progress: no current yet
    (paths.venvs / "stray-file").write_text("", encoding="utf-8")
    assert paths.apps.installed() == ["black", "black+-b", "zeta"]


def test_no_venvs_dir_means_nothing_installed(paths: AppxPaths) -> None:
    assert paths.apps.installed() == []
    assert not paths.home.exists()


# ---------------------------------------------------------------- garbage


def test_garbage_is_every_generation_neither_current_nor_previous(paths: AppxPaths) -> None:
    app_dir = paths.app_dir("black")
    g1 = _installed(paths, "black")
    g2 = _installed(paths, "black")
    g3 = _installed(paths, "black")
    spare = _built(paths, "black")  # built, never flipped
    crashed = paths.apps.begin_generation("black")  # marker and half a venv
    (crashed.path / "lib").mkdir(parents=True)
    os.symlink(g1.name, app_dir / ".pointer-current-0123abcd")  # a flip cut short

    removed = paths.apps.collect_garbage("black")

    assert sorted(removed) == sorted([g1.name, spare.name, crashed.name])
    assert _listing(app_dir) == sorted(["current", "previous", g2.name, g3.name])
    assert paths.apps.read_current("black") == g3
    assert paths.apps.read_pointer("black", "previous") == g2
    assert (g3.path / "bin" / "tool").is_file()
    assert _listing(paths.tmp) == []  # deleted after the rename, not left in scratch


def test_garbage_removes_an_app_dir_with_nothing_current(paths: AppxPaths) -> None:
    crashed = paths.apps.begin_generation("black")
    crashed.path.mkdir()
    removed = paths.apps.collect_garbage("black")
    assert removed == [crashed.name]
    assert not paths.app_dir("black").exists()
    assert paths.apps.installed() == []


def test_garbage_of_an_unknown_app_does_nothing(paths: AppxPaths) -> None:
    assert paths.apps.collect_garbage("nothing") == []
    assert not paths.home.exists()


StopInstallers = Callable[[AppxPaths, Generation], object]


def _by_garbage(paths: AppxPaths, generation: Generation) -> object:
    return paths.apps.collect_garbage(generation.app)


def _by_discard(paths: AppxPaths, generation: Generation) -> object:
    paths.apps.discard(generation)
    return None


def _by_uninstall(paths: AppxPaths, generation: Generation) -> object:
    return paths.apps.detach(generation.app)


@pytest.mark.parametrize(
    "remove",
    [_by_garbage, _by_discard, _by_uninstall],
    ids=["collect_garbage", "discard", "detach_app"],
)
def test_a_crashed_builds_installer_is_stopped_before_its_files_go(
    paths: AppxPaths, sleeper: Callable[[], subprocess.Popen[bytes]], remove: StopInstallers
) -> None:
    generation = paths.apps.begin_generation("black")
    generation.path.mkdir()
    installer = sleeper()
    record_installer(generation, installer.pid)
    marker = json.loads(generation.marker.read_text(encoding="utf-8"))
    assert [group for group, _started in marker["groups"]] == [installer.pid]

    remove(paths, generation)

    assert installer.wait(timeout=5) == -signal.SIGTERM
    assert not generation.path.exists()


def test_a_reused_group_id_is_never_killed(
    paths: AppxPaths, sleeper: Callable[[], subprocess.Popen[bytes]]
) -> None:
    generation = paths.apps.begin_generation("black")
    generation.path.mkdir()
    unrelated = sleeper()  # a live group whose leader started later than the marker says
    started = json.dumps({"pid": 1, "groups": [[unrelated.pid, 1]]})
    generation.marker.write_text(started, encoding="utf-8")

    paths.apps.collect_garbage("black")

    assert unrelated.poll() is None, "a group that only shares the id must survive"
    assert not generation.path.exists()


# ---------------------------------------------------------------- uninstall and scratch


def test_detach_moves_the_whole_app_into_tmp(paths: AppxPaths) -> None:
    generation = _installed(paths, "black")
    detached = paths.apps.detach("black")
    assert detached is not None
    assert detached.parent == paths.tmp
    assert detached.name.startswith(f"uninstall-{os.getpid()}-")
    assert not paths.app_dir("black").exists()
    assert paths.apps.installed() == []
    assert (detached / generation.name / "bin" / "tool").is_file()


def test_detaching_an_app_that_is_not_there_returns_none(paths: AppxPaths) -> None:
    assert paths.apps.detach("black") is None


def test_scratch_paths_are_unique_and_name_their_owner(paths: AppxPaths) -> None:
    first, second = paths.apps.scratch_path("resolve"), paths.apps.scratch_path("resolve")
    assert first != second
    assert first.name.startswith(f"resolve-{os.getpid()}-")
    assert paths.tmp.is_dir()


def test_sweep_removes_scratch_of_dead_processes_only(paths: AppxPaths) -> None:
    paths.tmp.mkdir(parents=True)
    dead = paths.tmp / "discard-999999-deadbeef"
    (dead / "lib").mkdir(parents=True)
    (dead / "lib" / "file").write_text("x", encoding="utf-8")
    dead_file = paths.tmp / "resolve-999998-0123abcd"
    dead_file.write_text("", encoding="utf-8")
    mine = paths.apps.scratch_path("uninstall")
    mine.mkdir()
    unknown = paths.tmp / "README"
    unknown.write_text("", encoding="utf-8")

    paths.apps.sweep_tmp()

    assert _listing(paths.tmp) == sorted([mine.name, unknown.name])


def test_sweep_without_tmp_does_nothing(paths: AppxPaths) -> None:
    paths.apps.sweep_tmp()
    assert not paths.home.exists()


def test_abandoned_first_installs_are_swept_unless_someone_holds_them(paths: AppxPaths) -> None:
    left = paths.apps.begin_generation("left-behind")
    left.path.mkdir()
    busy = paths.apps.begin_generation("being-built")
    busy.path.mkdir()
    installed = _installed(paths, "black")

    with app_locks(paths, ["being-built"]):
        sweep_abandoned(paths)

    assert not paths.app_dir("left-behind").exists()
    assert busy.path.is_dir(), "a build whose lock is held is never touched"
    assert installed.path.is_dir()


def test_sweep_removes_link_staging_of_dead_processes_not_of_live_ones(paths: AppxPaths) -> None:
    # WP-links stages replacement links as paths.apps.scratch_path("link"); a SIGKILL leaves them.
    target_dir = paths.home / "kept"
    (target_dir / "sub").mkdir(parents=True)
    paths.tmp.mkdir(parents=True)
    dangling = paths.tmp / "link-999999-0123abcd"
    dangling.symlink_to(paths.bin_dir / "black")
    to_a_dir = paths.tmp / "link-999998-89abcdef"
    to_a_dir.symlink_to(target_dir)
    live = paths.apps.scratch_path("link")
    live.symlink_to(paths.bin_dir / "black")
    assert live.name.startswith(f"link-{os.getpid()}-")

    paths.apps.sweep_tmp()

    assert _listing(paths.tmp) == [live.name]
    assert (target_dir / "sub").is_dir(), "a swept link is removed, never what it points to"


def test_sweep_keeps_names_it_did_not_make(paths: AppxPaths) -> None:
    paths.tmp.mkdir(parents=True)
    for name in ("link-999999-0123abcd.keep", "link-0123abcd", "Link-999999-0123abcd"):
        (paths.tmp / name).write_text("", encoding="utf-8")
    paths.apps.sweep_tmp()
    assert len(_listing(paths.tmp)) == 3


# ---------------------------------------------------------------- a store rooted elsewhere


def _two_stores(tmp_path: Path) -> tuple[Store, Store]:
    apps = Store(tmp_path / "home" / "venvs", tmp_path / "home" / "tmp")
    runs = Store(tmp_path / "cache" / "run", tmp_path / "cache" / "tmp")
    return apps, runs


def _built_in(store: Store, unit: str) -> Generation:
    generation = store.begin_generation(unit)
    (generation.path / "bin").mkdir(parents=True)
    finish_generation(generation)
    return generation


def test_a_store_keeps_its_units_under_its_own_root(tmp_path: Path) -> None:
    apps, runs = _two_stores(tmp_path)
    app = _built_in(apps, "black")
    apps.flip(app)
    run = _built_in(runs, "0123456789abcdef")
    runs.flip(run)

    assert run.path.parent == tmp_path / "cache" / "run" / "0123456789abcdef"
    assert apps.installed() == ["black"]
    assert runs.installed() == ["0123456789abcdef"]
    assert runs.read_current("black") is None
    assert runs.read_current("0123456789abcdef") == run
    assert os.readlink(run.path.parent / "current") == run.name


def test_garbage_and_discard_use_the_stores_own_scratch(tmp_path: Path) -> None:
    apps, runs = _two_stores(tmp_path)
    apps.flip(_built_in(apps, "black"))
    old = _built_in(runs, "key")
    runs.flip(old)
    runs.flip(_built_in(runs, "key"))
    runs.flip(_built_in(runs, "key"))  # old is neither current nor previous now

    assert runs.collect_garbage("key") == [old.name]
    spare = _built_in(runs, "key")
    runs.discard(spare)

    assert not old.path.exists()
    assert not spare.path.exists()
    assert runs.scratch.is_dir()  # renamed there, then deleted
    assert _listing(runs.scratch) == []
    assert not apps.scratch.exists(), "the other store's scratch is never touched"
    assert apps.installed() == ["black"]


def test_detach_moves_a_unit_into_its_stores_scratch(tmp_path: Path) -> None:
    apps, runs = _two_stores(tmp_path)
    apps.flip(_built_in(apps, "key"))  # the same name in both stores
    runs.flip(_built_in(runs, "key"))

    detached = runs.detach("key")

    assert detached is not None
    assert detached.parent == runs.scratch
    assert runs.installed() == []
    assert apps.installed() == ["key"]
    remove_tree(detached)
    assert _listing(runs.scratch) == []


def test_sweeps_of_one_store_leave_the_other_alone(tmp_path: Path) -> None:
    apps, runs = _two_stores(tmp_path)
    abandoned_app = apps.begin_generation("left-app")
    abandoned_app.path.mkdir()
    abandoned_run = runs.begin_generation("left-key")
    abandoned_run.path.mkdir()
    for store in (apps, runs):
        store.scratch.mkdir(parents=True)
        (store.scratch / "discard-999999-0123abcd").mkdir()
    locked: list[str] = []

    @contextlib.contextmanager
    def free(unit: str) -> Iterator[bool]:
        locked.append(unit)
        yield True

    runs.sweep_abandoned(free)
    runs.sweep_tmp()

    assert locked == ["left-key"]
    assert runs.units() == []
    assert _listing(runs.scratch) == []
    assert apps.units() == ["left-app"]
    assert _listing(apps.scratch) == ["discard-999999-0123abcd"]


def test_the_app_store_is_rooted_in_venvs_with_scratch_in_tmp(paths: AppxPaths) -> None:
    assert paths.apps == Store(paths.venvs, paths.tmp)


def _with_receipt(paths: AppxPaths, app: str) -> Generation:
    generation = _built(paths, app)
    (generation.path / "appx-receipt.json").write_text("{}", encoding="utf-8")
    return generation


def _cut_flip(paths: AppxPaths, generation: Generation) -> None:
    """What a kill between the two renames of a flip leaves: previous moved, current not."""
    current = paths.apps.read_current(generation.app)
    assert current is not None
    os.replace(_symlink(paths, generation.app, current.name), current.path.parent / "previous")


def _symlink(paths: AppxPaths, app: str, target: str) -> Path:
    temp = paths.apps.unit_dir(app) / ".test-pointer"
    os.symlink(target, temp)
    return temp


def test_a_cut_upgrade_flip_gets_its_old_previous_back(paths: AppxPaths) -> None:
    g1 = _with_receipt(paths, "app")
    paths.apps.flip(g1)
    g2 = _with_receipt(paths, "app")
    paths.apps.flip(g2)  # current g2, previous g1
    g3 = paths.apps.begin_generation("app")  # the upgrade's build, marker still there
    (g3.path).mkdir()
    _cut_flip(paths, g3)
    assert paths.apps.flip_was_cut("app")

    paths.apps.collect_garbage("app")

    assert paths.apps.read_current("app") == g2
    assert paths.apps.read_pointer("app", "previous") == g1, "the rollback target was lost"
    assert sorted(os.listdir(paths.apps.unit_dir("app"))) == sorted(
        ["current", "previous", g1.name, g2.name]
    )


def test_a_cut_rollback_keeps_its_target_for_the_next_rollback(paths: AppxPaths) -> None:
    g1 = _with_receipt(paths, "app")
    paths.apps.flip(g1)
    g2 = _with_receipt(paths, "app")
    paths.apps.flip(g2)
    _cut_flip(paths, g1)  # rollback to g1: previous became g2, current stayed g2

    assert paths.apps.mend_previous("app") == g1.name

    assert paths.apps.read_current("app") == g2
    assert paths.apps.read_pointer("app", "previous") == g1
    assert not paths.apps.flip_was_cut("app")


def test_a_cut_first_flip_with_nothing_older_drops_previous(paths: AppxPaths) -> None:
    g1 = _with_receipt(paths, "app")
    paths.apps.flip(g1)
    _cut_flip(paths, g1)

    assert paths.apps.mend_previous("app") is None

    assert paths.apps.read_current("app") == g1
    assert not os.path.lexists(paths.apps.unit_dir("app") / "previous")
