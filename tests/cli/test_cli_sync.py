"""export and sync end to end, against the local index: the round trip, a dry run, prune."""

from __future__ import annotations

import json
import tomllib

from appx_checks import dir_entries, output_of
from factories import Env, IndexServer, RunAppx


def state(run_appx: RunAppx) -> dict[str, tuple[str, bool]]:
    """Each installed app's version and pin, from 'list --json' (which must see no problem)."""
    listing = json.loads(run_appx("list", "--json").stdout)
    assert listing["orphan_links"] == [], listing
    for entry in listing["apps"]:
        assert entry["problems"] == [], entry
    return {entry["app"]: (entry["version"], entry["pinned"]) for entry in listing["apps"]}


def exposed(appx_env: Env) -> tuple[set[str], set[str]]:
    return dir_entries(appx_env.bin_dir), dir_entries(appx_env.man_dir / "man1")


def test_export_uninstall_all_sync_restores_apps_versions_commands_and_pins(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    installed = run_appx("install", "cowsay-lite==1.0", "multi-cmd", "tool-with-man")
    assert installed.code == 0, installed
    assert run_appx("pin", "tool-with-man").code == 0
    before, links = state(run_appx), exposed(appx_env)
    assert before == {
        "cowsay-lite": ("1.0", False),
        "multi-cmd": ("2.0", False),
        "tool-with-man": ("1.0", True),
    }
    export_file = appx_env.tmp / "apps.toml"
    written = run_appx("export", str(export_file))
    assert written.code == 0, written
    printed = run_appx("export")
    assert printed.code == 0, printed
    assert tomllib.loads(printed.stdout) == tomllib.loads(export_file.read_text())
    assert run_appx("uninstall-all").code == 0
    assert state(run_appx) == {}

    dry = run_appx("sync", str(export_file), "--dry-run")
    assert dry.code == 0, dry
    assert "would install cowsay-lite 1.0" in dry.stdout
    assert "would install tool-with-man 1.0; pinned" in dry.stdout
    assert state(run_appx) == {}
    assert exposed(appx_env) == (set(), set())

    synced = run_appx("sync", str(export_file))
    assert synced.code == 0, synced
    assert "installed cowsay-lite 1.0" in synced.stdout
    assert state(run_appx) == before  # 1.0 of cowsay-lite, though 2.0 is on the index
    assert exposed(appx_env) == links
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
    assert output_of(appx_env.bin_dir / "multi-c") == "multi-cmd 2.0"

    again = run_appx("sync", str(export_file), "--json")
    assert again.code == 0, again
    results = json.loads(again.stdout)["results"]
    assert {r["app"]: r["action"] for r in results} == dict.fromkeys(before, "keep")


def test_sync_moves_to_the_recorded_version_and_prunes(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    export_file = appx_env.tmp / "apps.toml"
    assert run_appx("export", str(export_file)).code == 0
    assert run_appx("upgrade", "multi-cmd").code == 0
    assert run_appx("install", "gui-app").code == 0

    left = run_appx("sync", str(export_file))
    assert left.code == 0, left
    assert "moved multi-cmd 2.0 -> 1.0 (version 2.0 -> 1.0)" in left.stdout
    assert "gui-app 1.0: not in the file, left alone" in left.stdout
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-b", "gui-app"}

    dry = run_appx("sync", str(export_file), "--prune", "--dry-run", "--json")
    assert dry.code == 0, dry
    planned = {r["app"]: (r["action"], r["status"]) for r in json.loads(dry.stdout)["results"]}
    assert planned == {"gui-app": ("prune", "planned"), "multi-cmd": ("keep", "planned")}
    assert "gui-app" in state(run_appx)

    pruned = run_appx("sync", str(export_file), "--prune")
    assert pruned.code == 0, pruned
    assert "uninstalled gui-app (not in the file)" in pruned.stdout
    assert state(run_appx) == {"multi-cmd": ("1.0", False)}
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-b"}


def test_a_failed_app_exits_non_zero_naming_it_and_the_others_go_on(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "gui-app", "cowsay-lite==1.0").code == 0
    export_file = appx_env.tmp / "apps.toml"
    assert run_appx("export", str(export_file)).code == 0
    assert run_appx("uninstall-all").code == 0
    text = export_file.read_text().replace('version = "1.0"', 'version = "7.7"', 1)
    export_file.write_text(text)
    result = run_appx("sync", str(export_file))
    assert result.code == 10, result
    assert "1 of 2 failed: cowsay-lite" in result.stderr
    assert set(state(run_appx)) == {"gui-app"}


def test_bad_files_are_refused_with_their_reason(run_appx: RunAppx, appx_env: Env) -> None:
    newer = appx_env.tmp / "newer.toml"
    newer.write_text("format = 2\n")
    refused = run_appx("sync", str(newer))
    assert refused.code == 3, refused
    assert "format 2; this appx reads format 1" in refused.stderr
    broken = appx_env.tmp / "broken.toml"
    broken.write_text('format = 1\n\n[[app]]\nname = "x\n')
    malformed = run_appx("sync", str(broken))
    assert malformed.code == 3, malformed
    assert "line 4" in malformed.stderr
    missing = run_appx("sync", str(appx_env.tmp / "nope.toml"), "--json")
    assert missing.code == 3, missing
    assert json.loads(missing.stdout)["error"]["kind"] == "invalid-spec"
