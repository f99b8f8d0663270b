"""Export and sync, in-process with the fake backend: the plan, applying it, a dry run, prune."""

from __future__ import annotations

import io
import json
from dataclasses import replace

from appx.errors import InstallerError, ShimConflictError
from appx.exportfile import ExportedApp, dumps, loads
from appx.indexes import IndexOptions
from appx.lifecycle import set_pinned
from appx.output import Console
from appx.paths import AppxPaths
from appx.render_sync import render_sync, sync_line
from appx.sync import (
    NEWEST,
    SyncResult,
    SyncTools,
    apply_sync,
    differences,
    export_apps,
    install_spec,
    installed_apps,
    plan_sync,
    planned,
)
from appx.uninstall import uninstall_all
from fake_backend import FakeBackend, FakePackage, this_interpreter, two_versions_of_tool
from test_install import install


def backend() -> FakeBackend:
    return two_versions_of_tool()


def console() -> Console:
    return Console(out=io.StringIO(), err=io.StringIO())


def links(paths: AppxPaths) -> set[str]:
    return {p.name for p in paths.bin_dir.iterdir()}


def state(paths: AppxPaths) -> dict[str, tuple[str, bool]]:
    """Each installed app's version and pin."""
    return {
        a.app: (a.receipt.version if a.receipt else "?", a.pinned) for a in installed_apps(paths)
    }


def exported(paths: AppxPaths) -> list[ExportedApp]:
    apps, unreadable = export_apps(installed_apps(paths))
    assert unreadable == []
    return loads(dumps(apps))


def sync(
    paths: AppxPaths,
    entries: list[ExportedApp],
    fake: FakeBackend,
    *,
    latest: bool = False,
    prune: bool = False,
    jobs: int | None = None,
) -> list[SyncResult]:
    steps = plan_sync(entries, installed_apps(paths), latest=latest, prune=prune)
    environ = {"PATH": ""} | ({"APPX_JOBS": str(jobs)} if jobs else {})
    tools = SyncTools(environ, paths.home, backend=fake, interpreter=this_interpreter())
    return apply_sync(paths, steps, console(), tools)


def actions(paths: AppxPaths, entries: list[ExportedApp], **options: bool) -> dict[str, str]:
    return {s.app: s.action for s in plan_sync(entries, installed_apps(paths), **options)}


def test_export_then_uninstall_all_then_sync_restores_versions_commands_and_pins(
    paths: AppxPaths,
) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    set_pinned(paths, "tool", True, console())
    before, commands = state(paths), links(paths)
    entries = exported(paths)
    uninstall_all(paths, console())
    assert state(paths) == {}
    results = sync(paths, entries, fake)
    assert [(r.app, r.step.action, r.status) for r in results] == [
        ("other", "install", "done"),
        ("tool", "install", "done"),
    ]
    assert state(paths) == before == {"other": ("1.0", False), "tool": ("1.0", True)}
    assert links(paths) == commands
    assert ["tool==1.0"] in fake.installs[-2:]  # the recorded version, not the newest


