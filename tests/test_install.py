"""The install and uninstall decisions, in-process, with a fake backend (no pip, no network)."""

from __future__ import annotations

import io
import json
import os
import shutil

from appx.errors import (
    EnvironmentSetupError,
    InstallerError,
    NewerReceiptError,
    NoCommandsError,
    ShimConflictError,
)
from appx.install import InstallOptions, InstallResult, install_apps
from appx.listing import list_apps
from appx.output import Console
from appx.paths import AppxPaths
from appx.receipt import receipt_path
from appx.uninstall import uninstall_apps
from fake_backend import FakeBackend, FakePackage, this_interpreter

CATALOGUE = {
    "tool": FakePackage("tool", "1.0", commands=["tool"], man_pages=["man1/tool.1"]),
    "other": FakePackage("other", "2.0", commands=["other"]),
    "third": FakePackage("third", "3.0", commands=["third"]),
    "lib": FakePackage("lib", "1.0"),
    "liar": FakePackage("liar", "1.0", commands=["liar"], metadata_name="truth"),
    "unasked": FakePackage("unasked", "1.0", commands=["unasked"], marks_requested=False),
    "clash": FakePackage("clash", "1.0", commands=["tool"]),
}


def install(
    paths: AppxPaths,
    *specs: str,
    backend: FakeBackend | None = None,
    jobs: int | None = None,
    **options: bool | str,
) -> list[InstallResult]:
    """Install through the fake backend: several specs at once, or ``jobs`` at a time."""
    console = Console(out=io.StringIO(), err=io.StringIO())
    environ = {"PATH": str(paths.bin_dir)} | ({"APPX_JOBS": str(jobs)} if jobs else {})
    return install_apps(
        paths,
        specs,
        InstallOptions(**options),  # type: ignore[arg-type]
        console,
        cwd=paths.home.parent,
        environ=environ,
        backend=backend or FakeBackend(CATALOGUE),
        interpreter=this_interpreter(),
    )


def nothing_left_of(paths: AppxPaths, app: str) -> bool:
    """No generation, marker, pointer or link of `app` is left anywhere."""
    leftovers = list(paths.app_dir(app).iterdir()) if paths.app_dir(app).exists() else []
    links = list(paths.bin_dir.iterdir()) if paths.bin_dir.exists() else []
    return not leftovers and not any(os.readlink(p).find(f"/{app}/") >= 0 for p in links)


def test_install_links_only_the_apps_commands_and_writes_its_receipt(paths: AppxPaths) -> None:
    (result,) = install(paths, "tool")
    assert (result.status, result.version, result.commands) == ("installed", "1.0", ("tool",))
    link = paths.bin_dir / "tool"
    assert os.readlink(link) == f"{paths.venvs}/tool/current/bin/tool"
    assert (paths.man_dir / "man1" / "tool.1").is_symlink()
    current = paths.apps.read_current("tool")
    assert current is not None
    receipt = json.loads(receipt_path(current.path).read_text())
    assert receipt["version"] == "1.0"
    assert receipt["commands"][0]["exposed_as"] == "tool"


def test_a_filesystem_error_in_one_spec_does_not_sink_the_batch(paths: AppxPaths) -> None:
    backend = FakeBackend(CATALOGUE)

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", "/some/dir")

    backend.hooks["install:other"] = refuse
    results = install(paths, "tool", "other", "third", backend=backend)
    assert [r.status for r in results] == ["installed", "failed", "installed"]
    error = results[1].error
    assert isinstance(error, EnvironmentSetupError)
    assert "/some/dir" in error.message
    assert nothing_left_of(paths, "other")
    assert sorted(p.name for p in paths.bin_dir.iterdir()) == ["third", "tool"]


def test_a_bug_in_one_spec_is_an_internal_error_of_that_spec_only(paths: AppxPaths) -> None:
    backend = FakeBackend(CATALOGUE)
    backend.hooks["venv"] = lambda: (_ for _ in ()).throw(RuntimeError("boom"))
    (result,) = install(paths, "tool", backend=backend)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.exit_code == 1
    assert "boom" in result.error.message
    assert nothing_left_of(paths, "tool")


def test_ctrl_c_during_one_install_discards_it_reports_the_done_and_stops(
    paths: AppxPaths,
) -> None:
    backend = FakeBackend(CATALOGUE)
    calls = iter([False, True])

    def interrupt_second() -> None:
        if next(calls):
            raise KeyboardInterrupt

    backend.hooks["install"] = interrupt_second
    results = install(paths, "tool", "other", "third", backend=backend, jobs=1)
    assert [r.status for r in results] == ["installed", "failed", "failed"]
    assert [type(r.error).__name__ for r in results[1:]] == ["InterruptedByUser"] * 2
    assert [r.error.exit_code for r in results[1:] if r.error] == [130, 130]
    assert nothing_left_of(paths, "other")
    assert nothing_left_of(paths, "third")
    assert [a.app for a in list_apps(paths).apps] == ["tool"]
    assert len(backend.installs) == 2  # the third was never started


