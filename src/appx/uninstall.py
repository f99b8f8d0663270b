"""The uninstall operation: detach the app's directory (the commit point), drop its links."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from appx import displaced, parallel, shims, signals, store
from appx.errors import (
    AppxError,
    EnvironmentSetupError,
    InterruptedByUser,
    NotInstalledError,
    ReceiptError,
    from_exception,
)
from appx.faults import checkpoint
from appx.housekeeping import tidy
from appx.links import owned_links, receipt_links
from appx.linkstate import link_status
from appx.locks import app_locks, bin_lock
from appx.names import app_name, split_app_name, validate_name
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.receipt import load_receipt
from appx.reconcile import reconcile_links

# What happens to an app's directory once it is detached (renamed into scratch): by default
# it is deleted at once; the CLI collects them and deletes them after it has printed.
Remove = Callable[[Path], object]


@dataclass(frozen=True)
class UninstallResult:
    app: str
    status: Literal["uninstalled", "failed"]
    removed_links: tuple[str, ...] = ()
    error: AppxError | None = None
    left_alone: tuple[str, ...] = ()  # its link places held by what is not its own


def normalize_app(name: str) -> str:
    """Accept an app as listed (``black``, ``Black``, ``pycowsay+-b``) and validate it.

    What was typed is validated first, so an error names it rather than its
    canonical form (``..`` is refused as ``..``, not as ``-``).
    """
    typed = validate_name(name.strip(), "app name")
    package, suffix = split_app_name(typed)
    return validate_name(app_name(package, suffix), "app name")


def uninstall_apps(
    paths: AppxPaths,
    names: Sequence[str],
    reporter: Reporter,
    *,
    remove: Remove = store.remove_tree,
) -> list[UninstallResult]:
    """Uninstall each app on its own; a failure is recorded in its result.

    Each app's detached directory is handed to ``remove`` once the app is uninstalled.
    Inside another batch (sync's prune) an interrupt is that batch's: it goes on to stop
    the batch, and a signal recorded after a commit stays recorded for it.
    """
    paths.check_usable(write=True)
    tidy(paths)
    results: list[UninstallResult] = []
    outermost = not parallel.in_batch()
    if outermost:
        signals.clear_pending()
    for position, name in enumerate(names):
        if signals.interrupt_pending():  # Ctrl-C came after the last app was detached
            results += [_interrupted(n, "not started: interrupted") for n in names[position:]]
            break
        try:
            results.append(_uninstall_one(paths, normalize_app(name), reporter, remove))
        except AppxError as error:
            results.append(UninstallResult(name, "failed", error=error))
        except Exception as error:  # noqa: BLE001 -- one app's failure must not sink the others
            results.append(UninstallResult(name, "failed", error=from_exception(error)))
        except KeyboardInterrupt:
            if not outermost:
                raise
            results.append(_interrupted(name, "interrupted; it is still installed"))
            results += [_interrupted(n, "not started: interrupted") for n in names[position + 1 :]]
            break
    if outermost:
        signals.clear_pending()
    return results


def _interrupted(name: str, message: str) -> UninstallResult:
    hint = "run the command again to uninstall it"
    return UninstallResult(name, "failed", error=InterruptedByUser(message, hint))


def uninstall_all(
    paths: AppxPaths, reporter: Reporter, *, remove: Remove = store.remove_tree
) -> list[UninstallResult]:
    """Uninstall every installed app, then clear leftovers of interrupted first installs."""
    paths.check_usable(write=True)
    results = uninstall_apps(paths, paths.apps.installed(), reporter, remove=remove)
    store.sweep_abandoned(paths)
    return results


def _uninstall_one(
    paths: AppxPaths, app: str, reporter: Reporter, remove: Remove
) -> UninstallResult:
    installed, detached, removed = False, None, []
    kept: tuple[str, ...] = ()
    with contextlib.ExitStack() as after_commit:
        try:
            with app_locks(paths, [app], reporter.warn), bin_lock(paths, reporter.warn):
                installed = paths.apps.read_current(app) is not None
                _check_removable(paths, app)
                kept = _left_alone(paths, app)
                with reporter.step(f"Uninstalling {app}"):
                    displaced.settle(paths)  # while its generations can say what committed
                    # detaching is the commit point: from here a signal no longer undoes it
                    after_commit.enter_context(signals.committed())
                    with signals.deferred():
                        detached = paths.apps.detach(app)
                    checkpoint("after-detach")
                    removed = shims.remove_app_links(paths, app)
                    reconcile_links(paths)
            if detached is not None:
                remove(detached)
        except signals.CleanupCut:
            reporter.warn(
                f"interrupted after {app} was uninstalled: the next appx command finishes"
                " its clean-up"
            )
    if not installed:
        raise NotInstalledError(
            f"{app} is not installed",
            "run 'appx list' to see installed apps"
            + ("; leftovers of an interrupted install were removed" if detached or removed else ""),
        )
    return UninstallResult(app, "uninstalled", tuple(str(p) for p in removed), left_alone=kept)


def _left_alone(paths: AppxPaths, app: str) -> tuple[str, ...]:
    """The places of the app's links that hold something not its own (a user's file, a link
    elsewhere, another app's link): never touched, only named."""
    current = paths.apps.read_current(app)
    if current is None:
        return ()
    try:
        receipt = load_receipt(current.path)
    except ReceiptError:
        return ()  # its links are found by what they point to: nothing else is touched
    links = receipt_links(paths, receipt)
    return tuple(
        f"{status.link.path} ({status.occupant.describe()})"
        for status in link_status(paths, app, links)
        if status.state in {"taken", "blocked"}
    )


def _check_removable(paths: AppxPaths, app: str) -> None:
    """Refuse before the commit point what could not be finished after it (all or nothing).

    The app's directory must be movable out of venvs/, and every link it owns
    removable; otherwise the venv would go and leave its links behind.
    """
    if not paths.app_dir(app).exists():
        return
    dirs = {paths.venvs} | {link.parent for link in owned_links(paths, app)}
    for directory in sorted(dirs):
        if not os.access(directory, os.W_OK | os.X_OK):
            raise EnvironmentSetupError(
                f"cannot uninstall {app}: {directory} is not writable",
                "make it writable and try again; nothing was changed",
            )
