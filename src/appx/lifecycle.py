"""Upgrading, rolling back and pinning installed apps.

An upgrade rebuilds the app from its receipt, resolved afresh: a new generation
through the same change path as install (`change.build_and_commit`), kept only
when it differs; an app installed by name whose fresh resolution is what it holds
is not rebuilt at all (`appx.upgradecheck`). A rollback makes the previous
generation current again, links included, through the same commit as install. A
pin is one file in the app's directory, created or removed atomically.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

from packaging.requirements import InvalidRequirement, Requirement

from appx import signals
from appx.backends import choose_backend, open_backend
from appx.backends.base import Backend
from appx.build import BuildContext, BuildRequest, request_from_receipt
from appx.change import clean_up_cut, rebuild
from appx.commit import expose_and_flip
from appx.credentials import load_credentials
from appx.errors import AppxError, NotInstalledError, PythonNotFoundError, SpecError
from appx.housekeeping import tidy
from appx.interpreters import Interpreter, find_python
from appx.locks import app_locks
from appx.output import Reporter
from appx.parallel import jobs_from, run_batch
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt
from appx.uninstall import normalize_app
from appx.upgradecheck import UpgradeChecks

Result = TypeVar("Result")

UpgradeStatus = Literal["upgraded", "installed", "unchanged", "held", "pinned", "failed"]


@dataclass(frozen=True)
class UpgradeResult:
    app: str
    status: UpgradeStatus
    old_version: str = ""
    new_version: str = ""
    commands: tuple[str, ...] = ()
    error: AppxError | None = None
    note: str = ""  # why a held app did not move: "newer releases need Python >=3.12"


@dataclass(frozen=True)
class ReinstallResult:
    app: str
    status: Literal["reinstalled", "failed"]
    old_version: str = ""
    new_version: str = ""
    python: str = ""  # the Python it now runs on
    error: AppxError | None = None


@dataclass(frozen=True)
class RollbackResult:
    app: str
    old_version: str
    version: str


def set_pinned(paths: AppxPaths, name: str, pinned: bool, reporter: Reporter) -> str:
    """Pin or unpin an installed app; return its name."""
    paths.check_usable(write=True)
    tidy(paths)
    app = normalize_app(name)
    with app_locks(paths, [app], reporter.warn):
        if paths.apps.read_current(app) is None:
            raise _not_installed(app)
        pin = paths.pin_path(app)
        if pinned:
            pin.touch()
        else:
            pin.unlink(missing_ok=True)
    return app


def upgrade_apps(
    paths: AppxPaths,
    names: Sequence[str],
    reporter: Reporter,
    *,
    include_injected: bool = False,
    skip_pinned: bool = False,
    install_missing: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    backend: Backend | None = None,
) -> list[UpgradeResult]:
    """Upgrade each app on its own, several at once; a failure is recorded in its result.

    What an upgrade means, and how an app with nothing newer is told without a build,
    once per distinct request: `appx.upgradecheck`. A pinned app is refused (``upgrade
    APP``) or reported and skipped (``upgrade-all``: ``skip_pinned``). With
    ``install_missing``, an app that is not installed is installed (``upgrade
    --install``), as ``appx install NAME`` would in ``cwd`` with ``environ``.
    """
    paths.check_usable(write=True)
    tidy(paths)
    env = os.environ if environ is None else environ
    checks = UpgradeChecks(paths)
    checks.expect(upgrade_requests(paths, names, include_injected=include_injected))

    def upgrade(app: str, said: Reporter) -> UpgradeResult:
        if install_missing and paths.apps.read_current(app) is None:
            return _install_missing(paths, app, said, backend, cwd, env)
        return _upgrade_one(paths, app, said, backend, checks, include_injected, skip_pinned, env)

    return each_app(
        names,
        upgrade,
        lambda name, error: UpgradeResult(name, "failed", error=error),
        reporter,
        jobs=jobs_from(env),
    )


def upgrade_requests(
    paths: AppxPaths, names: Sequence[str], *, include_injected: bool
) -> Iterator[tuple[Receipt, BuildRequest]]:
    """The upgrade request of each installed app named (one that cannot be read is left to
    its own upgrade, which reports it)."""
    for app in dict.fromkeys(names):
        try:
            receipt = current_receipt(paths, app)
            yield receipt, upgrade_request(receipt, include_injected=include_injected)
        except AppxError:
            continue


def _install_missing(
    paths: AppxPaths,
    app: str,
    reporter: Reporter,
    backend: Backend | None,
    cwd: Path | None,
    environ: Mapping[str, str],
) -> UpgradeResult:
    from appx.install import InstallOptions, install_apps  # the install path, as it is

    (done,) = install_apps(
        paths,
        [app],
        InstallOptions(),
        reporter,
        cwd=cwd or paths.home,
        environ=environ,
        backend=backend,
    )
    if done.error is not None:
        raise done.error
    return UpgradeResult(app, "installed", "", done.version, done.commands)


def each_app(
    names: Sequence[str],
    change: Callable[[str, Reporter], Result],
    failed: Callable[[str, AppxError], Result],
    reporter: Reporter,
    *,
    jobs: int,
) -> list[Result]:
    """Change each app on its own, up to ``jobs`` at once (`parallel.run_batch`): a failure is
    that app's result, never the batch's end; an interrupt starts no further app."""
    return run_batch(
        names,
        lambda name, said: change(normalize_app(name), said),
        failed,
        reporter,
        jobs=jobs,
        label=lambda name: _app_key(name) or name,
        key=_app_key,
    )


def _app_key(name: str) -> str | None:
    try:
        return normalize_app(name)
    except AppxError:
        return None


def current_receipt(paths: AppxPaths, app: str) -> Receipt:
    """The receipt of an app's current generation, with its secrets put back (to rebuild)."""
    current = paths.apps.read_current(app)
    if current is None:
        raise _not_installed(app)
    return load_receipt(current.path).with_secrets(load_credentials(current.path))


