"""Export the installed apps, and make this machine match an export file (sync).

`plan_sync` decides, from values alone, what each app needs: install it, move it
to the file's version and settings, upgrade it (``--latest``), leave it alone, or
uninstall it (``--prune``). `apply_sync` carries the plan out, several apps at
once, through the install, upgrade, uninstall and pin operations, so every change
is a new generation and one flip; a failure is that app's own and the others go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from appx.backends.base import Backend
from appx.credentials import drop_hidden, redact
from appx.errors import AppxError
from appx.exportfile import ExportedApp, exported_app
from appx.housekeeping import tidy
from appx.indexes import IndexOptions
from appx.install import InstallOptions, install_apps
from appx.interpreters import Interpreter
from appx.lifecycle import set_pinned, unpinned, upgrade_apps
from appx.output import Reporter
from appx.parallel import jobs_from, run_batch
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt
from appx.reconcile import path_warnings
from appx.uninstall import uninstall_apps

Action = Literal["install", "move", "upgrade", "keep", "prune", "unlisted"]
Status = Literal["planned", "done", "failed"]
NEWEST = "newest"


@dataclass(frozen=True)
class InstalledApp:
    """An installed app as sync sees it; ``receipt`` is None when it cannot be read."""

    app: str
    receipt: Receipt | None
    pinned: bool = False


@dataclass(frozen=True)
class SyncStep:
    """What sync does to one app, and why."""

    app: str
    action: Action
    entry: ExportedApp | None = None
    old_version: str = ""  # the installed version ("" when not installed)
    target: str = ""  # the version to install, or NEWEST
    reasons: tuple[str, ...] = ()  # why an installed app moves
    pin: bool | None = None  # the pin to set (True, False), or None to leave it


@dataclass(frozen=True)
class SyncResult:
    step: SyncStep
    status: Status
    version: str = ""  # the version now installed
    commands: tuple[str, ...] = ()
    error: AppxError | None = None

    @property
    def app(self) -> str:
        return self.step.app


def installed_apps(paths: AppxPaths) -> list[InstalledApp]:
    """Every installed app with its receipt (None when unreadable) and pin."""
    found = []
    for app in paths.apps.installed():
        current = paths.apps.read_current(app)
        try:
            receipt = load_receipt(current.path) if current is not None else None
        except AppxError:
            receipt = None
        found.append(InstalledApp(app, receipt, paths.pin_path(app).exists()))
    return found


def export_apps(installed: Sequence[InstalledApp]) -> tuple[list[ExportedApp], list[str]]:
    """The apps to export, and the names of those whose receipt could not be read."""
    apps = [exported_app(a.receipt, pinned=a.pinned) for a in installed if a.receipt is not None]
    return apps, [a.app for a in installed if a.receipt is None]


# ---------------------------------------------------------------- the plan (pure)


def plan_sync(
    entries: Sequence[ExportedApp],
    installed: Sequence[InstalledApp],
    *,
    latest: bool = False,
    prune: bool = False,
) -> list[SyncStep]:
    """Decide each app's step: apps to uninstall first, then the file's apps in its order,
    then the installed apps the file does not list (left alone without ``prune``)."""
    present = {a.app: a for a in installed}
    listed = {entry.name for entry in entries}
    extra = [a for a in installed if a.app not in listed]
    pruned = [SyncStep(a.app, "prune", old_version=_version(a)) for a in extra if prune]
    unlisted = [SyncStep(a.app, "unlisted", old_version=_version(a)) for a in extra if not prune]
    chosen = [
        _plan_app(entry, present.get(entry.name), latest=latest and not entry.pinned)
        for entry in entries
    ]
    return [*pruned, *chosen, *unlisted]


def _plan_app(entry: ExportedApp, here: InstalledApp | None, *, latest: bool) -> SyncStep:
    target = NEWEST if latest and entry.kind == "name" else entry.version
    if here is None:
        return SyncStep(entry.name, "install", entry, target=target, pin=entry.pinned or None)
    pin = entry.pinned if entry.pinned != here.pinned else None
    old = _version(here)
    if here.receipt is None:
        reasons: tuple[str, ...] = ("its receipt is unreadable",)
    else:
        reasons = differences(entry, here.receipt, versions=not latest)
    if reasons:
        return SyncStep(entry.name, "move", entry, old, target, reasons, pin)
    return SyncStep(entry.name, "upgrade" if latest else "keep", entry, old, target, pin=pin)


def differences(entry: ExportedApp, receipt: Receipt, *, versions: bool = True) -> tuple[str, ...]:
    """How an installed app differs from the file's entry, in words (none: it matches)."""
    found = []
    if versions and receipt.version != entry.version:
        found.append(f"version {receipt.version} -> {entry.version}")
    if receipt.spec_kind != entry.kind or _source(receipt) != _entry_source(entry):
        found.append(f"installed from {_source(receipt)}, the file says {_entry_source(entry)}")
    python = ".".join(receipt.python.version.split(".")[:2])
    if entry.python and python != entry.python:
        found.append(f"Python {python} -> {entry.python}")
    if receipt.include_deps != entry.include_deps:
        found.append("--include-deps" if entry.include_deps else "without --include-deps")
    if receipt.editable != entry.editable:
        found.append("editable" if entry.editable else "not editable")
    if tuple(map(redact, receipt.injected)) != tuple(map(redact, entry.injected)):
        found.append("injected packages differ")
    if receipt.injected_apps != entry.injected_apps:
        found.append("injected packages' commands differ")
    if _comparable(receipt.index) != _comparable(entry.index):
        found.append("index options differ")
    return tuple(found)