def test_the_plan_moves_keeps_and_leaves_unlisted_apps(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    entries = exported(paths)
    install(paths, "tool", backend=fake, force=True)  # now 2.0
    install(paths, "extra", backend=FakeBackend({"extra": FakePackage("extra", commands=["x"])}))
    steps = {s.app: s for s in plan_sync(entries, installed_apps(paths))}
    assert {app: s.action for app, s in steps.items()} == {
        "tool": "move",
        "other": "keep",
        "extra": "unlisted",
    }
    assert steps["tool"].reasons == ("version 2.0 -> 1.0",)
    assert (steps["tool"].old_version, steps["tool"].target) == ("2.0", "1.0")
    pruning = plan_sync(entries, installed_apps(paths), prune=True)
    assert [(s.app, s.action) for s in pruning] == [
        ("extra", "prune"),  # uninstalls first, then the file's apps in its order
        ("other", "keep"),
        ("tool", "move"),
    ]


def test_latest_upgrades_unpinned_apps_and_holds_pinned_ones(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    entries = exported(paths)
    assert actions(paths, entries, latest=True) == {"tool": "upgrade", "other": "upgrade"}
    results = {r.app: r for r in sync(paths, entries, fake, latest=True)}
    assert (results["tool"].status, results["tool"].version) == ("done", "2.0")
    assert results["other"].version == "1.0"  # already the newest: no new generation
    pinned = [replace(e, pinned=True) if e.name == "tool" else e for e in entries]
    assert actions(paths, pinned, latest=True) == {"tool": "move", "other": "upgrade"}
    sync(paths, pinned, fake, latest=True)
    assert state(paths) == {"tool": ("1.0", True), "other": ("1.0", False)}
    uninstall_all(paths, console())
    sync(paths, entries, fake, latest=True)
    assert state(paths)["tool"] == ("2.0", False)
    assert ["tool"] in fake.installs[-2:]  # the two apps of the sync, in either order


def test_a_pin_alone_is_set_or_cleared_without_a_rebuild(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "other", backend=fake)
    entries = [replace(e, pinned=True) for e in exported(paths)]
    builds = len(fake.installs)
    (result,) = sync(paths, entries, fake)
    assert (result.step.action, result.step.pin, result.status) == ("keep", True, "done")
    assert state(paths) == {"other": ("1.0", True)}
    sync(paths, [replace(e, pinned=False) for e in entries], fake)
    assert state(paths) == {"other": ("1.0", False)}
    assert len(fake.installs) == builds


def test_a_dry_run_changes_nothing(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    entries = exported(paths)
    install(paths, "other", backend=fake)
    uninstall_all(paths, console())
    install(paths, "other", backend=fake)
    before = sorted(str(p) for p in paths.home.rglob("*"))
    results = planned(plan_sync(entries, installed_apps(paths), prune=True))
    assert [(r.app, r.step.action, r.status) for r in results] == [
        ("other", "prune", "planned"),
        ("tool", "install", "planned"),
    ]
    assert sorted(str(p) for p in paths.home.rglob("*")) == before


def test_prune_uninstalls_the_apps_the_file_does_not_list(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    entries = exported(paths)
    install(paths, "other", backend=fake)
    results = sync(paths, entries, fake, prune=True)
    assert [(r.app, r.step.action, r.status) for r in results] == [
        ("other", "prune", "done"),
        ("tool", "keep", "done"),
    ]
    assert state(paths) == {"tool": ("1.0", False)}
    assert links(paths) == {"tool-a", "tool-b"}


def test_one_apps_failure_is_its_own(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    entries = exported(paths)
    uninstall_all(paths, console())
    broken = [replace(e, version="9.9") if e.name == "other" else e for e in entries]
    results = sync(paths, broken, fake)
    assert [(r.app, r.status) for r in results] == [("other", "failed"), ("tool", "done")]
    assert isinstance(results[0].error, InstallerError)
    assert state(paths) == {"tool": ("1.0", False)}


def test_an_unreadable_receipt_is_not_exported_and_sync_reinstalls_the_app(
    paths: AppxPaths,
) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    entries = exported(paths)
    current = paths.apps.read_current("other")
    assert current is not None
    (current.path / "appx-receipt.json").write_text("{")
    apps, unreadable = export_apps(installed_apps(paths))
    assert ([a.name for a in apps], unreadable) == (["tool"], ["other"])
    steps = {s.app: s for s in plan_sync(entries, installed_apps(paths))}
    assert (steps["other"].action, steps["other"].reasons) == (
        "move",
        ("its receipt is unreadable",),
    )
    sync(paths, entries, fake)
    assert state(paths) == {"other": ("1.0", False), "tool": ("1.0", False)}


def test_install_spec_pins_a_name_keeps_extras_and_marker_and_leaves_sources() -> None:
    entry = ExportedApp("tool", "tool", 'tool[cli]>=1; python_version > "3"', "1.5")
    assert install_spec(entry, "1.5") == 'tool[cli]==1.5; python_version > "3"'
    assert install_spec(entry, NEWEST) == 'tool[cli]; python_version > "3"'
    url = ExportedApp("tool", "tool", "https://u:****@h.example.org/tool-1.0.whl", "1.0", "url")
    assert install_spec(url, "1.0") == "https://h.example.org/tool-1.0.whl"
    local = ExportedApp("tool", "tool", "/src/tool", "1.0", "directory")
    assert install_spec(local, NEWEST) == "/src/tool"


def test_differences_name_each_setting(paths: AppxPaths) -> None:
    install(paths, "other", backend=backend())
    (here,) = installed_apps(paths)
    assert here.receipt is not None
    (entry,) = export_apps([here])[0]
    assert differences(entry, here.receipt) == ()
    changed = replace(
        entry,
        spec="other[x]",
        python="3.1",
        include_deps=True,
        editable=True,
        index=IndexOptions(pre=True),
    )
    assert differences(changed, here.receipt) == (
        "installed from other, the file says other[x]",
        f"Python {entry.python} -> 3.1",
        "--include-deps",
        "editable",
        "index options differ",
    )


def test_injected_packages_and_every_version_are_restored(paths: AppxPaths) -> None:
    fake = backend()
    fake.releases["plugin"] = [FakePackage("plugin", "1.0")]
    install(paths, "other", backend=fake)
    entries = [
        replace(e, injected=("plugin",), distributions={"other": "1.0", "plugin": "1.0"})
        for e in exported(paths)
    ]
    uninstall_all(paths, console())
    fake.releases["plugin"].append(FakePackage("plugin", "2.0"))  # newer, not wanted
    steps = plan_sync(entries, installed_apps(paths))
    tools = SyncTools({"PATH": ""}, paths.home, backend=fake, interpreter=this_interpreter())
    (result,) = apply_sync(paths, steps, console(), tools)
    assert result.status == "done"
    (app,) = installed_apps(paths)
    assert app.receipt is not None
    assert app.receipt.injected == ("plugin",)
    assert app.receipt.distributions == {"other": "1.0", "plugin": "1.0"}
    assert plan_sync(entries, installed_apps(paths))[0].action == "keep"


def test_ctrl_c_during_one_app_stops_the_rest(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", "other", backend=fake)
    entries = exported(paths)
    uninstall_all(paths, console())

    def interrupt() -> None:
        raise KeyboardInterrupt

    fake.hooks["install"] = interrupt
    results = sync(paths, entries, fake, jobs=1)
    assert [(r.app, r.status) for r in results] == [("other", "failed"), ("tool", "failed")]
    assert [r.error.exit_code for r in results if r.error] == [130, 130]
    assert results[1].error is not None
    assert "not started" in results[1].error.message
    assert state(paths) == {}


def test_each_result_is_said_in_words_and_in_json(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "tool==1.0", backend=fake)
    entries = [replace(e, pinned=True) for e in exported(paths)]
    install(paths, "tool", backend=fake, force=True)
    install(paths, "other", backend=fake)
    steps = plan_sync(entries, installed_apps(paths), prune=True)
    out = io.StringIO()
    render_sync(Console(out=out, err=io.StringIO()), planned(steps))
    assert out.getvalue().splitlines() == [
        "would uninstall other (not in the file)",
        "would move tool 2.0 -> 1.0 (version 2.0 -> 1.0); pinned",
    ]
    out = io.StringIO()
    render_sync(Console(out=out, err=io.StringIO()), sync(paths, entries, fake, prune=True))
    assert out.getvalue().splitlines() == [
        "uninstalled other (not in the file)",
        "moved tool 2.0 -> 1.0 (version 2.0 -> 1.0); pinned",
    ]
    lines = [sync_line(r) for r in planned(plan_sync(entries, installed_apps(paths)))]
    assert lines == ["tool 1.0: would be left as it is"]
    unpinned = [replace(e, pinned=False) for e in entries]
    json_out = io.StringIO()
    json_console = Console(out=json_out, err=io.StringIO(), json_mode=True)
    render_sync(json_console, sync(paths, unpinned, fake, latest=True))
    (result,) = json.loads(json_out.getvalue())["results"]
    assert (result["action"], result["status"], result["version"], result["pin"]) == (
        "upgrade",
        "done",
        "2.0",
        False,
    )


def test_sync_never_moves_a_users_file_unless_forced(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "other", backend=fake)
    entries = exported(paths)
    uninstall_all(paths, console())
    mine = paths.bin_dir / "other"
    mine.write_text("mine\n")
    tools = SyncTools({"PATH": ""}, paths.home, backend=fake, interpreter=this_interpreter())
    (refused,) = apply_sync(paths, plan_sync(entries, installed_apps(paths)), console(), tools)
    assert refused.status == "failed"
    assert isinstance(refused.error, ShimConflictError)
    assert mine.read_text() == "mine\n"
    forced = replace(tools, force=True)
    (done,) = apply_sync(paths, plan_sync(entries, installed_apps(paths)), console(), forced)
    assert done.status == "done"
    assert mine.is_symlink()


def test_index_options_with_a_hidden_secret_settle_after_one_sync(paths: AppxPaths) -> None:
    fake = backend()
    install(paths, "other", backend=fake)
    entries = [
        replace(e, index=IndexOptions(index_url="https://__token__:****@index.example/simple"))
        for e in exported(paths)
    ]
    tools = SyncTools({"PATH": ""}, paths.home, backend=fake, interpreter=this_interpreter())
    apply_sync(paths, plan_sync(entries, installed_apps(paths)), console(), tools)
    assert plan_sync(entries, installed_apps(paths))[0].action == "keep"
