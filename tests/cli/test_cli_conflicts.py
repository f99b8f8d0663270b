"""Never clobber: conflicts with foreign files and other apps' links, with and without --force."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from appx_checks import current_generation, dir_entries, json_of, output_of
from factories import Env, IndexServer, RunAppx


def test_plain_file_blocks_the_install_until_forced(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    appx_env.bin_dir.mkdir()
    mine = appx_env.bin_dir / "cowsay-lite"
    mine.write_text("#!/bin/sh\necho mine\n")
    result = run_appx("install", "cowsay-lite")
    assert result.code == 5, result
    assert str(mine) in result.stderr
    assert "a file" in result.stderr
    assert "--force" in result.stderr
    assert mine.read_text() == "#!/bin/sh\necho mine\n"
    assert not mine.is_symlink()
    assert dir_entries(appx_env.appx_home / "venvs") == set()

    forced = run_appx("install", "--force", "cowsay-lite")
    assert forced.code == 0, forced
    assert output_of(mine) == "cowsay-lite 2.0"
    displaced = [p for p in (appx_env.appx_home / "displaced").iterdir() if p.name != "index.jsonl"]
    assert len(displaced) == 1
    assert displaced[0].read_text() == "#!/bin/sh\necho mine\n"
    assert str(displaced[0]) in forced.stderr  # says where it went
    record = json.loads(
        (appx_env.appx_home / "displaced" / "index.jsonl").read_text().splitlines()[0]
    )
    assert record["original"] == str(mine)
    assert record["moved_to"] == str(displaced[0])


def test_another_apps_command_is_taken_over_only_with_force(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    index.add_wheel("cowsay-clone", console_scripts={"cowsay-lite": "cowsay_clone:main"})
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    result = run_appx("install", "cowsay-clone")
    assert result.code == 5, result
    assert "app 'cowsay-lite'" in result.stderr
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
    assert dir_entries(appx_env.appx_home / "venvs") == {"cowsay-lite"}

    forced = run_appx("install", "--force", "cowsay-clone")
    assert forced.code == 0, forced
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-clone 1.0"
    listed = json_of(run_appx("list", "--json"))
    original = next(a for a in listed["apps"] if a["app"] == "cowsay-lite")
    assert original["commands"][0]["state"] == "taken"
    assert "cowsay-clone" in original["commands"][0]["detail"]
    # uninstalling the original leaves the clone's link alone
    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-clone 1.0"


def test_foreign_symlink_is_named_and_moved_aside_with_force(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    appx_env.bin_dir.mkdir()
    pipx_target = "/home/someone/.local/pipx/venvs/cowsay-lite/bin/cowsay-lite"
    link = appx_env.bin_dir / "cowsay-lite"
    link.symlink_to(pipx_target)
    result = run_appx("install", "cowsay-lite")
    assert result.code == 5, result
    assert "pipx" in result.stderr
    assert os.readlink(link) == pipx_target

    forced = run_appx("install", "--force", "cowsay-lite")
    assert forced.code == 0, forced
    moved = [p for p in (appx_env.appx_home / "displaced").iterdir() if p.is_symlink()]
    assert [os.readlink(p) for p in moved] == [pipx_target]
    assert output_of(link) == "cowsay-lite 2.0"


def test_uninstall_touches_nothing_it_does_not_own(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    appx_env.bin_dir.mkdir()
    (appx_env.bin_dir / "other-tool").write_text("keep me")
    (appx_env.bin_dir / "pointer").symlink_to("/usr/bin/env")
    assert run_appx("install", "cowsay-lite", "gui-app").code == 0
    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert dir_entries(appx_env.bin_dir) == {"other-tool", "pointer", "gui-app"}
    assert (appx_env.bin_dir / "other-tool").read_text() == "keep me"
    assert dir_entries(appx_env.appx_home / "venvs") == {"gui-app"}


# --- a --force killed before it committed (issue 5, item 14) ------------------------------------

USER_SCRIPT = b"#!/bin/sh\necho 'the user's own'\n"


def users_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(USER_SCRIPT)
    path.chmod(0o751)


def killed_at(point: str, run_appx: RunAppx, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        result = run_appx(*args)
    assert result.code == -signal.SIGKILL, result


def journal(env: Env) -> list[dict[str, str]]:
    text = (env.appx_home / "displaced" / "index.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def assert_the_users_file_is_back(path: Path) -> None:
    assert not path.is_symlink()
    assert path.read_bytes() == USER_SCRIPT
    assert path.stat().st_mode & 0o777 == 0o751


@pytest.mark.parametrize(
    "then", [("install", "gui-app"), ("uninstall", "never-installed")], ids=["install", "uninstall"]
)
@pytest.mark.parametrize(
    ("before", "forced", "command"),
    [
        pytest.param((), "cowsay-lite", "cowsay-lite", id="first-install"),
        pytest.param(("multi-cmd==1.0",), "multi-cmd==2.0", "multi-c", id="upgrade"),
    ],
)
def test_a_file_displaced_by_a_killed_force_goes_back_and_is_reported_meanwhile(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    before: tuple[str, ...],
    forced: str,
    command: str,
    then: tuple[str, ...],
) -> None:
    if before:
        assert run_appx("install", *before).code == 0
    mine = appx_env.bin_dir / command
    users_file(mine)

    killed_at("after-links", run_appx, monkeypatch, "install", "--force", forced)

    assert mine.is_symlink(), "the kill was expected to leave appx's link in its place"
    [aside] = [p for p in (appx_env.appx_home / "displaced").iterdir() if p.name != "index.jsonl"]
    assert aside.read_bytes() == USER_SCRIPT
    listing = json_of(run_appx("list", "--json"))
    [report] = listing["displaced_files"]
    assert str(mine) in report
    assert str(aside) in report
    assert "puts it back" in report
    assert f"problem: {report}" in run_appx("list").stdout

    mutating = run_appx(*then)

    assert mutating.code in {0, 4}, mutating  # 4: uninstalling an app that is not installed
    assert_the_users_file_is_back(mine)
    assert not os.path.lexists(aside)
    assert journal(appx_env)[-1]["event"] == "restored"
    listing = json_of(run_appx("list", "--json"))
    assert listing["displaced_files"] == []
    assert listing["orphan_links"] == []
    assert all(app["problems"] == [] for app in listing["apps"]), listing


def test_a_file_displaced_by_a_force_killed_after_its_flip_stays_aside(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = appx_env.bin_dir / "cowsay-lite"
    users_file(mine)

    killed_at("after-flip", run_appx, monkeypatch, "install", "--force", "cowsay-lite")

    assert json_of(run_appx("list", "--json"))["displaced_files"] == []
    # uninstalling the app that committed must not take that as a change that never did
    assert run_appx("uninstall", "cowsay-lite").code == 0

    assert not os.path.lexists(mine)
    [aside] = [p for p in (appx_env.appx_home / "displaced").iterdir() if p.name != "index.jsonl"]
    assert aside.read_bytes() == USER_SCRIPT
    assert [e["event"] for e in journal(appx_env)] == ["displaced", "committed"]
    assert json_of(run_appx("list", "--json"))["displaced_files"] == []


# --- names read from a receipt are paths too (issue 5, item 9) ----------------------------------


def test_a_receipt_edited_to_name_a_path_outside_the_bin_dir_makes_no_link_there(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    receipt_path = current_generation(appx_env, "cowsay-lite") / "appx-receipt.json"
    receipt = json.loads(receipt_path.read_text(encoding="utf-8"))
    receipt["commands"][0]["exposed_as"] = "../victimdir/pwned"
    receipt_path.write_text(json.dumps(receipt), encoding="utf-8")
    victim = appx_env.tmp / "victimdir"
    victim.mkdir()
    (appx_env.bin_dir / "cowsay-lite").unlink()

    assert run_appx("install", "gui-app").code == 0  # mends every app's links

    assert dir_entries(victim) == set()
    listed = json_of(run_appx("list", "--json"))
    broken = next(a for a in listed["apps"] if a["app"] == "cowsay-lite")
    assert "corrupt" in broken["problems"][0]
    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert dir_entries(victim) == set()
