"""upgrade-all with nothing to upgrade asks once per distinct request and builds nothing; what
an upgrade moves (the app and its dependencies) is unchanged."""

from __future__ import annotations

import io
import os

from appx.errors import InstallerError
from appx.lifecycle import upgrade_apps
from appx.output import Console
from appx.paths import AppxPaths
from appx.upgradecheck import same_versions
from fake_backend import FakeBackend, FakePackage
from test_install import install


def catalogue() -> FakeBackend:
    return FakeBackend(
        {
            "tool": FakePackage("tool", "1.0", commands=["tool"], dependencies=["lib"]),
            "other": FakePackage("other", "1.0", commands=["other"]),
        },
        releases={"lib": [FakePackage("lib", "1.0")]},
    )


def upgrade_all(paths: AppxPaths, fake: FakeBackend) -> dict[str, str]:
    console = Console(out=io.StringIO(), err=io.StringIO())
    names = paths.apps.installed()
    results = upgrade_apps(paths, names, console, skip_pinned=True, backend=fake)
    return {r.app: r.status for r in results}


def generations(paths: AppxPaths, app: str) -> int:
    return sum(1 for e in os.listdir(paths.app_dir(app)) if e.startswith("g"))


def test_nothing_to_upgrade_asks_once_per_distinct_request_and_builds_nothing(
    paths: AppxPaths,
) -> None:
    fake = catalogue()
    install(paths, "tool", "other", backend=fake)
    install(paths, "tool", backend=fake, suffix="-b")
    install(paths, "tool", backend=fake, suffix="-c")
    builds = len(fake.installs)
    assert upgrade_all(paths, fake) == {
        "other": "unchanged",
        "tool": "unchanged",
        "tool+-b": "unchanged",
        "tool+-c": "unchanged",
    }
    assert len(fake.installs) == builds  # nothing was built
    # one question for every distribution of every app, one for the apps' own projects
    # as a Python far ahead sees them; no app resolved on its own
    assert sorted(fake.questions) == [
        ("latest", ["lib", "other", "tool"]),
        ("latest-ahead", ["other", "tool"]),
    ]


def test_a_newer_dependency_alone_still_upgrades_the_app(paths: AppxPaths) -> None:
    fake = catalogue()
    install(paths, "tool", "other", backend=fake)
    fake.releases["lib"].append(FakePackage("lib", "1.1"))
    assert upgrade_all(paths, fake) == {"other": "unchanged", "tool": "upgraded"}
    assert generations(paths, "tool") == 2
    assert generations(paths, "other") == 1


def test_a_newer_release_is_built_and_its_twin_asks_nothing_more(paths: AppxPaths) -> None:
    fake = catalogue()
    install(paths, "tool", backend=fake)
    install(paths, "tool", backend=fake, suffix="-b")
    fake.releases["tool"] = [FakePackage("tool", "2.0", commands=["tool"], dependencies=["lib"])]
    assert upgrade_all(paths, fake) == {"tool": "upgraded", "tool+-b": "upgraded"}
    assert fake.questions == [("latest", ["lib", "tool"]), ("resolve", ["tool"])]


def test_an_app_held_back_by_its_python_is_told_from_the_same_questions(
    paths: AppxPaths,
) -> None:
    fake = catalogue()
    install(paths, "tool", backend=fake)
    install(paths, "tool", backend=fake, suffix="-b")
    fake.releases["tool"] = [
        FakePackage("tool", "3.0", commands=["tool"], dependencies=["lib"], requires_python=">=4")
    ]
    console = Console(out=io.StringIO(), err=io.StringIO())
    results = upgrade_apps(paths, ["tool", "tool+-b"], console, backend=fake)
    assert [(r.status, r.note) for r in results] == [
        ("held", "newer releases (3.0) need Python >=4"),
        ("held", "newer releases (3.0) need Python >=4"),
    ]
    assert sorted(q for q, _ in fake.questions) == ["latest", "latest-ahead", "newest"]


def test_an_app_from_a_path_is_always_rebuilt(paths: AppxPaths) -> None:
    fake = catalogue()
    install(paths, "tool", backend=fake)
    current = paths.apps.read_current("tool")
    assert current is not None
    receipt = current.path / "appx-receipt.json"
    receipt.write_text(receipt.read_text().replace('"spec_kind": "name"', '"spec_kind": "wheel"'))
    builds = len(fake.installs)
    assert upgrade_all(paths, fake) == {"tool": "unchanged"}
    assert len(fake.installs) == builds + 1  # built, found the same, discarded
    assert ("resolve", ["tool"]) not in fake.questions


def test_a_failed_question_is_each_apps_own_failure(paths: AppxPaths) -> None:
    fake = catalogue()
    install(paths, "tool", "other", backend=fake)
    install(paths, "tool", backend=fake, suffix="-b")

    def unreachable(*args: object, **kwargs: object) -> dict[str, str]:
        raise InstallerError("pip could not resolve tool", "the index is down")

    fake.resolve = unreachable  # type: ignore[method-assign]
    fake.latest = unreachable  # type: ignore[method-assign]
    console = Console(out=io.StringIO(), err=io.StringIO())
    results = upgrade_apps(paths, ["tool", "tool+-b"], console, backend=fake)
    assert [r.status for r in results] == ["failed", "failed"]
    assert [r.error.message for r in results if r.error] == ["pip could not resolve tool"] * 2


def test_when_the_shared_question_fails_each_app_resolves_on_its_own(paths: AppxPaths) -> None:
    fake = catalogue()
    install(paths, "tool", "other", backend=fake)

    def unreachable(*args: object, **kwargs: object) -> dict[str, str]:
        raise InstallerError("pip could not find lib", "a project on another index")

    fake.latest = unreachable  # type: ignore[method-assign]
    assert upgrade_all(paths, fake) == {"other": "unchanged", "tool": "unchanged"}
    assert sorted(kind for kind, _ in fake.questions) == ["newest", "newest", "resolve", "resolve"]


def test_same_versions_compares_names_and_versions_as_packaging_does() -> None:
    assert same_versions({"Foo_Bar": "1.0"}, {"foo-bar": "1.0.0"})
    assert not same_versions({"foo": "1.0"}, {"foo": "1.1"})
    assert not same_versions({"foo": "1.0"}, {"foo": "1.0", "bar": "2"})
    assert same_versions({"foo": "not a version"}, {"foo": "not a version"})