def app_backend(
    paths: AppxPaths,
    receipt: Receipt,
    reporter: Reporter,
    environ: Mapping[str, str],
    requested: str | None = None,
) -> Backend:
    """The backend that rebuilds an app: ``requested``, APPX_BACKEND, else the one that
    built it (pip instead, with a note, when uv is gone or cannot honour its pip args)."""
    choice = choose_backend(requested, environ, receipt.backend)
    fell_back = receipt.backend == "uv" and choice.name == "pip"
    if fell_back and not requested and not environ.get("APPX_BACKEND"):
        reporter.note(f"{receipt.app}: built with pip: {choice.reason}")
    return open_backend(paths, choice, receipt.index, reporter.note, environ)


def _upgrade_one(
    paths: AppxPaths,
    app: str,
    reporter: Reporter,
    backend: Backend | None,
    checks: UpgradeChecks,
    include_injected: bool,
    skip_pinned: bool,
    environ: Mapping[str, str],
) -> UpgradeResult:
    with app_locks(paths, [app], reporter.warn):
        receipt = current_receipt(paths, app)
        if paths.pin_path(app).exists():
            if skip_pinned:
                return UpgradeResult(app, "pinned", receipt.version, receipt.version)
            raise SpecError(f"{app} is pinned", f"unpin it first: appx unpin {app}")
        request = upgrade_request(receipt, include_injected=include_injected)
        installer = backend or app_backend(paths, receipt, reporter, environ)
        python = recorded_python(receipt)
        with reporter.step(f"Looking for newer releases of {app}"):
            up_to_date = checks.up_to_date(installer, python, receipt, request)
        new = None
        if not up_to_date:
            tools = BuildContext(installer, python, reporter, paths.new_log(f"upgrade-{app}"))
            new = rebuild(paths, request, tools, unless_same_as=receipt)
    if new is None:
        held = checks.held_back(installer, python, receipt, request)
        status: UpgradeStatus = "held" if held else "unchanged"
        return UpgradeResult(app, status, receipt.version, receipt.version, note=held)
    return UpgradeResult(
        app, "upgraded", receipt.version, new.version, tuple(c.exposed_as for c in new.commands)
    )


def reinstall_apps(
    paths: AppxPaths,
    names: Sequence[str],
    reporter: Reporter,
    *,
    environ: Mapping[str, str],
    latest: bool = False,
    python: str | None = None,
    backend: Backend | None = None,
    backend_name: str | None = None,
    interpreters: Mapping[str, Interpreter] | None = None,
) -> list[ReinstallResult]:
    """Rebuild each app from its receipt: the exact recorded versions, or resolved afresh
    (``latest``); on its recorded Python, or on ``python`` (found as install finds it), or
    on the one ``interpreters`` gives for it (doctor: its Python found again); with its
    recorded backend, or ``backend_name`` (--backend: the app switches)."""
    paths.check_usable(write=True)
    tidy(paths)
    target = find_python(python, environ=environ, default=None) if python else None
    if backend_name is not None:
        choose_backend(backend_name, environ)  # an unknown name stops before any app
    chosen = interpreters or {}
    return each_app(
        names,
        lambda app, said: _reinstall_one(
            paths, app, said, backend, latest, target or chosen.get(app), environ, backend_name
        ),
        lambda name, error: ReinstallResult(name, "failed", error=error),
        reporter,
        jobs=jobs_from(environ),
    )


