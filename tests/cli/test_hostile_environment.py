"""A hostile environment, end to end: odd APPX_HOME paths, missing, symlinked, read-only or full
directories, receipts a newer appx wrote, export files that are not TOML, receipts cut off.

Each is a clear error with its documented exit code and no traceback, and nothing is written;
or, where appx can cope (a bin dir to create, one behind a symlink), it copes.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import factories
from appx_checks import current_generation, dir_entries, healthy_versions, output_of
from factories import Env, IndexServer, RunAppx
from hostile_checks import assert_clean_failure, state
from readonly import bound_by_permissions

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow


def test_an_appx_home_with_non_ascii_characters_works(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = appx_env.tmp / "häme-日本"
    monkeypatch.setenv("APPX_HOME", str(home))
    result = run_appx("install", "cowsay-lite")
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"
    assert os.readlink(appx_env.bin_dir / "cowsay-lite").startswith(str(home))
    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert dir_entries(appx_env.bin_dir) == set()


@pytest.mark.parametrize("command", ["install", "list", "uninstall", "environment"])
def test_an_appx_home_with_a_space_is_refused(
    command: str, run_appx: RunAppx, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = appx_env.tmp / "my home"
    monkeypatch.setenv("APPX_HOME", str(home))
    args = {"install": ("cowsay-lite",), "uninstall": ("cowsay-lite",)}.get(command, ())
    result = run_appx(command, *args)
    assert_clean_failure(result, 11)
    assert "APPX_HOME contains whitespace" in result.stderr
    assert not home.exists()


def test_a_bin_dir_that_does_not_exist_yet_is_created(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = appx_env.tmp / "not" / "yet" / "bin"
    monkeypatch.setenv("APPX_BIN_DIR", str(bin_dir))
    assert run_appx("install", "cowsay-lite").code == 0
    assert output_of(bin_dir / "cowsay-lite") == "cowsay-lite 2.0"


def test_a_bin_dir_that_is_a_symlink_gets_the_links_in_its_target(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = appx_env.tmp / "real-bin"
    target.mkdir()
    alias = appx_env.tmp / "bin-alias"
    alias.symlink_to(target)
    monkeypatch.setenv("APPX_BIN_DIR", str(alias))

    assert run_appx("install", "cowsay-lite").code == 0
    assert dir_entries(target) == {"cowsay-lite"}
    assert alias.is_symlink()  # never replaced by a directory
    assert output_of(alias / "cowsay-lite") == "cowsay-lite 2.0"
    assert healthy_versions(run_appx) == {"cowsay-lite": "2.0"}

    assert run_appx("uninstall", "cowsay-lite").code == 0
    assert dir_entries(target) == set()
    assert alias.is_symlink()


def _run_bound(*args: str) -> factories.ProcResult:
    argv = bound_by_permissions(factories.appx_command(*args))
    if argv is None:
        pytest.skip("root without capsh cannot test read-only directories")
    return factories.run(argv)


@pytest.mark.parametrize("which", ["home", "bin"])
def test_a_read_only_home_or_bin_dir_is_refused_before_anything_is_built(
    which: str, run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    directory = appx_env.appx_home if which == "home" else appx_env.bin_dir
    before = state(appx_env)
    directory.chmod(0o555)
    try:
        installing = _run_bound("install", "cowsay-lite")
        removing = _run_bound("uninstall", "tool-with-man")
        listing = _run_bound("list", "--json")
    finally:
        directory.chmod(0o755)

    for result in (installing, removing):
        assert_clean_failure(result, 11)
        assert str(directory) in result.stderr
    assert listing.code == 0, listing  # reading needs no write access
    assert [app["app"] for app in json.loads(listing.stdout)["apps"]] == ["tool-with-man"]
    assert state(appx_env) == before


@pytest.fixture(params=[0, 16, 48, 96])
def tiny_home(
    request: pytest.FixtureRequest, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """APPX_HOME on a full tmpfs with this many KiB left, so that a build meets ENOSPC for real."""
    mount_point = appx_env.tmp / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", f"appx-test-{uuid.uuid4().hex[:8]}", mount_point],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    filler = mount_point / "filler"
    with filler.open("wb") as file:
        file.write(b"x" * (1024 * 1024 - request.param * 1024))
    monkeypatch.setenv("APPX_HOME", str(mount_point / "home"))
    yield mount_point
    subprocess.run(["umount", "--lazy", mount_point], check=False, capture_output=True)


def test_a_full_disk_fails_the_install_cleanly_and_leaves_nothing(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, tiny_home: Path
) -> None:
    result = run_appx("install", "cowsay-lite")
    assert result.code in {1, 6, 11}, result
    assert "Traceback" not in result.stderr
    assert "space" in result.stderr.lower(), result
    assert dir_entries(tiny_home / "home" / "venvs") == set()
    assert dir_entries(appx_env.bin_dir) == set()
    listing = run_appx("list", "--json")
    assert json.loads(listing.stdout)["apps"] == []


# --- receipts and export files appx cannot read ------------------------------------------------


def _newer_receipt(env: Env, app: str) -> Path:
    receipt = current_generation(env, app) / "appx-receipt.json"
    receipt.write_text(receipt.read_text().replace('"schema": 1', '"schema": 7'))
    return receipt


def test_sync_refuses_to_touch_an_app_a_newer_appx_wrote(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    exported = appx_env.tmp / "apps.toml"
    exported.write_text(run_appx("export").stdout)
    assert run_appx("upgrade", "cowsay-lite").code == 0  # now 2.0: sync would move it back
    receipt = _newer_receipt(appx_env, "cowsay-lite")
    before = state(appx_env)  # the receipt's bytes included

    result = run_appx("sync", str(exported))

    assert_clean_failure(result, 9)
    assert "newer appx" in result.stderr
    assert state(appx_env) == before
    assert receipt.read_text().count('"schema": 7') == 1


@pytest.mark.parametrize(
    "text",
    ["this is not toml [", "\x00\x01\x02", '{"json": "instead"}', "format = 1\n[apps\n"],
    ids=["garbage", "binary", "json", "cut-off"],
)
@pytest.mark.parametrize("command", ["sync"])
def test_an_export_file_that_is_not_toml_is_a_clear_error(
    text: str, command: str, run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    bad = appx_env.tmp / "apps.toml"
    bad.write_text(text)
    before = state(appx_env)
    result = run_appx(*command.split(), str(bad))
    assert_clean_failure(result, 3)
    assert str(bad) in result.stderr or "apps.toml" in result.stderr
    assert state(appx_env) == before


@pytest.mark.parametrize("damage", ["cut-off", "not-json", "empty"])
def test_an_unreadable_receipt_is_listed_and_its_app_can_be_uninstalled(
    damage: str, run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    receipt = current_generation(appx_env, "tool-with-man") / "appx-receipt.json"
    text = receipt.read_text()
    receipt.write_text(
        {"cut-off": text[: len(text) // 2], "not-json": "<html>", "empty": ""}[damage]
    )

    listing = run_appx("list", "--json")
    assert listing.code == 0, listing
    (entry,) = json.loads(listing.stdout)["apps"]
    assert entry["app"] == "tool-with-man"
    assert entry["problems"], entry
    plain = run_appx("list")
    assert "tool-with-man" in plain.stdout + plain.stderr
    assert "Traceback" not in plain.stderr

    removed = run_appx("uninstall", "tool-with-man")
    assert removed.code == 0, removed
    assert dir_entries(appx_env.bin_dir) == set()
    assert dir_entries(appx_env.man_dir / "man1") == set()
    assert json.loads(run_appx("list", "--json").stdout)["apps"] == []


def test_an_app_with_an_unreadable_receipt_is_rebuilt_by_install_force(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    receipt = current_generation(appx_env, "tool-with-man") / "appx-receipt.json"
    receipt.write_text(receipt.read_text()[:100])

    refused = run_appx("upgrade", "tool-with-man")
    assert_clean_failure(refused, 9)
    rebuilt = run_appx("install", "--force", "tool-with-man")

    assert rebuilt.code == 0, rebuilt
    assert healthy_versions(run_appx) == {"tool-with-man": "1.0"}
    assert output_of(appx_env.bin_dir / "tool-with-man") == "tool-with-man 1.0"
    assert dir_entries(appx_env.man_dir / "man1") == {"tool-with-man.1"}
