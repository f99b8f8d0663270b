"""upgrade, upgrade-all, rollback and pins end to end, with kills at every step of an upgrade."""

from __future__ import annotations

import json
import subprocess

import pytest

import factories
from appx_checks import dir_entries, healthy_versions, output_of
from factories import Env, IndexServer, RunAppx


def test_upgrade_moves_the_app_and_its_commands(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    result = run_appx("upgrade", "multi-cmd")
    assert result.code == 0, result
    assert "multi-cmd 1.0 -> 2.0" in result.stdout
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-c"}
    assert output_of(appx_env.bin_dir / "multi-a") == "multi-cmd 2.0"
    same = run_appx("upgrade", "multi-cmd")
    assert "already at the newest version" in same.stdout
    back = run_appx("rollback", "multi-cmd")
    assert back.code == 0, back
    assert "multi-cmd: 2.0 -> 1.0" in back.stdout
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-b"}
    assert healthy_versions(run_appx) == {"multi-cmd": "1.0"}


def test_upgrade_all_states_each_result_and_exits_on_failures_only(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite==1.0", "gui-app", "tool-with-man").code == 0
    assert run_appx("pin", "tool-with-man").code == 0
    result = run_appx("upgrade-all", "--json")
    assert result.code == 0, result
    statuses = {r["app"]: r["status"] for r in json.loads(result.stdout)["results"]}
    assert statuses == {
        "cowsay-lite": "upgraded",
        "gui-app": "unchanged",
        "tool-with-man": "pinned",
    }
    assert "pinned" in run_appx("list").stdout
    refused = run_appx("upgrade", "tool-with-man")
    assert refused.code == 3, refused
    assert "appx unpin tool-with-man" in refused.stderr
    skipped = run_appx("upgrade-all", "--skip", "cowsay-lite", "--skip", "gui-app")
    assert skipped.code == 0, skipped
    assert "tool-with-man 1.0: pinned" in skipped.stdout


def test_rollback_with_nothing_to_roll_back_to(run_appx: RunAppx, index: IndexServer) -> None:
    assert run_appx("install", "gui-app").code == 0
    result = run_appx("rollback", "gui-app")
    assert result.code == 3, result
    assert "no previous version" in result.stderr
    assert run_appx("rollback", "nope").code == 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "point", ["after-marker", "after-venv", "after-install", "after-receipt", "after-links"]
)
def test_an_upgrade_killed_before_its_commit_leaves_the_old_version(
    point: str,
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        killed = run_appx("upgrade", "multi-cmd")
    assert killed.code == -9, killed
    assert output_of(appx_env.bin_dir / "multi-a") == "multi-cmd 1.0"
    assert run_appx("upgrade", "multi-cmd").code == 0  # mends, then upgrades
    assert healthy_versions(run_appx) == {"multi-cmd": "2.0"}
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-c"}
    assert factories.run([appx_env.bin_dir / "multi-c"]).stdout.strip() == "multi-cmd 2.0"


def test_reinstall_at_the_recorded_versions_and_on_another_python(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "app-with-dep").code == 0
    again = run_appx("reinstall", "app-with-dep")
    assert again.code == 0, again
    assert "reinstalled app-with-dep 1.0" in again.stdout
    assert output_of(appx_env.bin_dir / "app-with-dep") == "app-with-dep 1.0"
    moved = run_appx("reinstall", "--python", "3.12", "app-with-dep")
    if moved.code == 7:
        pytest.skip(f"no Python 3.12 here: {moved.stderr.strip()}")
    assert moved.code == 0, moved
    listing = json.loads(run_appx("list", "--json").stdout)
    assert listing["apps"][0]["python"].startswith("3.12.")
    assert output_of(appx_env.bin_dir / "app-with-dep") == "app-with-dep 1.0"
    assert run_appx("rollback", "app-with-dep").code == 0  # back on the first Python
    listing = json.loads(run_appx("list", "--json").stdout)
    assert not listing["apps"][0]["python"].startswith("3.12.")


def test_list_outdated_changes_nothing(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "cowsay-lite==1.0", "gui-app").code == 0
    result = run_appx("list", "--outdated", "--json")
    assert result.code == 0, result
    (entry,) = json.loads(result.stdout)["outdated"]
    assert (entry["app"], entry["version"], entry["latest"]) == ("cowsay-lite", "1.0", "2.0")
    assert healthy_versions(run_appx) == {"cowsay-lite": "1.0", "gui-app": "1.0"}
    assert "cowsay-lite 1.0 -> 2.0" in run_appx("list", "--outdated").stdout


@pytest.mark.slow
@pytest.mark.parametrize(("point", "version"), [("after-links", "2.0"), ("after-flip", "1.0")])
def test_a_rollback_killed_half_way_is_whole_before_or_after(
    point: str,
    version: str,
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    assert run_appx("upgrade", "multi-cmd").code == 0
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        killed = run_appx("rollback", "multi-cmd")
    assert killed.code == -9, killed
    assert run_appx("install", "gui-app").code == 0  # any change mends the links
    assert healthy_versions(run_appx) == {"multi-cmd": version, "gui-app": "1.0"}
    assert output_of(appx_env.bin_dir / "multi-a") == f"multi-cmd {version}"


def test_upgrade_rebuilds_a_vcs_app_whose_code_changed_under_one_version(
    run_appx: RunAppx, project_factory: factories.ProjectFactory, appx_env: Env
) -> None:
    project = project_factory("vcs-tool", console_scripts={"vcs-tool": "vcs_tool:main"})
    url = factories.make_git_repo(project)
    assert run_appx("install", url).code == 0
    source = next(project.rglob("vcs_tool/__init__.py"))
    source.write_text("def main():\n    print('new code')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@appx.invalid"]
    subprocess.run([*git, "commit", "-qam", "change"], cwd=project, check=True, timeout=60)
    result = run_appx("upgrade", "vcs-tool")
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "vcs-tool") == "new code"


@pytest.mark.slow
@pytest.mark.parametrize("command", [["upgrade", "multi-cmd"], ["inject", "multi-cmd", "dep-lib"]])
def test_a_change_killed_just_after_its_commit_stands(
    command: list[str],
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", "after-flip")
        killed = run_appx(*command)
    assert killed.code == -9, killed
    assert run_appx("install", "gui-app").code == 0  # any change finishes the clean-up
    listing = json.loads(run_appx("list", "--json").stdout)
    (entry,) = [e for e in listing["apps"] if e["app"] == "multi-cmd"]
    assert entry["problems"] == [], entry
    if command[0] == "upgrade":
        assert entry["version"] == "2.0"
    else:
        assert entry["injected"] == ["dep-lib"]


def test_upgrade_all_names_an_app_held_back_by_its_python(
    run_appx: RunAppx, index: IndexServer
) -> None:
    index.add_wheel("held-app", "1.0", console_scripts={"held-app": "held_app:main"})
    assert run_appx("install", "held-app").code == 0
    index.add_wheel(
        "held-app", "2.0", console_scripts={"held-app": "held_app:main"}, requires_python=">=3.98"
    )
    result = run_appx("upgrade-all", "--json")
    assert result.code == 0, result
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["status"] == "held"
    assert entry["note"] == "newer releases (2.0) need Python >=3.98"
    assert "held-app 1.0: newer releases (2.0) need Python >=3.98" in run_appx("upgrade-all").stdout
