"""Tests for appx.displaced: the journal of files --force moved aside, and putting them back."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from appx import displaced
from appx.displaced import DisplacedFile, decide, move_aside, pending, put_back, settle, stranded
from appx.links import Occupant
from appx.paths import AppxPaths
from link_factories import make_generation, point, user_file

OLD, NEW = "g1-0000aaaa", "g2-0000bbbb"

# ---------------------------------------------------------------- the decision, pure

MOVED = DisplacedFile(Path("/b/tool"), Path("/h/displaced/tool.x"), "tool", NEW, "/h/v/tool/t")
OUR_LINK = Occupant("app", "tool", MOVED.target)


@pytest.mark.parametrize(
    ("committed", "moved_present", "at", "action"),
    [
        (True, True, OUR_LINK, "commit"),
        (True, False, Occupant("free"), "commit"),
        (False, False, Occupant("free"), "forget"),
        (False, True, Occupant("free"), "put-back"),
        (False, True, OUR_LINK, "drop-link-then-put-back"),
        (False, True, Occupant("app", "tool", "/h/v/tool/other"), "report"),
        (False, True, Occupant("app", "other", MOVED.target), "report"),
        (False, True, Occupant("file"), "report"),
        (False, True, Occupant("directory"), "report"),
    ],
)
def test_decide(committed: bool, moved_present: bool, at: Occupant, action: str) -> None:
    assert decide(committed=committed, moved_present=moved_present, moved=MOVED, at=at) == action


# ---------------------------------------------------------------- on disk


def target(paths: AppxPaths, app: str = "tool") -> str:
    return f"{paths.venvs}/{app}/current/bin/tool"


def displace(paths: AppxPaths, generation: str = NEW, app: str = "tool") -> DisplacedFile:
    """Move the file at BIN/tool aside for `generation`, as a --force install does."""
    return move_aside(
        paths,
        paths.bin_dir / "tool",
        app=app,
        generation=generation,
        target=target(paths, app),
        was="a file",
    )


def events(paths: AppxPaths) -> list[str]:
    text = (paths.displaced / "index.jsonl").read_text(encoding="utf-8")
    return [json.loads(line)["event"] for line in text.splitlines()]


@pytest.fixture
def mine(paths: AppxPaths) -> tuple[Path, bytes]:
    """The user's own file at BIN/tool, and its bytes."""
    path = paths.bin_dir / "tool"
    return path, user_file(path)


def test_a_file_of_a_change_that_never_committed_goes_back_whole(
    paths: AppxPaths, mine: tuple[Path, bytes]
) -> None:
    path, content = mine
    make_generation(paths, "tool", name=OLD)  # installed; NEW was never flipped
    moved = displace(paths)
    assert not os.path.lexists(path)
    [report] = stranded(paths)
    assert report.file == moved
    assert "the next appx install or uninstall puts it back" in report.describe()

    settle(paths)

    assert path.read_bytes() == content
    assert path.stat().st_mode & 0o777 == 0o751
    assert not os.path.lexists(moved.moved_to)
    assert events(paths) == ["displaced", "restored"]
    assert stranded(paths) == []


def test_the_link_the_killed_change_made_is_dropped_for_the_file(
    paths: AppxPaths, mine: tuple[Path, bytes]
) -> None:
    path, content = mine
    displace(paths)  # a first install: the app has no generation at all
    path.symlink_to(target(paths))

    settle(paths)

    assert not path.is_symlink()
    assert path.read_bytes() == content


@pytest.mark.parametrize("pointer", ["current", "previous"])
def test_a_committed_change_keeps_the_file_aside_for_good(
    paths: AppxPaths, mine: tuple[Path, bytes], pointer: str
) -> None:
    path, content = mine
    make_generation(paths, "tool", name=OLD)
    moved = displace(paths)
    (paths.venvs / "tool" / NEW).mkdir()
    point(paths, "tool", pointer, NEW)  # flipped, and maybe flipped again since
    assert stranded(paths) == []

    settle(paths)
    (paths.venvs / "tool" / pointer).unlink()  # later the generation goes away
    settle(paths)

    assert not os.path.lexists(path)
    assert moved.moved_to.read_bytes() == content
    assert events(paths) == ["displaced", "committed"]


def test_a_file_whose_place_is_taken_is_reported_until_it_is_free(
    paths: AppxPaths, mine: tuple[Path, bytes]
) -> None:
    path, content = mine
    moved = displace(paths)
    user_file(path, "a newer file of the user's\n")

    settle(paths)

    assert path.read_text(encoding="utf-8") == "a newer file of the user's\n"
    assert moved.moved_to.read_bytes() == content
    [report] = stranded(paths)
    assert report.describe() == (
        f"{path} was moved to {moved.moved_to} by a change that never completed, and cannot"
        " go back: a file is there now; move one of them yourself"
    )

    path.unlink()
    settle(paths)

    assert path.read_bytes() == content
    assert stranded(paths) == []


