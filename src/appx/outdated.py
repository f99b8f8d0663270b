"""`appx list --outdated`: what `upgrade-all` would change, from a dry run of each upgrade."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from appx.backends.base import Backend
from appx.errors import AppxError
from appx.lifecycle import (
    app_backend,
    current_receipt,
    recorded_python,
    upgrade_request,
    upgrade_requests,
)
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.upgradecheck import UpgradeChecks


@dataclass(frozen=True)
class Outdated:
    """An app that upgrade-all would change: what moves, or why it would not."""

    app: str
    version: str
    latest: str
    changes: tuple[str, ...]  # "click 8.1.7 -> 8.1.8", "new-dep (new) 1.0", "old-dep 2.0 (gone)"
    pinned: bool = False
    error: AppxError | None = None


def outdated_apps(
    paths: AppxPaths,
    reporter: Reporter,
    *,
    backend: Backend | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Outdated]:
    """What `upgrade-all` would change, from a dry run of each distinct upgrade request:
    nothing is built or changed (each dry run uses a scratch venv, deleted after)."""
    env = os.environ if environ is None else environ
    checks = UpgradeChecks(paths)  # apps that ask the same are answered once
    found: list[Outdated] = []
    apps = paths.apps.installed()
    checks.expect(upgrade_requests(paths, apps, include_injected=False))
    for app in apps:
        current = paths.apps.read_current(app)
        if current is None:  # pragma: no cover -- uninstalled meanwhile
            continue
        try:
            receipt = current_receipt(paths, app)
            request = upgrade_request(receipt, include_injected=False)
            installer = backend or app_backend(paths, receipt, reporter, env)
            with reporter.step(f"Looking for newer releases of {app}"):
                python = recorded_python(receipt)
                if checks.up_to_date(installer, python, receipt, request):
                    continue
                newest = checks.resolved(installer, python, request)
        except AppxError as error:
            found.append(Outdated(app, "", "", (), error=error))
            continue
        changes = _changes(receipt.distributions, newest)
        if changes:
            latest = newest.get(receipt.package, receipt.version)
            pinned = paths.pin_path(app).exists()
            found.append(Outdated(app, receipt.version, latest, changes, pinned))
    return found


def _changes(installed: Mapping[str, str], newest: Mapping[str, str]) -> tuple[str, ...]:
    moved = [
        f"{name} {installed[name]} -> {version}"
        for name, version in newest.items()
        if name in installed and installed[name] != version
    ]
    moved += [f"{name} (new) {v}" for name, v in newest.items() if name not in installed]
    moved += [f"{name} {v} (gone)" for name, v in installed.items() if name not in newest]
    return tuple(moved)
