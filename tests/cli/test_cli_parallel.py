"""Several apps at once, end to end: install, upgrade-all, reinstall-all and sync work on
several apps together, report in the order given, settle conflicts between them as one
after the other would, and an interrupt keeps what committed and discards the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries, healthy_versions, output_of
from factories import Env, IndexServer, RunAppx

RIVAL = "par-rival"  # provides a command named like cowsay-lite's


@pytest.fixture
def rival(index: IndexServer) -> IndexServer:
    index.add_wheel(RIVAL, console_scripts={"cowsay-lite": "par_rival:main"})
    return index


def generations(appx_env: Env) -> dict[str, set[str]]:
    venvs = appx_env.appx_home / "venvs"
    return {
        app: {g for g in dir_entries(venvs / app) if g.startswith("g")} for app in os.listdir(venvs)
    }


def test_install_of_several_apps_reports_each_in_order_and_settles_conflicts_in_order(
    run_appx: RunAppx, rival: IndexServer, appx_env: Env
) -> None:
    specs = ["cowsay-lite", RIVAL, "gui-app", "no-such-package", "multi-cmd==1.0"]
    result = run_appx("install", "--json", *specs)
    assert result.code == 10, result
    document = json.loads(result.stdout)
    assert [r["spec"] for r in document["results"]] == specs
    assert [r["status"] for r in document["results"]] == [
        "installed",
        "failed",
        "installed",
        "failed",
        "installed",
    ]
    assert document["results"][1]["error"]["kind"] == "conflict"
    assert document["results"][3]["error"]["kind"] == "installer-failed"
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"  # the first one's
    assert healthy_versions(run_appx) == {
        "cowsay-lite": "2.0",
        "gui-app": "1.0",
        "multi-cmd": "1.0",
    }

    text = run_appx("install", RIVAL, "tool-with-man", "no-such-package")
    assert text.code == 10, text
    lines = text.stdout.splitlines()
    assert lines.index("installed tool-with-man 1.0") >= 0
    errors = [line for line in text.stderr.splitlines() if line.startswith("error: ")]
    assert errors[0].startswith(f"error: {RIVAL}: ")  # each failure named, in order
    assert errors[1].startswith("error: no-such-package: ")
    assert errors[2] == f"error: 2 of 3 failed: {RIVAL}, no-such-package"


def test_upgrade_all_with_nothing_to_upgrade_builds_nothing(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    installed = run_appx("install", "gui-app", "tool-with-man", "multi-cmd")
    assert installed.code == 0, installed
    assert run_appx("install", "--suffix=-b", "multi-cmd").code == 0
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    before = generations(appx_env)
    result = run_appx("--verbose", "upgrade-all", "--json")
    assert result.code == 0, result
    results = json.loads(result.stdout)["results"]
    assert [(r["app"], r["status"]) for r in results] == [
        ("cowsay-lite", "upgraded"),
        ("gui-app", "unchanged"),
        ("multi-cmd", "unchanged"),
        ("multi-cmd+-b", "unchanged"),
        ("tool-with-man", "unchanged"),
    ]
    after = generations(appx_env)
    assert len(after.pop("cowsay-lite")) == 2
    before.pop("cowsay-lite")
    assert after == before  # no build kept, and none made
    assert "Creating a virtual environment for gui-app" not in result.stderr
    assert "cowsay-lite: Creating a virtual environment for cowsay-lite..." in result.stderr

    again = run_appx("upgrade-all")
    assert again.code == 0, again
    assert again.stdout.splitlines() == [
        "cowsay-lite 2.0: already at the newest version",
        "gui-app 1.0: already at the newest version",
        "multi-cmd 2.0: already at the newest version",
        "multi-cmd+-b 2.0: already at the newest version",
        "tool-with-man 1.0: already at the newest version",
    ]


def test_reinstall_all_rebuilds_every_app_and_says_so_in_order(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man", "cowsay-lite==1.0", "gui-app").code == 0
    result = run_appx("reinstall-all")
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert [line.split(" (Python ")[0] for line in lines] == [
        "reinstalled cowsay-lite 1.0",
        "reinstalled gui-app 1.0",
        "reinstalled tool-with-man 1.0",
    ]
    assert all(len(gens) == 2 for gens in generations(appx_env).values())
    assert healthy_versions(run_appx) == {
        "cowsay-lite": "1.0",
        "gui-app": "1.0",
        "tool-with-man": "1.0",
    }


def test_sync_of_several_apps_with_a_conflict_and_a_failure(
    run_appx: RunAppx, rival: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite==1.0", "gui-app").code == 0
    exported = run_appx("export")
    assert exported.code == 0, exported
    head, *blocks = exported.stdout.split("[[app]]")
    cowsay = next(b for b in blocks if 'name = "cowsay-lite"' in b)
    extra = [cowsay.replace("cowsay-lite", name) for name in ("ghost-app", RIVAL)]
    export_file = appx_env.tmp / "apps.toml"
    export_file.write_text("[[app]]".join([head, *blocks, *extra]))
    assert run_appx("uninstall-all").code == 0

    result = run_appx("sync", "--json", str(export_file))
    assert result.code == 10, result
    results = json.loads(result.stdout)["results"]
    assert [(r["app"], r["status"]) for r in results] == [
        ("cowsay-lite", "done"),
        ("gui-app", "done"),
        ("ghost-app", "failed"),
        (RIVAL, "failed"),
    ]
    assert results[2]["error"]["kind"] == "installer-failed"
    assert results[3]["error"]["kind"] == "conflict"
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
    assert healthy_versions(run_appx) == {"cowsay-lite": "1.0", "gui-app": "1.0"}


def installers_left(home: Path) -> list[str]:
    """Processes still running whose command line names this test's APPX_HOME."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and str(home) in command:
            found.append(command)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("point", ["after-venv", "after-install", "after-flip"])