def install_spec(entry: ExportedApp, target: str) -> str:
    """What to hand install: a name spec pinned to ``target`` (extras and marker kept, any
    version specifier replaced), or the spec as it is (a path or URL; a newest version).

    Credentials that the export hid are dropped: the installer finds the real ones itself.
    """
    spec = drop_hidden(entry.spec)
    if entry.kind != "name":
        return spec
    if target == NEWEST:
        return unpinned(spec)
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return spec
    requirement.specifier = SpecifierSet(f"=={target}")
    return str(requirement)


def _version(app: InstalledApp) -> str:
    return app.receipt.version if app.receipt is not None else ""


def _source(receipt: Receipt) -> str:
    if receipt.spec_kind == "name":
        return unpinned(redact(receipt.spec))
    if receipt.spec_kind in {"directory", "wheel", "sdist"}:
        return redact(receipt.requirement)
    return redact(receipt.spec)


def _entry_source(entry: ExportedApp) -> str:
    return unpinned(entry.spec) if entry.kind == "name" else entry.spec


def _comparable(index: IndexOptions) -> IndexOptions:
    """Index options as sync installs them: a secret the export hid is dropped, not kept."""
    return index.map_texts(lambda _key, text: drop_hidden(redact(text)))


# ---------------------------------------------------------------- applying it


@dataclass
class SyncTools:
    """What apply needs beyond the plan; tests pass their own backend and interpreter."""

    environ: Mapping[str, str]
    cwd: Path
    backend: Backend | None = None
    interpreter: Interpreter | None = None
    keep_log: bool = False
    force: bool = False  # move foreign files aside, take over other apps' commands
    backend_name: str | None = None  # --backend; None: APPX_BACKEND, else automatic


def apply_sync(
    paths: AppxPaths, steps: Sequence[SyncStep], reporter: Reporter, tools: SyncTools
) -> list[SyncResult]:
    """Carry out each step on its own, several at once (`parallel.run_batch`, links in the
    plan's order); a failure is recorded in its result, not raised."""
    paths.check_usable(write=True)
    tidy(paths)
    results = run_batch(
        steps,
        lambda step, said: _apply_one(paths, step, said, tools),
        lambda step, error: SyncResult(step, "failed", error=error),
        reporter,
        jobs=jobs_from(tools.environ),
        label=lambda step: step.app,
        key=lambda step: step.app,
    )
    commands = [command for result in results for command in result.commands]
    for warning in path_warnings(paths, commands, tools.environ):  # once, not once per app
        reporter.warn(warning)
    return results


def planned(steps: Sequence[SyncStep]) -> list[SyncResult]:
    """The results of a dry run: every step planned, nothing done."""
    return [SyncResult(step, "planned", step.old_version) for step in steps]


def _apply_one(
    paths: AppxPaths, step: SyncStep, reporter: Reporter, tools: SyncTools
) -> SyncResult:
    if step.action == "unlisted":
        return SyncResult(step, "done", step.old_version)
    if step.action == "prune":
        (gone,) = uninstall_apps(paths, [step.app], reporter)
        return SyncResult(step, "failed" if gone.error else "done", error=gone.error)
    entry = step.entry
    assert entry is not None  # noqa: S101 -- every step but prune and unlisted has its entry
    if step.action in {"keep", "upgrade"}:
        _set_pin(paths, step, reporter)  # first: upgrade refuses a pinned app
        if step.action == "keep":
            return SyncResult(step, "done", step.old_version)
        (upgraded,) = upgrade_apps(
            paths, [step.app], reporter, backend=tools.backend, environ=tools.environ
        )
        status: Status = "failed" if upgraded.error else "done"
        return SyncResult(step, status, upgraded.new_version, upgraded.commands, upgraded.error)
    held = entry.distributions.items() if step.target != NEWEST else ()
    own = entry.package if entry.kind != "name" else None  # from a path or URL: not held
    options = InstallOptions(
        injected=tuple(drop_hidden(r) for r in entry.injected),
        exact=tuple(f"{name}=={version}" for name, version in held if name != own),
        python=entry.python or None,
        force=tools.force,
        replace=True,
        injected_apps=entry.injected_apps,
        suffix=entry.suffix,
        include_deps=entry.include_deps,
        index=entry.index.map_texts(lambda _key, text: drop_hidden(text)),
        editable=entry.editable,
        keep_log=tools.keep_log,
        backend=tools.backend_name,
    )
    (installed,) = install_apps(
        paths,
        [install_spec(entry, step.target)],
        options,
        reporter,
        cwd=tools.cwd,
        environ=tools.environ,
        backend=tools.backend,
        interpreter=tools.interpreter,
        warn_path=False,
    )
    if installed.error is not None:
        return SyncResult(step, "failed", error=installed.error)
    _set_pin(paths, step, reporter)
    return SyncResult(step, "done", installed.version, installed.commands)


def _set_pin(paths: AppxPaths, step: SyncStep, reporter: Reporter) -> None:
    if step.pin is not None:
        set_pinned(paths, step.app, step.pin, reporter)
