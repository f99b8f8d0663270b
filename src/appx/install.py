"""The install operation: name first, build a generation, expose its commands, flip."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from appx import __version__, shims, store
from appx.backends import get_backend
from appx.backends.base import Backend, IndexOptions, probe_venv
from appx.backends.pip_isolation import check_pip_args
from appx.credentials import redact
from appx.errors import AppxError, InstallerError, NoCommandsError, ReceiptError
from appx.faults import checkpoint
from appx.inspect import installed_distributions, read_exposed, validate_name
from appx.interpreters import Interpreter, find_python
from appx.locks import app_locks, bin_lock
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.receipt import (
    ExposedCommand,
    ExposedManPage,
    PythonInfo,
    Receipt,
    VenvInfo,
    direct_urls,
    load_receipt,
    save_receipt,
)
from appx.reconcile import path_warnings, receipt_links, reconcile_links
from appx.specs import AppSpec, app_name, check_marker, parse_spec, validate_suffix

Status = Literal["installed", "reinstalled", "already-installed", "failed"]


@dataclass(frozen=True)
class InstallOptions:
    python: str | None = None
    force: bool = False
    suffix: str = ""
    include_deps: bool = False
    index_url: str | None = None
    pip_args: tuple[str, ...] = ()
    editable: bool = False
    keep_log: bool = False
    backend: str = "pip"


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
    error: AppxError | None = None


@dataclass
class _Context:
    paths: AppxPaths
    options: InstallOptions
    reporter: Reporter
    cwd: Path
    interpreter: Interpreter
    backend: Backend
    index: IndexOptions = field(init=False)

    def __post_init__(self) -> None:
        self.index = IndexOptions(self.options.index_url, self.options.pip_args)


def install_apps(
    paths: AppxPaths,
    specs: Sequence[str],
    options: InstallOptions,
    reporter: Reporter,
    *,
    cwd: Path,
    environ: Mapping[str, str],
) -> list[InstallResult]:
    """Install each spec on its own; a failure is recorded in its result, not raised."""
    if options.suffix:
        validate_suffix(options.suffix)
    check_pip_args(options.pip_args)
    with reporter.step("Finding Python"):
        interpreter = find_python(options.python, environ=environ, default=paths.default_python)
    backend = get_backend(options.backend, paths)
    store.sweep_tmp(paths)
    store.sweep_abandoned(paths)
    context = _Context(paths, options, reporter, cwd, interpreter, backend)
    results = []
    for raw in specs:
        try:
            results.append(_install_one(context, raw))
        except AppxError as error:
            results.append(InstallResult(redact(raw), "failed", error=error))
    for warning in path_warnings(paths, [c for r in results for c in r.commands], environ):
        reporter.warn(warning)
    return results


def _install_one(ctx: _Context, raw: str) -> InstallResult:
    spec = parse_spec(raw, cwd=ctx.cwd, editable=ctx.options.editable)
    check_marker(spec, ctx.interpreter.markers)
    log = new_log(ctx.paths, spec.name or "install")
    try:
        result = _install_logged(ctx, spec, log)
    except AppxError as error:
        if error.log_path is None and not ctx.options.keep_log:
            log.unlink(missing_ok=True)  # the failure was not the installer's
        raise
    except BaseException:
        ctx.reporter.warn(f"interrupted; the installer's log is {log}")
        raise
    if not ctx.options.keep_log:
        log.unlink(missing_ok=True)
    return result


def _install_logged(ctx: _Context, spec: AppSpec, log: Path) -> InstallResult:
    name = spec.name
    if name is None:
        with ctx.reporter.step(f"Finding the name of {redact(spec.raw)}"):
            name = ctx.backend.resolve_name(
                ctx.interpreter, spec.requirement, index=ctx.index, log=log
            )
        validate_name(name, "package name")
    app = validate_name(app_name(name, ctx.options.suffix), "app name")
    with app_locks(ctx.paths, [app], ctx.reporter.warn):
        store.collect_garbage(ctx.paths, app)
        current = store.read_current(ctx.paths, app)
        if current is not None and not ctx.options.force:
            return _already_installed(ctx, spec, app, current)
        result = _build_and_commit(ctx, spec, name, app, log, replacing=current is not None)
        store.collect_garbage(ctx.paths, app)
    return result


def _build_and_commit(
    ctx: _Context, spec: AppSpec, name: str, app: str, log: Path, *, replacing: bool
) -> InstallResult:
    generation = store.begin_generation(ctx.paths, app)
    checkpoint("after-marker")
    try:
        receipt = _build(ctx, generation, spec, name, app, log)
        displaced = _expose_and_flip(ctx, generation, receipt)
    except BaseException:
        if store.read_current(ctx.paths, app) != generation:
            store.discard(ctx.paths, generation)
        raise
    return InstallResult(
        redact(spec.raw),
        "reinstalled" if replacing else "installed",
        app,
        receipt.version,
        tuple(c.exposed_as for c in receipt.commands),
        tuple(f"{m.section}/{m.exposed_as}" for m in receipt.man_pages),
        tuple((str(d.original), str(d.moved_to)) for d in displaced),
    )


def _expose_and_flip(
    ctx: _Context, generation: store.Generation, receipt: Receipt
) -> list[shims.DisplacedFile]:
    """Plan and create the links, then flip `current`: all under the bin lock."""
    with bin_lock(ctx.paths, ctx.reporter.warn):
        reconcile_links(ctx.paths)
        desired = receipt_links(ctx.paths, receipt)
        plan = shims.plan_shims(ctx.paths, receipt.app, desired, force=ctx.options.force)
        if plan.conflicts:
            raise shims.conflict_error(plan, ctx.paths)
        displaced = shims.apply_before_flip(ctx.paths, plan)
        checkpoint("after-links")
        try:
            store.flip(ctx.paths, generation)
        except BaseException:
            if store.read_current(ctx.paths, receipt.app) != generation:
                shims.undo_before_flip(ctx.paths, plan, displaced)
            raise
        checkpoint("after-flip")
        store.finish_generation(generation)
        shims.apply_after_flip(ctx.paths, receipt.app, plan)
    return displaced


def _build(
    ctx: _Context, generation: store.Generation, spec: AppSpec, name: str, app: str, log: Path
) -> Receipt:
    def on_start(pgid: int) -> None:
        store.record_installer(generation, pgid)

    with ctx.reporter.step(f"Creating a virtual environment for {app}"):
        ctx.backend.create_venv(ctx.interpreter, generation.path, log=log, on_start=on_start)
    checkpoint("after-venv")
    layout = probe_venv(generation.path)
    with ctx.reporter.step(f"Installing {redact(spec.raw)}"):
        ctx.backend.install(
            layout,
            ctx.interpreter,
            [spec.requirement],
            editable=spec.editable,
            index=ctx.index,
            log=log,
            on_start=on_start,
        )
    checkpoint("after-install")
    distributions = installed_distributions(layout.purelib)
    main = distributions.get(name)
    if main is None or not main.requested:
        raise InstallerError(
            f"{redact(spec.raw)} did not install a package named {name}",
            "the spec's metadata names another project; check the spec",
            log_path=str(log),
        )
    wanted = list(distributions) if ctx.options.include_deps else [name]
    exposed = read_exposed(generation.path, layout.purelib, layout.scripts, wanted)
    for rejected in exposed.rejected:
        ctx.reporter.warn(rejected)
    if not exposed.commands:
        others = [d for d in distributions if d != name and not ctx.options.include_deps]
        offered = read_exposed(generation.path, layout.purelib, layout.scripts, others).commands
        hint = (
            f"its dependencies provide {', '.join(c.name for c in offered)}: add --include-deps"
            if offered
            else "it is a library, not an application"
        )
        raise NoCommandsError(f"{name} provides no commands", hint)
    suffix = ctx.options.suffix
    commands = tuple(
        ExposedCommand(
            c.name, validate_name(c.name + suffix, "command name"), c.kind, c.distribution
        )
        for c in exposed.commands
    )
    man_pages = tuple(
        ExposedManPage(m.section, m.name, _suffixed(m.split_name(), suffix), m.distribution)
        for m in exposed.man_pages
    )
    # save_receipt keeps secrets out of the receipt (in the credentials file beside it)
    index_url, pip_args = ctx.index.index_url, ctx.index.pip_args
    receipt = Receipt(
        app=app,
        package=name,
        version=main.version,
        spec=spec.raw,
        spec_kind=spec.kind,
        requirement=spec.requirement,
        suffix=suffix,
        python=PythonInfo(**ctx.interpreter.to_json()),
        venv=VenvInfo(str(layout.python), str(layout.purelib), str(layout.scripts)),
        backend=ctx.backend.name,
        backend_version=ctx.backend.version(ctx.interpreter),
        editable=spec.editable,
        include_deps=ctx.options.include_deps,
        index_url=index_url,
        pip_args=pip_args,
        distributions={d.name: d.version for d in distributions.values()},
        direct_urls=direct_urls((d.name, d.path) for d in distributions.values()),
        commands=commands,
        man_pages=man_pages,
        appx_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    save_receipt(generation.path, receipt)
    checkpoint("after-receipt")
    return receipt


def _suffixed(stem_and_ext: tuple[str, str], suffix: str) -> str:
    stem, ext = stem_and_ext
    return validate_name(f"{stem}{suffix}.{ext}", "man page name")


def _already_installed(
    ctx: _Context, spec: AppSpec, app: str, current: store.Generation
) -> InstallResult:
    try:
        receipt = load_receipt(current.path)
    except ReceiptError as error:
        return InstallResult(
            redact(spec.raw), "already-installed", app, differences=(error.message,)
        )
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
    )


def new_log(paths: AppxPaths, label: str) -> Path:
    """A fresh log file for one operation's installer output."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = paths.logs / f"{label}-{stamp}-{os.getpid()}.log"
    path.touch(mode=0o600)
    return path