def test_a_kill_before_the_move_leaves_the_file_in_place(
    paths: AppxPaths, mine: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, content = mine

    def killed(*_args: object) -> None:
        raise SystemExit("killed after the journal line, before the move")

    with monkeypatch.context() as patch:
        patch.setattr(displaced, "_move", killed)
        with pytest.raises(SystemExit):
            displace(paths)
    assert [moved.original for moved in pending(paths)] == [path]  # written ahead
    assert stranded(paths) == []

    settle(paths)

    assert path.read_bytes() == content
    assert events(paths) == ["displaced", "gone"]
    assert pending(paths) == []


def test_a_file_the_user_took_out_of_displaced_is_forgotten(
    paths: AppxPaths, mine: tuple[Path, bytes]
) -> None:
    path, _ = mine
    moved_to = displace(paths).moved_to
    moved_to.rename(paths.home / "kept-by-the-user")
    assert stranded(paths) == []
    settle(paths)
    assert not os.path.lexists(path)
    assert pending(paths) == []


def test_put_back_never_replaces_a_file_that_appeared_at_the_last_moment(
    paths: AppxPaths, mine: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, content = mine
    moved = displace(paths)
    user_file(path, "appeared\n")
    monkeypatch.setattr(displaced, "occupant_of", lambda *_: Occupant("free"))  # checked too early

    put_back(paths, [moved])

    assert path.read_text(encoding="utf-8") == "appeared\n"
    assert moved.moved_to.read_bytes() == content
    assert pending(paths) == [moved]


def test_put_back_across_filesystems_copies_the_file_whole(
    paths: AppxPaths, mine: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, content = mine
    moved = displace(paths)
    tried: list[str] = []

    def cross_device(*args: object, **_kwargs: object) -> None:
        tried.append(str(args[0]))
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    monkeypatch.setattr(os, "rename", cross_device)

    settle(paths)

    assert tried == [str(moved.moved_to)] * 3  # link, rename, shutil.move's rename: a copy
    assert path.read_bytes() == content
    assert path.stat().st_mode & 0o777 == 0o751
    assert not os.path.lexists(moved.moved_to)


def journal_line(paths: AppxPaths, **fields: object) -> None:
    paths.displaced.mkdir(parents=True, exist_ok=True)
    with (paths.displaced / "index.jsonl").open("a", encoding="utf-8") as journal:
        journal.write(json.dumps(fields) + "\n")


def test_an_entry_without_a_generation_is_never_moved(
    paths: AppxPaths, mine: tuple[Path, bytes]
) -> None:
    path, content = mine
    moved_to = paths.displaced / "tool.20240101T000000Z-0000aaaa"
    paths.displaced.mkdir(parents=True)
    path.rename(moved_to)
    # what appx wrote before the journal named generations
    journal_line(paths, event="displaced", original=str(path), moved_to=str(moved_to), app="tool")

    assert stranded(paths) == []
    settle(paths)

    assert not os.path.lexists(path)
    assert moved_to.read_bytes() == content


@pytest.mark.parametrize(
    "where",
    [
        {"original": "/etc/cron.d/evil"},
        {"original": "{bin}/../evil"},
        {"moved_to": "/etc/passwd"},
        {"app": "../../x"},
    ],
    ids=["original outside", "dot-dot", "moved_to outside", "bad app"],
)
def test_journal_lines_that_name_other_places_are_ignored(
    paths: AppxPaths, where: dict[str, str]
) -> None:
    source = paths.displaced / "tool.x"
    user_file(source, "aside\n")
    line = {
        "event": "displaced",
        "original": str(paths.bin_dir / "tool"),
        "moved_to": str(source),
        "app": "tool",
        "generation": NEW,
        "target": target(paths),
    }
    line |= {key: value.format(bin=paths.bin_dir) for key, value in where.items()}
    journal_line(paths, **line)
    (paths.displaced / "index.jsonl").write_text(
        (paths.displaced / "index.jsonl").read_text(encoding="utf-8") + '{"torn": \n',
        encoding="utf-8",
    )

    assert pending(paths) == []
    settle(paths)
    assert source.read_text(encoding="utf-8") == "aside\n"


def test_man_pages_go_back_too(paths: AppxPaths) -> None:
    page = paths.man_dir / "man1" / "tool.1"
    content = user_file(page, ".TH TOOL 1\n", 0o644)
    moved = move_aside(paths, page, app="tool", generation=NEW, target="x", was="a file")
    settle(paths)
    assert page.read_bytes() == content
    assert not os.path.lexists(moved.moved_to)
