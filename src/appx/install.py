"""The install operation: name first, build a generation, expose its commands, flip."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from appx import parallel, signals, store
from appx.backends import choose_backend, open_backend
from appx.backends.base import Backend
from appx.backends.pip_isolation import check_pip_args
from appx.build import BuildContext, BuildRequest
from appx.change import Change, build_and_commit
from appx.credentials import redact
from appx.errors import AppxError
from appx.housekeeping import tidy
from appx.indexes import IndexOptions
from appx.inspect import validate_name
from appx.interpreters import Interpreter, find_python
from appx.links import receipt_links
from appx.linkstate import link_status
from appx.listing import app_problems
from appx.locks import app_locks, bin_lock
from appx.output import Reporter
from appx.parallel import jobs_from, run_batch
from appx.paths import AppxPaths
from appx.receipt import Receipt, load_receipt, receipt_to_replace
from appx.reconcile import path_warnings, reconcile_links
from appx.specs import AppSpec, app_name, check_marker, parse_spec, validate_suffix

Status = Literal["installed", "reinstalled", "already-installed", "failed"]


@dataclass(frozen=True)
class InstallOptions:
    python: str | None = None
    force: bool = False
    suffix: str = ""
    include_deps: bool = False
    index: IndexOptions = field(default_factory=IndexOptions)
    replace: bool = False  # rebuild an installed app (sync); --force implies it
    injected: tuple[str, ...] = ()  # more requirements installed beside the app (sync)
    injected_apps: tuple[str, ...] = ()  # injected distributions whose commands are exposed
    exact: tuple[str, ...] = ()  # constraints that hold versions (sync); not recorded
    editable: bool = False
    keep_log: bool = False
    backend: str | None = None  # --backend; None: APPX_BACKEND, else automatic


@dataclass(frozen=True)
class InstallResult:
    spec: str
    status: Status
    app: str | None = None
    version: str = ""
    commands: tuple[str, ...] = ()
    man_pages: tuple[str, ...] = ()
    displaced: tuple[tuple[str, str], ...] = ()
    differences: tuple[str, ...] = ()
    mended: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    error: AppxError | None = None


@dataclass
class _Context:
    paths: AppxPaths
    options: InstallOptions
    reporter: Reporter
    cwd: Path
    interpreter: Interpreter
    backend: Backend
    # the change of the spec at hand: once committed, a signal no longer discards it
    change: Change = field(default_factory=Change)
    replacing: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    backend_given: bool = False  # --backend, or the caller's own: a replaced app follows it

    @property
    def index(self) -> IndexOptions:
        return self.options.index


def install_apps(
    paths: AppxPaths,
    specs: Sequence[str],
    options: InstallOptions,
    reporter: Reporter,
    *,
    cwd: Path,
    environ: Mapping[str, str],
    backend: Backend | None = None,
    interpreter: Interpreter | None = None,
    warn_path: bool = True,
) -> list[InstallResult]:
    """Install each spec on its own, several at once (`parallel.run_batch`); a failure is
    recorded in its result, not raised.

    ``backend`` and ``interpreter`` default to the configured backend and the
    Python that ``options.python`` names; tests pass their own. ``warn_path``: say
    when the bin dir is not on PATH (a caller that installs one by one says it once).
    """
    paths.check_usable(write=True)
    if options.suffix:
        validate_suffix(options.suffix)
    check_pip_args(options.index.pip_args)
    if interpreter is None:
        with reporter.step("Finding Python"):
            interpreter = find_python(options.python, environ=environ, default=paths.default_python)
    given = backend is not None or options.backend is not None
    if backend is None:
        choice = choose_backend(options.backend, environ)
        backend = open_backend(paths, choice, options.index, reporter.note, environ)
    tidy(paths, links=False)  # every install mends them itself, and says which it mended
    context = _Context(
        paths, options, reporter, cwd, interpreter, backend, environ=environ, backend_given=given
    )

    def install(raw: str, said: Reporter) -> InstallResult:
        return _install_one(dataclasses.replace(context, reporter=said, change=Change()), raw)

    results = run_batch(
        specs,
        install,
        lambda raw, error: InstallResult(redact(raw), "failed", error=error),
        reporter,
        jobs=jobs_from(environ),
        label=redact,
        key=lambda raw: _known_app(context, raw),
        hint="nothing of it was changed; run the command again to install it",
    )
    if warn_path:
        for warning in path_warnings(paths, [c for r in results for c in r.commands], environ):
            reporter.warn(warning)
    return results


def _known_app(ctx: _Context, raw: str) -> str | None:
    """The app a spec installs, when its name is known before anything runs (None when it
    is not, or the spec is wrong: its install says why)."""
    try:
        spec = parse_spec(raw, cwd=ctx.cwd, editable=ctx.options.editable)
    except Exception:  # noqa: BLE001 -- told again, as the spec's own failure, by its install
        return None
    return app_name(spec.name, ctx.options.suffix) if spec.name else None


def _install_one(ctx: _Context, raw: str) -> InstallResult:
    spec = parse_spec(raw, cwd=ctx.cwd, editable=ctx.options.editable)
    check_marker(spec, ctx.interpreter.markers)
    log = ctx.paths.new_log(spec.name or "install")
    try:
        with contextlib.ExitStack() as after_commit:
            result = _install_logged(ctx, spec, log, after_commit)
            if not ctx.options.keep_log:  # inside: after a commit, a signal here keeps it
                log.unlink(missing_ok=True)
    except signals.CleanupCut:
        if ctx.change.receipt is None:  # pragma: no cover -- raised only after a commit point
            raise
        ctx.reporter.warn(
            f"interrupted after {ctx.change.receipt.app} was committed: it is installed, and"
            " the next appx command finishes its clean-up"
        )
        return _done(spec, ctx.change, replacing=ctx.replacing)
    except KeyboardInterrupt:
        ctx.reporter.warn(f"interrupted; the installer's log is {log}")
        raise
    except BaseException as error:
        failed_in_installer = isinstance(error, AppxError) and error.log_path is not None
        if not failed_in_installer and not ctx.options.keep_log:
            log.unlink(missing_ok=True)
        raise
    return result


def _install_logged(
    ctx: _Context, spec: AppSpec, log: Path, after_commit: contextlib.ExitStack
) -> InstallResult:
    name = spec.name
    if name is None:
        with ctx.reporter.step(f"Finding the name of {redact(spec.raw)}"):
            name = ctx.backend.resolve_name(
                ctx.interpreter, spec.requirement, index=ctx.index, log=log
            )
        validate_name(name, "package name")
    app = validate_name(app_name(name, ctx.options.suffix), "app name")
    parallel.claim(app)  # another spec of the batch may name the same app
    with app_locks(ctx.paths, [app], ctx.reporter.warn):
        ctx.paths.apps.collect_garbage(app)
        current = ctx.paths.apps.read_current(app)
        if current is not None and not (ctx.options.force or ctx.options.replace):
            return _already_installed(ctx, spec, app, current)
        ctx.replacing = current is not None
        if current is not None:
            # a newer appx's receipt raises here: its app is never replaced
            _keep_recorded_backend(ctx, receipt_to_replace(current.path))
        result = _build_and_commit(ctx, spec, name, app, log, after_commit, replacing=ctx.replacing)
        ctx.paths.apps.collect_garbage(app)
    return result


def _keep_recorded_backend(ctx: _Context, replaced: Receipt | None) -> None:
    """An app replaced (`install --force`, sync) keeps the backend its receipt records, as
    every other change does, unless --backend or APPX_BACKEND say otherwise (an unreadable
    receipt: the backend chosen for the batch rebuilds it)."""
    if ctx.backend_given or replaced is None:
        return
    if replaced.backend != ctx.backend.name:
        choice = choose_backend(None, ctx.environ, replaced.backend)
        ctx.backend = open_backend(ctx.paths, choice, ctx.index, ctx.reporter.note, ctx.environ)


def _build_and_commit(
    ctx: _Context,
    spec: AppSpec,
    name: str,
    app: str,
    log: Path,
    after_commit: contextlib.ExitStack,
    *,
    replacing: bool,
) -> InstallResult:
    """Build a new generation and commit it; from the commit on, a signal keeps the change."""
    request = BuildRequest(
        app,
        name,
        spec,
        ctx.options.suffix,
        ctx.options.include_deps,
        ctx.index,
        ctx.options.injected,
        injected_apps=ctx.options.injected_apps,
        exact=ctx.options.exact,
    )
    tools = BuildContext(ctx.backend, ctx.interpreter, ctx.reporter, log)
    ctx.change = Change()
    build_and_commit(ctx.paths, request, tools, ctx.change, after_commit, force=ctx.options.force)
    return _done(spec, ctx.change, replacing=replacing)


def _done(spec: AppSpec, change: Change, *, replacing: bool) -> InstallResult:
    receipt, displaced = change.receipt, change.displaced
    assert receipt is not None  # noqa: S101 -- a committed change has its receipt
    return InstallResult(
        redact(spec.raw),
        "reinstalled" if replacing else "installed",
        receipt.app,
        receipt.version,
        tuple(c.exposed_as for c in receipt.commands),
        tuple(f"{m.section}/{m.exposed_as}" for m in receipt.man_pages),
        tuple((str(d.original), str(d.moved_to)) for d in displaced),
    )


def _already_installed(
    ctx: _Context, spec: AppSpec, app: str, current: store.Generation
) -> InstallResult:
    """Say so, say what differs from the request, mend the app's links, name what is broken."""
    receipt = load_receipt(current.path)
    mended = _mend_links(ctx, receipt)
    problems = app_problems(ctx.paths, receipt)
    differences = []
    if receipt.spec != redact(spec.raw):
        differences.append(
            f"installed from {redact(receipt.spec)!r}, requested {redact(spec.raw)!r}"
        )
    requested_python = ctx.interpreter.requested
    by_option = ctx.interpreter.requested_by == "--python"
    if by_option and str(ctx.interpreter.executable) != receipt.python.executable:
        differences.append(
            f"installed with Python {receipt.python.version}, requested {requested_python}"
        )
    if receipt.editable != spec.editable:
        differences.append("installed editable" if receipt.editable else "installed not editable")
    if ctx.options.include_deps and not receipt.include_deps:
        differences.append("installed without --include-deps")
    return InstallResult(
        redact(spec.raw),
        "already-installed",
        app,
        receipt.version,
        tuple(c.exposed_as for c in receipt.commands),
        tuple(f"{m.section}/{m.exposed_as}" for m in receipt.man_pages),
        differences=tuple(differences),
        mended=tuple(mended),
        problems=tuple(problems),
    )


def _mend_links(ctx: _Context, receipt: Receipt) -> list[str]:
    """Recreate the app's missing links where their names are free; return the paths mended."""
    links = receipt_links(ctx.paths, receipt)
    with bin_lock(ctx.paths, ctx.reporter.warn):
        before = link_status(ctx.paths, receipt.app, links)
        reconcile_links(ctx.paths)
        after = link_status(ctx.paths, receipt.app, links)
    return [
        str(new.link.path)
        for old, new in zip(before, after, strict=True)
        if old.state != "ok" and new.state == "ok"
    ]
