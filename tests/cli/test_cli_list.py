"""`appx list`: what is installed, and every problem a user should know about."""

from __future__ import annotations

import json
import os

from appx_checks import current_generation, json_of
from factories import Env, IndexServer, RunAppx


def test_list_shows_apps_commands_and_man_pages(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "tool-with-man", "cowsay-lite==1.0").code == 0
    result = run_appx("list")
    assert result.code == 0, result
    assert "cowsay-lite 1.0 (Python 3." in result.stdout
    assert "commands: tool-with-man" in result.stdout
    assert "man pages: tool-with-man.1" in result.stdout
    assert "problem" not in result.stdout

    short = run_appx("list", "--short")
    assert short.stdout.splitlines() == ["cowsay-lite 1.0", "tool-with-man 1.0"]


def test_list_json_schema(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    assert run_appx("install", "tool-with-man", "--suffix=-x").code == 0
    data = json_of(run_appx("list", "--json"))
    assert data["schema"] == 1
    assert data["orphan_links"] == []
    (app,) = data["apps"]
    assert app["app"] == "tool-with-man+-x"
    assert app["package"] == "tool-with-man"
    assert app["suffix"] == "-x"
    assert app["version"] == "1.0"
    assert app["commands"] == [
        {
            "name": "tool-with-man-x",
            "path": str(appx_env.bin_dir / "tool-with-man-x"),
            "state": "ok",
            "detail": "",
        }
    ]
    assert app["man_pages"][0]["name"] == "tool-with-man-x.1"
    assert app["problems"] == []


def test_list_on_a_fresh_home_creates_nothing(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("list")
    assert result.code == 0, result
    assert "no apps are installed" in result.stdout
    assert not appx_env.appx_home.exists()
    assert not appx_env.bin_dir.exists()
    assert run_appx("list", "--json").code == 0
    assert not appx_env.appx_home.exists()


def test_list_reports_a_missing_shim_and_install_mends_it(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    (appx_env.bin_dir / "cowsay-lite").unlink()
    data = json_of(run_appx("list", "--json"))
    assert data["apps"][0]["commands"][0]["state"] == "missing"
    assert "problem:" in run_appx("list").stdout
    # any mutating command mends derived links
    assert run_appx("install", "gui-app").code == 0
    assert (appx_env.bin_dir / "cowsay-lite").is_symlink()
    assert json_of(run_appx("list", "--json"))["apps"][0]["problems"] == []


def test_list_reports_a_missing_interpreter(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    receipt_path = current_generation(appx_env, "cowsay-lite") / "appx-receipt.json"
    receipt = json.loads(receipt_path.read_text())
    receipt["python"]["executable"] = "/gone/python3.11"
    receipt_path.write_text(json.dumps(receipt))
    data = json_of(run_appx("list", "--json"))
    assert data["apps"][0]["problems"] == ["its Python is missing: /gone/python3.11"]


def test_corrupt_receipt_is_reported_and_the_app_still_uninstalls(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite", "gui-app").code == 0
    (current_generation(appx_env, "cowsay-lite") / "appx-receipt.json").write_text("{not json")
    result = run_appx("list")
    assert result.code == 0, result
    assert "cowsay-lite (receipt unreadable)" in result.stdout
    assert "receipt corrupt" in result.stdout
    assert "gui-app 1.0" in result.stdout
    data = json_of(run_appx("list", "--json"))
    broken = next(a for a in data["apps"] if a["app"] == "cowsay-lite")
    assert broken["version"] is None
    assert broken["problems"][0].startswith("receipt corrupt")

    removed = run_appx("uninstall", "cowsay-lite")
    assert removed.code == 0, removed
    assert not (appx_env.bin_dir / "cowsay-lite").exists()
    assert not (appx_env.appx_home / "venvs" / "cowsay-lite").exists()


def test_unreadable_receipt_is_reported(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    (current_generation(appx_env, "cowsay-lite") / "appx-receipt.json").unlink()
    data = json_of(run_appx("list", "--json"))
    assert data["apps"][0]["problems"][0].startswith("receipt missing")


def test_orphan_links_are_reported(run_appx: RunAppx, appx_env: Env) -> None:
    appx_env.bin_dir.mkdir()
    orphan = appx_env.bin_dir / "ghost"
    os.symlink(f"{appx_env.appx_home}/venvs/ghost/current/bin/ghost", orphan)
    data = json_of(run_appx("list", "--json"))
    assert data["orphan_links"] == [f"{orphan} belongs to ghost, which is not installed"]
