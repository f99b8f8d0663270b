"""Upgrade, rollback and pins, in-process with the fake backend."""

from __future__ import annotations

import io
import json
import os

import pytest

from appx.errors import InstallerError, NotInstalledError, PythonNotFoundError, SpecError
from appx.lifecycle import reinstall_apps, rollback_app, set_pinned, unpinned, upgrade_apps
from appx.listing import list_apps
from appx.outdated import outdated_apps
from appx.output import Console
from appx.paths import AppxPaths
from appx.receipt import receipt_path
from fake_backend import FakeBackend, FakePackage, two_versions_of_tool
from test_install import install


def backend() -> FakeBackend:
    return two_versions_of_tool()


def console() -> Console:
    return Console(out=io.StringIO(), err=io.StringIO())


def links(paths: AppxPaths) -> set[str]:
    return {p.name for p in paths.bin_dir.iterdir()}


def generations(paths: AppxPaths, app: str) -> list[str]:
    return sorted(e for e in os.listdir(paths.app_dir(app)) if e.startswith("g"))


def test_upgrade_drops_the_install_constraint_and_links_follow(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    assert links(paths) == {"tool-a", "tool-b"}
    (result,) = upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert (result.status, result.old_version, result.new_version) == ("upgraded", "1.0", "2.0")
    assert links(paths) == {"tool-a", "tool-c"}
    assert fake.installs[-1] == ["tool"]  # the version specifier of the install is gone
    (again,) = upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert again.status == "unchanged"
    assert len(generations(paths, "tool")) == 2  # no new generation for nothing new


def test_a_failed_upgrade_leaves_the_old_version(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)

    def broken() -> None:
        raise InstallerError("pip failed to install tool", "see the log", log_path="/x.log")

    fake.hooks["install"] = broken
    (result,) = upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert result.status == "failed"
    assert isinstance(result.error, InstallerError)
    assert [a.receipt.version for a in list_apps(paths).apps if a.receipt] == ["1.0"]
    assert links(paths) == {"tool-a", "tool-b"}


def test_upgrading_an_app_not_installed_is_its_failure_only(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "other", backend=fake)
    results = upgrade_apps(paths, ["nope", "other"], console(), backend=fake)
    assert [r.status for r in results] == ["failed", "unchanged"]
    assert isinstance(results[0].error, NotInstalledError)


def test_pins(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    set_pinned(paths, "tool", True, console())
    assert [a.pinned for a in list_apps(paths).apps] == [True]
    (refused,) = upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert isinstance(refused.error, SpecError)
    assert "appx unpin tool" in refused.error.hint
    (skipped,) = upgrade_apps(paths, ["tool"], console(), backend=fake, skip_pinned=True)
    assert skipped.status == "pinned"
    set_pinned(paths, "tool", False, console())
    (moved,) = upgrade_apps(paths, ["tool"], console(), backend=fake, skip_pinned=True)
    assert moved.status == "upgraded"
    with pytest.raises(NotInstalledError):
        set_pinned(paths, "nope", True, console())


def test_rollback_swaps_the_generations_and_their_links(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    with pytest.raises(SpecError, match="no previous version"):
        rollback_app(paths, "tool", console())
    upgrade_apps(paths, ["tool"], console(), backend=fake)
    back = rollback_app(paths, "tool", console())
    assert (back.old_version, back.version) == ("2.0", "1.0")
    assert links(paths) == {"tool-a", "tool-b"}
    forth = rollback_app(paths, "tool", console())
    assert (forth.old_version, forth.version) == ("1.0", "2.0")
    assert links(paths) == {"tool-a", "tool-c"}
    assert len(generations(paths, "tool")) == 2


def test_unpinned_keeps_name_extras_and_marker() -> None:
    assert unpinned("black==24.1.0") == "black"
    assert unpinned('black[d]>=24,<25; python_version > "3"') == 'black[d]; python_version > "3"'
    assert unpinned("tool @ https://example.org/tool-1.0.whl") == (
        "tool @ https://example.org/tool-1.0.whl"
    )


def test_reinstall_holds_the_recorded_versions_unless_latest(paths: AppxPaths) -> None:
    fake = FakeBackend(
        {},
        releases={
            "tool": [
                FakePackage("tool", "1.0", commands=["tool-a"], dependencies=["lib"]),
                FakePackage("tool", "2.0", commands=["tool-a"], dependencies=["lib"]),
            ],
            "lib": [FakePackage("lib", "1.0"), FakePackage("lib", "1.5")],
        },
    )
    install(paths, "tool", backend=fake)
    fake.releases["lib"].append(FakePackage("lib", "3.0"))
    fake.releases["tool"].append(FakePackage("tool", "9.0", commands=["t"], dependencies=["lib"]))
    (exact,) = reinstall_apps(paths, ["tool"], console(), environ={}, backend=fake)
    assert (exact.status, exact.new_version) == ("reinstalled", "2.0")
    assert _distributions(paths) == {"tool": "2.0", "lib": "1.5"}
    (latest,) = reinstall_apps(paths, ["tool"], console(), environ={}, latest=True, backend=fake)
    assert latest.new_version == "9.0"
    assert _distributions(paths) == {"tool": "9.0", "lib": "3.0"}


def test_reinstall_of_an_app_whose_python_is_gone_says_how_to_move_it(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "other", backend=fake)
    current = paths.apps.read_current("other")
    assert current is not None
    receipt_file = receipt_path(current.path)
    data = json.loads(receipt_file.read_text())
    data["python"]["executable"] = str(paths.home / "gone" / "python3")
    data["python"]["requested_by"] = "appx"
    receipt_file.write_text(json.dumps(data))
    (result,) = reinstall_apps(paths, ["other"], console(), environ={}, backend=fake)
    assert isinstance(result.error, PythonNotFoundError)
    assert "appx reinstall --python" in result.error.hint


def _distributions(paths: AppxPaths) -> dict[str, str]:
    (status,) = list_apps(paths).apps
    assert status.receipt is not None
    return status.receipt.distributions


def test_outdated_says_what_upgrade_all_would_change_and_changes_nothing(
    paths: AppxPaths,
) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    (found,) = outdated_apps(paths, console(), backend=fake)
    assert (found.app, found.version, found.latest) == ("tool", "1.0", "2.0")
    assert found.changes == ("tool 1.0 -> 2.0",)
    assert len(generations(paths, "tool")) == 1
    set_pinned(paths, "tool", True, console())
    assert [o.pinned for o in outdated_apps(paths, console(), backend=fake)] == [True]
    set_pinned(paths, "tool", False, console())
    upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert outdated_apps(paths, console(), backend=fake) == []


def test_upgrade_install_installs_what_is_missing(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    results = upgrade_apps(paths, ["other", "tool"], console(), install_missing=True, backend=fake)
    assert [(r.app, r.status, r.new_version) for r in results] == [
        ("other", "installed", "1.0"),
        ("tool", "upgraded", "2.0"),
    ]
    (missing,) = upgrade_apps(paths, ["nothing-here"], console(), backend=fake)
    assert isinstance(missing.error, NotInstalledError)


def test_injected_packages_survive_a_reinstall(paths: AppxPaths) -> None:
    fake = backend()
    fake.releases["plugin"] = [FakePackage("plugin", "1.0")]
    install(paths, "other", backend=fake)
    from appx.inject import inject_packages

    inject_packages(paths, "other", ["plugin"], console(), cwd=paths.home, backend=fake)
    reinstall_apps(paths, ["other"], console(), environ={}, backend=fake)
    (status,) = list_apps(paths).apps
    assert status.receipt is not None
    assert status.receipt.injected == ("plugin",)
    assert "plugin" in status.receipt.distributions


def test_an_app_held_back_by_its_python_says_so(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    fake.releases["tool"] = [
        FakePackage("tool", "1.0", commands=["tool-a", "tool-b"]),
        FakePackage("tool", "3.0", commands=["tool-a"], requires_python=">=3.98"),
    ]
    (held,) = upgrade_apps(paths, ["tool"], console(), backend=fake, skip_pinned=True)
    assert (held.status, held.new_version) == ("held", "1.0")
    assert held.note == "newer releases (3.0) need Python >=3.98"
    assert held.error is None
    assert len(generations(paths, "tool")) == 1
