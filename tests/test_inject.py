"""inject, uninject and runpip's decisions, in-process with the fake backend."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from appx.errors import InstallerError, NotInstalledError, ShimConflictError, SpecError
from appx.inject import (
    inject_packages,
    injected_name,
    read_requirements,
    uninject_packages,
)
from appx.lifecycle import rollback_app, upgrade_apps
from appx.listing import list_apps, listing_json
from appx.output import Console
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt, receipt_path
from appx.render import render_list
from appx.runpip import check_read_only
from fake_backend import FakeBackend, FakePackage
from test_install import install


def backend() -> FakeBackend:
    return FakeBackend(
        {
            "helper": FakePackage("helper", "1.0", commands=["helper"], dependencies=["helperdep"]),
            "helperdep": FakePackage("helperdep", "1.0"),
            "plugin": FakePackage("plugin", "1.0"),
        },
        releases={
            "tool": [
                FakePackage("tool", "1.0", commands=["tool-a"]),
                FakePackage("tool", "2.0", commands=["tool-a"]),
            ]
        },
    )


def console() -> Console:
    return Console(out=io.StringIO(), err=io.StringIO())


def current(paths: AppxPaths, app: str = "tool") -> Receipt:
    generation = paths.apps.read_current(app)
    assert generation is not None
    return load_receipt(generation.path)


def links(paths: AppxPaths) -> set[str]:
    return {p.name for p in paths.bin_dir.iterdir()}


def generations(paths: AppxPaths, app: str = "tool") -> int:
    return len([e for e in os.listdir(paths.app_dir(app)) if e.startswith("g")])


def inject(paths: AppxPaths, fake: FakeBackend, *specs: str, include_apps: bool = False) -> str:
    result = inject_packages(
        paths, "tool", specs, console(), cwd=paths.home, include_apps=include_apps, backend=fake
    )
    return result.status


def test_inject_adds_a_generation_that_rollback_undoes(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    assert inject(paths, fake, "helper") == "injected"
    receipt = current(paths)
    assert receipt.injected == ("helper",)
    assert {"helper", "helperdep"} <= set(receipt.distributions)
    assert receipt.version == "1.0"  # the install's constraint still holds the app
    assert links(paths) == {"tool-a"}  # the injected package's commands stay inside
    rollback_app(paths, "tool", console())
    assert current(paths).injected == ()
    rollback_app(paths, "tool", console())
    assert current(paths).injected == ("helper",)
    assert generations(paths) == 2


def test_injected_packages_survive_upgrade_and_show_in_list(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    inject(paths, fake, "plugin==1.0")
    (result,) = upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert (result.status, result.new_version) == ("upgraded", "2.0")
    assert fake.installs[-1] == ["tool", "plugin==1.0"]
    assert current(paths).injected == ("plugin==1.0",)
    listing = list_apps(paths)
    assert listing_json(listing)["apps"][0]["injected"] == ["plugin==1.0"]
    text = console()
    render_list(text, listing, short=False)
    assert isinstance(text.out, io.StringIO)
    assert "  injected: plugin==1.0" in text.out.getvalue()


def test_include_apps_exposes_their_commands_through_upgrades(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    inject(paths, fake, "helper", include_apps=True)
    assert links(paths) == {"tool-a", "helper"}
    assert current(paths).injected_apps == ("helper",)
    upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert links(paths) == {"tool-a", "helper"}
    # restating the injection without --include-apps takes the command back in
    inject(paths, fake, "helper")
    assert links(paths) == {"tool-a"}


def test_uninject_takes_the_package_and_its_own_dependencies_out(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool", backend=fake)
    inject(paths, fake, "helper", "plugin", include_apps=True)
    result = uninject_packages(paths, "tool", ["Helper"], console(), backend=fake)
    assert (result.status, result.packages, result.injected) == (
        "uninjected",
        ("helper",),
        ("plugin",),
    )
    receipt = current(paths)
    assert "helper" not in receipt.distributions
    assert "helperdep" not in receipt.distributions
    assert receipt.injected_apps == ("plugin",)
    assert not os.path.lexists(paths.bin_dir / "helper")


def test_uninjecting_what_is_not_injected_names_what_is(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool", backend=fake)
    with pytest.raises(SpecError, match="plugin is not injected into tool") as none:
        uninject_packages(paths, "tool", ["plugin"], console(), backend=fake)
    assert none.value.hint == "nothing is injected into tool"
    inject(paths, fake, "helper")
    with pytest.raises(SpecError) as some:
        uninject_packages(paths, "tool", ["plugin"], console(), backend=fake)
    assert some.value.hint == "injected into tool: helper"
    assert generations(paths) == 2


def test_inject_refusals_and_no_ops(paths: AppxPaths) -> None:
    fake = backend()
    with pytest.raises(NotInstalledError):
        inject(paths, fake, "helper")
    install(paths, "tool", backend=fake)
    with pytest.raises(SpecError, match="is the app tool itself"):
        inject(paths, fake, "tool>=1")
    with pytest.raises(SpecError, match="nothing to inject"):
        inject(paths, fake)
    inject(paths, fake, "plugin")
    assert inject(paths, fake, "plugin") == "unchanged"
    assert generations(paths) == 2  # no generation for nothing new
    assert list(paths.logs.iterdir()) == []


def test_a_failed_inject_leaves_the_app_as_it_was(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool", backend=fake)
    with pytest.raises(InstallerError, match="no package matches"):
        inject(paths, fake, "missing")
    assert current(paths).injected == ()
    assert generations(paths) == 1
    # a command of an injected package that another app owns is a conflict, not a takeover
    install(paths, "helper", backend=fake)
    with pytest.raises(ShimConflictError, match="is taken by app 'helper'"):
        inject(paths, fake, "helper", include_apps=True)
    assert current(paths).injected == ()


def test_injected_secrets_stay_out_of_the_receipt(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool", backend=fake)
    inject(paths, fake, "plugin @ https://user:s3cret@example.org/plugin-1.0.tar.gz")
    generation = paths.apps.read_current("tool")
    assert generation is not None
    assert "s3cret" not in receipt_path(generation.path).read_text()
    upgrade_apps(paths, ["tool"], console(), backend=fake)
    assert "s3cret" in fake.installs[-1][1]  # the rebuild gets the original back
    assert "s3cret" not in json.dumps(listing_json(list_apps(paths)))


def test_read_requirements(tmp_path: Path) -> None:
    good = tmp_path / "requirements.txt"
    good.write_text("# plugins\nplugin==1.0  # pinned\n\nhelper\n")
    assert read_requirements(good) == ["plugin==1.0", "helper"]
    options = tmp_path / "options.txt"
    options.write_text("plugin\n--index-url https://example.org/simple\n")
    with pytest.raises(SpecError, match=r"options.txt:2: options are not supported"):
        read_requirements(options)
    with pytest.raises(SpecError, match="cannot read"):
        read_requirements(tmp_path / "missing.txt")


def test_injected_name() -> None:
    assert injected_name("Plugin[x]==1.0") == "plugin"
    assert injected_name("/nowhere/plugin-dir") is None


@pytest.mark.parametrize(
    "args", [[], ["--version"], ["list"], ["show", "pip"], ["freeze"], ["help", "install"]]
)
def test_runpip_runs_read_only_subcommands(args: list[str]) -> None:
    check_read_only("tool", args)


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["install", "x"], "appx inject tool PKG"),
        (["uninstall", "-y", "x"], "appx uninject tool PKG"),
        (["-v", "list"], "appx runpip tool list -v"),
        (["config", "set", "a.b", "c"], "read-only subcommands"),
    ],
)
def test_runpip_refuses_changes(args: list[str], hint: str) -> None:
    with pytest.raises(SpecError) as refused:
        check_read_only("tool", args)
    assert hint in refused.value.hint


def test_injecting_never_moves_the_app_itself(paths: AppxPaths) -> None:
    fake = backend()
    fake.releases["tool"] = fake.releases["tool"][:1]  # only 1.0 is out when it is installed
    install(paths, "tool", backend=fake)
    fake.releases["tool"].append(FakePackage("tool", "2.0", commands=["tool-a"]))
    inject_packages(paths, "tool", ["plugin"], console(), cwd=paths.home.parent, backend=fake)
    assert current(paths).version == "1.0"
    assert current(paths).injected == ("plugin",)