def _reinstall_one(
    paths: AppxPaths,
    app: str,
    reporter: Reporter,
    backend: Backend | None,
    latest: bool,
    target: Interpreter | None,
    environ: Mapping[str, str],
    backend_name: str | None,
) -> ReinstallResult:
    with app_locks(paths, [app], reporter.warn):
        receipt = current_receipt(paths, app)
        request = request_from_receipt(receipt)
        if not latest:  # every distribution at its recorded version (not those from a URL)
            held = receipt.distributions.items()
            exact = tuple(f"{n}=={v}" for n, v in held if n not in receipt.direct_urls)
            request = replace(request, exact=exact)
        interpreter = target or _python_again(receipt, environ)
        installer = backend or app_backend(paths, receipt, reporter, environ, backend_name)
        tools = BuildContext(installer, interpreter, reporter, paths.new_log(f"reinstall-{app}"))
        new = rebuild(paths, request, tools)
    assert new is not None  # noqa: S101 -- committed, or an exception went out
    return ReinstallResult(app, "reinstalled", receipt.version, new.version, new.python.version)


def _python_again(receipt: Receipt, environ: Mapping[str, str]) -> Interpreter:
    """The app's recorded Python; when it is gone, the same request found again (an
    upgraded Python at another path), or an error that says how to move the app."""
    try:
        return recorded_python(receipt)
    except PythonNotFoundError as gone:
        if not receipt.python.requested or receipt.python.requested_by == "appx":
            raise
        try:
            return find_python(receipt.python.requested, environ=environ, default=None)
        except PythonNotFoundError:
            raise gone from None


def rollback_app(paths: AppxPaths, name: str, reporter: Reporter) -> RollbackResult:
    """Make the previous generation current again, links included (the two swap)."""
    paths.check_usable(write=True)
    tidy(paths)
    app = normalize_app(name)
    with app_locks(paths, [app], reporter.warn):
        current = paths.apps.read_current(app)
        if current is None:
            raise _not_installed(app)
        paths.apps.mend_previous(app)  # a crash may have cut the last flip in two
        previous = paths.apps.read_pointer(app, "previous")
        if previous is None or not previous.path.is_dir():
            raise SpecError(
                f"{app} has no previous version to roll back to",
                "a rollback needs an earlier install, upgrade or reinstall of the app",
            )
        old = load_receipt(current.path)
        target = load_receipt(previous.path)
        with contextlib.ExitStack() as after_commit, clean_up_cut(reporter, app):
            expose_and_flip(
                paths,
                previous,
                target,
                reporter,
                force=False,
                on_commit=lambda _: after_commit.enter_context(signals.committed()),
            )
    return RollbackResult(app, old.version, target.version)


def upgrade_request(receipt: Receipt, *, include_injected: bool) -> BuildRequest:
    """What an upgrade builds: the receipt's request with the app's version specifier
    dropped (and the injected packages', if asked); a path or URL rebuilt as it is."""
    request = request_from_receipt(receipt)
    if request.spec is not None and request.spec.kind == "name":
        loose = unpinned(request.spec.requirement)
        request = replace(request, spec=replace(request.spec, raw=loose, requirement=loose))
    if include_injected:
        request = replace(request, injected=tuple(map(unpinned, request.injected)))
    return request


def unpinned(requirement: str) -> str:
    """A name requirement without its version specifier: `black[d]==24.1; python_version>"3"`
    becomes `black[d]; python_version>"3"` (name, extras and marker kept)."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement
    if parsed.url:
        return requirement
    parsed.specifier = parsed.specifier.__class__()
    return str(parsed)


def recorded_python(receipt: Receipt) -> Interpreter:
    """The base interpreter an app was built with, as its receipt records it."""
    executable = Path(receipt.python.executable)
    if not os.access(executable, os.X_OK):
        raise PythonNotFoundError(
            f"the Python of {receipt.app} is gone: {executable}",
            f"move the app to another Python: appx reinstall --python 3.X {receipt.app}",
        )
    major, minor, micro = (int(part) for part in f"{receipt.python.version}.0.0".split(".")[:3])
    return Interpreter(
        receipt.python.requested, executable, (major, minor, micro), receipt.python.implementation
    )


def _not_installed(app: str) -> NotInstalledError:
    return NotInstalledError(f"{app} is not installed", "run 'appx list' to see installed apps")
