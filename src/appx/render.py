"""Turn operation results into lines for the Console, and failures into one AppxError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from appx.errors import AppxError, InterruptedByUser, PartialFailureError
from appx.output import SCHEMA, error_json

if TYPE_CHECKING:  # only the result types: read-only commands must not import the operations
    from appx.environment import EnsurePathResult, Setting
    from appx.install import InstallResult
    from appx.listing import Listing
    from appx.output import Console
    from appx.uninstall import UninstallResult


def render_install(console: Console, results: Sequence[InstallResult]) -> None:
    """Say what each spec became; raise the failure (one, or a partial failure) if any."""
    for result in results:
        for original, moved_to in result.displaced:
            console.warn(f"moved {original} aside to {moved_to}")
        if result.status in {"installed", "reinstalled"}:
            console.info(f"{result.status} {result.app} {result.version}")
            console.info(f"  commands: {', '.join(result.commands)}")
            if result.man_pages:
                console.info(f"  man pages: {', '.join(result.man_pages)}")
        elif result.status == "already-installed":
            console.info(f"{result.app} {result.version} is already installed")
            for difference in result.differences:
                console.info(f"  note: {difference}")
            for path in result.mended:
                console.info(f"  mended: {path}")
            for problem in result.problems:
                console.warn(f"{result.app}: {problem}")
            if result.problems:
                console.info(f"  to repair it: appx install --force {result.spec}")
            else:
                console.info("  use --force to reinstall")
    failure = failure_of(console, [(r.spec, r.error) for r in results])
    if console.json_mode:
        console.emit_json(
            {
                "schema": SCHEMA,
                "results": [_install_json(r) for r in results],
                "error": None if failure is None else error_json(failure),
            }
        )
    if failure is not None:
        raise failure


def render_uninstall(console: Console, results: Sequence[UninstallResult]) -> None:
    for result in results:
        if result.status == "uninstalled":
            console.info(f"uninstalled {result.app}")
            for link in result.removed_links:
                console.detail(f"  removed {link}")
            for place in result.left_alone:
                console.warn(f"left {place} alone: it is not {result.app}'s")
    if not results:
        console.info("no apps are installed")
    failure = failure_of(console, [(r.app, r.error) for r in results])
    if failure is not None:
        raise failure


def render_list(console: Console, listing: Listing, *, short: bool) -> None:
    """The listing the user asked for (printed even with --quiet), or its JSON document."""
    if console.json_mode:
        from appx.listing import listing_json

        console.emit_json(listing_json(listing))
        return
    if not listing.apps:
        console.result("no apps are installed")
    for status in listing.apps:
        receipt = status.receipt
        if receipt is None:
            console.result(f"{status.app} (receipt unreadable)" if not short else status.app)
        elif short:
            console.result(f"{status.app} {receipt.version}")
        else:
            pinned = ", pinned" if status.pinned else ""
            console.result(
                f"{status.app} {receipt.version} (Python {receipt.python.version}{pinned})"
            )
            console.result(f"  commands: {', '.join(c.name for c in status.commands)}")
            if status.man_pages:
                console.result(f"  man pages: {', '.join(m.name for m in status.man_pages)}")
            if receipt.injected:
                console.result(f"  injected: {', '.join(receipt.injected)}")
        if not short:
            for problem in status.problems:
                console.result(f"  problem: {problem}")
    if not short:
        _home_problems(console, listing)


def _home_problems(console: Console, listing: Listing) -> None:
    """Problems of no one app, then where to go about any problem."""
    for problem in (*listing.orphans, *listing.displaced):
        console.result(f"problem: {problem}")
    if listing.orphans or listing.displaced or any(s.problems for s in listing.apps):
        console.info("run `appx doctor` for details, `appx doctor --fix` to mend")


def render_ensurepath(console: Console, result: EnsurePathResult) -> None:
    if result.changed:
        console.info(f"added {result.location} to PATH in your shell's startup files:")
        for name in result.files:
            console.info(f"  changed {name}")
        if result.seen_by_new_shell is False:
            console.warn("a new shell still does not find it: something in those files skips it")
        console.info("open a new shell (or log in again) for the change to take effect")
    elif result.in_current_path:
        console.info(f"{result.location} is already on PATH")
    else:
        console.info(f"{result.location} is already in your shell's startup files")
        console.info("open a new shell (or log in again) for it to take effect")


def render_environment(console: Console, settings: Sequence[Setting]) -> None:
    """Every setting, its value and its source (printed even with --quiet), or a JSON object."""
    if console.json_mode:
        console.emit_json({s.name: {"value": s.value, "source": s.source} for s in settings})
        return
    width = max(len(s.name) for s in settings)
    for setting in settings:
        console.result(f"{setting.name:<{width}}  {setting.value}  ({setting.source})")


def _install_json(result: InstallResult) -> dict[str, Any]:
    return {
        "spec": result.spec,
        "status": result.status,
        "app": result.app,
        "version": result.version,
        "commands": list(result.commands),
        "man_pages": list(result.man_pages),
        "displaced": [{"original": o, "moved_to": m} for o, m in result.displaced],
        "differences": list(result.differences),
        "mended": list(result.mended),
        "problems": list(result.problems),
        "error": None if result.error is None else error_json(result.error),
    }


def failure_of(
    console: Console, outcomes: Sequence[tuple[str, AppxError | None]]
) -> AppxError | None:
    """The call's failure: a lone result's own error, or a partial failure naming the failed
    ones (whose errors are printed here, each labelled)."""
    failed = [(label, error) for label, error in outcomes if error is not None]
    if not failed:
        return None
    if len(outcomes) == 1:
        return failed[0][1]
    for label, error in failed:
        console.error(_labelled(label, error))
    names = ", ".join(label for label, _ in failed)
    summary = f"{len(failed)} of {len(outcomes)} failed: {names}"
    if any(isinstance(error, InterruptedByUser) for _, error in failed):
        return InterruptedByUser(
            f"interrupted; not done: {names}",
            "the others are done; the change that was interrupted was discarded",
        )
    kinds = {type(error) for _, error in failed}
    if len(failed) < len(outcomes):
        return PartialFailureError(summary, "the others succeeded; see the errors above")
    if len(kinds) == 1:  # all failed alike: that failure's own exit code
        return kinds.pop()(summary, failed[0][1].hint)
    return PartialFailureError(summary, "none succeeded; see the errors above")


def _labelled(label: str, error: AppxError) -> AppxError:
    return type(error)(f"{label}: {error.message}", error.hint, log_path=error.log_path)