def test_ctrl_c_during_a_parallel_install_keeps_what_committed_and_discards_the_rest(
    point: str,
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = ["gui-app", "cowsay-lite", "tool-with-man", "multi-cmd"]
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        patch.setenv("APPX_FAULT_SIGNAL", "INT")
        result = run_appx("install", "--json", *specs)
    assert result.code == 130, result
    document = json.loads(result.stdout)
    statuses = {r["spec"]: r["status"] for r in document["results"]}
    assert list(statuses) == specs
    if point == "after-flip":  # the first to commit is the first given: the others wait
        assert statuses == {"gui-app": "installed"} | dict.fromkeys(specs[1:], "failed")
    kept = {spec for spec, status in statuses.items() if status == "installed"}
    assert set(healthy_versions(run_appx)) == kept
    for r in document["results"]:
        if r["status"] == "failed":
            assert r["error"]["kind"] == "interrupted"
    assert installers_left(appx_env.appx_home) == []
    assert all(not name.startswith(".") for gens in generations(appx_env).values() for name in gens)
    for app in specs:
        app_dir = appx_env.appx_home / "venvs" / app
        assert not any(e.endswith(".building") for e in dir_entries(app_dir)), app
        assert app in kept or dir_entries(app_dir) == set(), app
    assert run_appx("install", *specs).code == 0  # nothing blocks a later command


def an_installer_runs(home: Path) -> bool:
    """Whether some app's build marker names an installer's process group."""
    for marker in (home / "venvs").glob("*/.*.building"):
        try:
            if json.loads(marker.read_text())["groups"]:
                return True
        except (OSError, ValueError, KeyError):
            continue
    return False


@pytest.mark.slow
def test_sigterm_from_outside_during_a_parallel_install_discards_what_is_not_committed(
    index: IndexServer, appx_env: Env, run_appx: RunAppx
) -> None:
    specs = ["gui-app", "cowsay-lite", "tool-with-man"]
    process = subprocess.Popen(
        factories.appx_command("install", "--json", *specs),
        cwd=appx_env.tmp,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not an_installer_runs(appx_env.appx_home) and process.poll() is None:
            assert time.monotonic() < deadline, "no installer ever started"
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    results = json.loads(out)["results"]
    assert [r["spec"] for r in results] == specs
    kept = {r["spec"] for r in results if r["status"] == "installed"}
    assert all(r["error"]["kind"] == "interrupted" for r in results if r["spec"] not in kept)
    assert set(healthy_versions(run_appx)) == kept
    assert installers_left(appx_env.appx_home) == []
    for app in set(specs) - kept:
        assert dir_entries(appx_env.appx_home / "venvs" / app) == set(), app
