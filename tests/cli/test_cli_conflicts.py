"""Never clobber: conflicts with foreign files and other apps' links, with and without --force."""

from __future__ import annotations

import json
import os

from appx_checks import dir_entries, json_of, output_of
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