def test_a_distribution_with_another_name_is_refused(paths: AppxPaths) -> None:
    (result,) = install(paths, "liar")
    assert isinstance(result.error, InstallerError)
    assert "did not install a package named liar" in result.error.message
    assert nothing_left_of(paths, "liar")


def test_a_distribution_that_was_not_what_was_asked_for_is_refused(paths: AppxPaths) -> None:
    (result,) = install(paths, "unasked")  # there, but only as a dependency would be: no REQUESTED
    assert isinstance(result.error, InstallerError)
    assert "did not install a package named unasked" in result.error.message
    assert nothing_left_of(paths, "unasked")


def test_a_package_without_commands_is_refused(paths: AppxPaths) -> None:
    (result,) = install(paths, "lib")
    assert isinstance(result.error, NoCommandsError)
    assert nothing_left_of(paths, "lib")


def test_a_taken_command_stops_the_install_before_anything_changes(paths: AppxPaths) -> None:
    install(paths, "tool")
    (result,) = install(paths, "clash")
    assert isinstance(result.error, ShimConflictError)
    assert "app 'tool'" in result.error.message
    assert nothing_left_of(paths, "clash")
    assert os.readlink(paths.bin_dir / "tool") == f"{paths.venvs}/tool/current/bin/tool"


def test_installing_an_installed_app_mends_its_deleted_link(paths: AppxPaths) -> None:
    install(paths, "tool")
    (paths.bin_dir / "tool").unlink()
    (result,) = install(paths, "tool")
    assert result.status == "already-installed"
    assert result.mended == (str(paths.bin_dir / "tool"),)
    assert (paths.bin_dir / "tool").is_symlink()
    assert result.problems == ()


def test_installing_an_installed_app_names_its_missing_python(paths: AppxPaths) -> None:
    install(paths, "tool")
    current = paths.apps.read_current("tool")
    assert current is not None
    receipt = json.loads(receipt_path(current.path).read_text())
    receipt["python"]["executable"] = str(paths.home / "gone" / "python3")
    receipt_path(current.path).write_text(json.dumps(receipt))
    (result,) = install(paths, "tool")
    assert result.status == "already-installed"
    assert any("its Python is missing" in p for p in result.problems)


def test_a_deleted_current_generation_is_not_installed(paths: AppxPaths) -> None:
    install(paths, "tool")
    current = paths.apps.read_current("tool")
    assert current is not None
    shutil.rmtree(current.path)
    assert list_apps(paths).apps == ()
    (result,) = install(paths, "tool")
    assert result.status == "installed"
    assert (paths.bin_dir / "tool").resolve().is_file()


def test_uninstall_names_what_was_typed(paths: AppxPaths) -> None:
    console = Console(out=io.StringIO(), err=io.StringIO())
    (result,) = uninstall_apps(paths, [".."], console)
    assert result.error is not None
    assert "'..'" in result.error.message


def test_uninstall_removes_the_app_and_only_its_links(paths: AppxPaths) -> None:
    install(paths, "tool", "other")
    console = Console(out=io.StringIO(), err=io.StringIO())
    (result,) = uninstall_apps(paths, ["tool"], console)
    assert result.status == "uninstalled"
    assert not os.path.lexists(paths.bin_dir / "tool")
    assert not os.path.lexists(paths.man_dir / "man1" / "tool.1")
    assert not paths.app_dir("tool").exists()
    assert (paths.bin_dir / "other").is_symlink()


def test_long_names_fail_cleanly(paths: AppxPaths) -> None:
    name = "a" * 250
    backend = FakeBackend({name: FakePackage(name, commands=["short"])})
    (result,) = install(paths, name, backend=backend)
    assert result.status == "installed", result  # its lock and log file names fit
    (too_long,) = install(paths, "b" * 260, backend=backend)
    assert too_long.error is not None
    assert too_long.error.exit_code == 3


def test_an_app_a_newer_appx_wrote_is_never_replaced(paths: AppxPaths) -> None:
    install(paths, "tool")
    current = paths.apps.read_current("tool")
    assert current is not None
    receipt = current.path / "appx-receipt.json"
    receipt.write_text(receipt.read_text().replace('"schema": 1', '"schema": 7'))
    before = receipt.read_bytes()
    (result,) = install(paths, "tool", force=True)
    assert result.status == "failed"
    assert result.error is not None
    assert isinstance(result.error, NewerReceiptError)
    assert result.error.exit_code == 9
    assert "written by a newer appx" in result.error.message
    assert "schema 7" in result.error.message
    assert receipt.read_bytes() == before  # the newer appx's receipt is untouched
    after = paths.apps.read_current("tool")
    assert after is not None
    assert after.path == current.path  # no new generation took its place
