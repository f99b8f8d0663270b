"""inject, uninject and runpip end to end, against the local index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries, output_of
from factories import Env, IndexServer, RunAppx


def listed(run_appx: RunAppx) -> dict[str, list[str]]:
    listing = json.loads(run_appx("list", "--json").stdout)
    for entry in listing["apps"]:
        assert entry["problems"] == [], entry
    return {entry["app"]: entry["injected"] for entry in listing["apps"]}


def frozen(run_appx: RunAppx, app: str) -> str:
    result = run_appx("runpip", app, "freeze")
    assert result.code == 0, result
    return result.stdout


def test_inject_and_uninject_a_package_with_its_command(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    tmp_path: Path,
    backend: str,
) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# what the app needs\ndep-lib\n")
    result = run_appx("inject", "cowsay-lite", "-r", str(requirements), "--include-apps")
    assert result.code == 0, result
    assert "injected dep-lib into cowsay-lite" in result.stdout
    assert "dep-lib==1.0" in frozen(run_appx, "cowsay-lite")
    assert listed(run_appx) == {"cowsay-lite": ["dep-lib"]}
    assert "injected: dep-lib" in run_appx("list").stdout
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite", "dep-tool"}
    assert output_of(appx_env.bin_dir / "dep-tool") == "dep-lib 1.0"

    upgraded = run_appx("upgrade", "cowsay-lite")
    assert "cowsay-lite 1.0 -> 2.0" in upgraded.stdout, upgraded
    assert listed(run_appx) == {"cowsay-lite": ["dep-lib"]}
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite", "dep-tool"}

    removed = run_appx("uninject", "cowsay-lite", "dep-lib", "--json")
    assert removed.code == 0, removed
    document = json.loads(removed.stdout)
    assert (document["status"], document["packages"], document["injected"]) == (
        "uninjected",
        ["dep-lib"],
        [],
    )
    assert "dep-lib" not in frozen(run_appx, "cowsay-lite")
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite"}
    assert listed(run_appx) == {"cowsay-lite": []}
    again = run_appx("uninject", "cowsay-lite", "dep-lib")
    assert again.code == 3, again
    assert "nothing is injected into cowsay-lite" in again.stderr

    back = run_appx("rollback", "cowsay-lite")
    assert back.code == 0, back
    assert listed(run_appx) == {"cowsay-lite": ["dep-lib"]}
    assert output_of(appx_env.bin_dir / "dep-tool") == "dep-lib 1.0"


def test_runpip_reads_and_refuses_changes(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "app-with-dep").code == 0
    listing = run_appx("runpip", "app-with-dep", "list", "--format", "json")
    assert listing.code == 0, listing
    names = {p["name"] for p in json.loads(listing.stdout)}
    assert {"app-with-dep", "dep-lib"} <= names
    missing = run_appx("runpip", "app-with-dep", "show", "not-there")
    assert missing.code == 1  # pip's own exit code
    refused = run_appx("runpip", "app-with-dep", "install", "cowsay-lite")
    assert refused.code == 3, refused
    assert "appx inject app-with-dep PKG" in refused.stderr
    assert "cowsay-lite" not in frozen(run_appx, "app-with-dep")
    assert run_appx("runpip", "nope", "list").code == 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "point", ["after-marker", "after-venv", "after-install", "after-receipt", "after-links"]
)
def test_an_inject_killed_before_its_commit_changes_nothing(
    point: str,
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        killed = run_appx("inject", "--include-apps", "cowsay-lite", "dep-lib")
    assert killed.code == -9, killed
    assert run_appx("install", "gui-app").code == 0  # any change mends what the kill left
    assert listed(run_appx)["cowsay-lite"] == []
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite", "gui-app"}
    assert run_appx("inject", "--include-apps", "cowsay-lite", "dep-lib").code == 0
    assert output_of(appx_env.bin_dir / "dep-tool") == "dep-lib 1.0"


def test_a_package_injected_from_git_is_known_by_its_name(
    run_appx: RunAppx,
    index: IndexServer,
    project_factory: factories.ProjectFactory,
    appx_env: Env,
) -> None:
    project = project_factory("git-plugin", console_scripts={"git-plugin": "git_plugin:main"})
    url = factories.make_git_repo(project)
    assert run_appx("install", "cowsay-lite").code == 0
    injected = run_appx("inject", "--include-apps", "cowsay-lite", url)
    assert injected.code == 0, injected
    assert listed(run_appx)["cowsay-lite"] == [f"git-plugin @ {url}"]
    assert output_of(appx_env.bin_dir / "git-plugin") == "git-plugin 1.0"
    gone = run_appx("uninject", "cowsay-lite", "git-plugin")
    assert gone.code == 0, gone
    assert listed(run_appx)["cowsay-lite"] == []
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite"}
