"""Building one generation: what to build (pure), then the build itself.

`BuildRequest` says what a generation must hold: it comes from a spec and the
install options, from a receipt for reinstall and upgrade, or from a run request
(a run env of a script has no main package: `spec` is None, `injected` holds its
dependencies).
`build_generation` turns a request into a complete venv and its receipt;
`make_receipt` is the pure part that decides what the receipt says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appx import __version__, store
from appx.backends.base import Backend, VenvLayout
from appx.credentials import redact
from appx.errors import InstallerError, NoCommandsError
from appx.faults import checkpoint
from appx.indexes import IndexOptions
from appx.inspect import DistInfo, Exposed, installed_distributions, read_exposed
from appx.interpreters import Interpreter
from appx.links import exposed_man_name, exposed_name
from appx.output import Reporter
from appx.receipt import (
    ExposedCommand,
    ExposedManPage,
    PythonInfo,
    Receipt,
    VenvInfo,
    direct_urls,
    save_receipt,
)
from appx.specs import AppSpec


@dataclass(frozen=True)
class BuildRequest:
    """Everything that decides what a generation holds, and nothing about how to build it."""

    app: str
    package: str  # "" when there is no main package
    spec: AppSpec | None
    suffix: str
    include_deps: bool
    index: IndexOptions
    injected: tuple[str, ...] = ()  # requirements installed beside the app's own
    injected_apps: tuple[str, ...] = ()  # injected distributions whose commands are exposed
    exact: tuple[str, ...] = ()  # constraints (`name==version`) a reinstall holds; not recorded

    @property
    def requirements(self) -> list[str]:
        own = [self.spec.requirement] if self.spec is not None else []
        return [*own, *self.injected]

    @property
    def label(self) -> str:
        """What is being installed, for messages (credentials hidden)."""
        return redact(self.spec.raw) if self.spec is not None else ", ".join(self.injected)


def request_from_receipt(receipt: Receipt) -> BuildRequest:
    """What rebuilding an app takes, from its receipt (pass one with its secrets put back)."""
    spec = (
        AppSpec(
            receipt.spec, receipt.spec_kind, receipt.requirement, receipt.package, receipt.editable
        )
        if receipt.spec_kind != "script"
        else None
    )
    return BuildRequest(
        receipt.app,
        receipt.package,
        spec,
        receipt.suffix,
        receipt.include_deps,
        receipt.index,
        receipt.injected,
        receipt.injected_apps,
    )


@dataclass(frozen=True)
class BuildContext:
    """The tools a build uses: where logs go, the backend, the interpreter, the reporter."""

    backend: Backend
    interpreter: Interpreter
    reporter: Reporter
    log: Path


def build_generation(
    ctx: BuildContext, generation: store.Generation, request: BuildRequest
) -> Receipt:
    """Create the venv, install into it, check it, and write its receipt (the last step)."""

    def on_start(pgid: int) -> None:
        store.record_installer(generation, pgid)

    spec = request.spec
    with ctx.reporter.step(f"Creating a virtual environment for {request.app}"):
        ctx.backend.create_venv(ctx.interpreter, generation.path, log=ctx.log, on_start=on_start)
    checkpoint("after-venv")
    layout = ctx.backend.probe(generation.path)
    with ctx.reporter.step(f"Installing {request.label}"):
        ctx.backend.install(
            layout,
            ctx.interpreter,
            request.requirements,
            editable=spec is not None and spec.editable,
            index=request.index,
            log=ctx.log,
            on_start=on_start,
            constraints=request.exact,
        )
    checkpoint("after-install")
    distributions = installed_distributions(layout.purelib)
    exposed = Exposed((), (), ())
    if spec is not None:
        main = distributions.get(request.package)
        if main is None or not main.requested:
            raise InstallerError(
                f"{request.label} did not install a package named {request.package}",
                "the package it installed has another name; check the spec",
                log_path=str(ctx.log),
            )
        exposed = _exposed(generation.path, layout, distributions, request)
    for rejected in exposed.rejected:
        ctx.reporter.warn(rejected)
    receipt = make_receipt(
        request,
        interpreter=ctx.interpreter,
        layout=layout,
        distributions=distributions,
        exposed=exposed,
        backend=(ctx.backend.name, ctx.backend.version(ctx.interpreter)),
    )
    save_receipt(generation.path, receipt)
    checkpoint("after-receipt")
    return receipt


def _exposed(
    venv: Path, layout: VenvLayout, distributions: Mapping[str, DistInfo], request: BuildRequest
) -> Exposed:
    """The commands and man pages to expose; refuse a package that has no commands."""
    own = [request.package, *request.injected_apps]
    wanted = list(distributions) if request.include_deps else own
    exposed = read_exposed(venv, layout.purelib, layout.scripts, wanted)
    if exposed.commands:
        return exposed
    others = [d for d in distributions if d not in own and not request.include_deps]
    offered = read_exposed(venv, layout.purelib, layout.scripts, others).commands
    if exposed.rejected:  # every command it offers has a name that may not become a file
        hint = "; ".join(exposed.rejected)
    elif offered:
        hint = f"its dependencies provide {', '.join(c.name for c in offered)}: add --include-deps"
    else:
        hint = "it is a library, not an application"
    raise NoCommandsError(f"{request.package} provides no commands", hint)


def make_receipt(
    request: BuildRequest,
    *,
    interpreter: Interpreter,
    layout: VenvLayout,
    distributions: Mapping[str, DistInfo],
    exposed: Exposed,
    backend: tuple[str, str],
) -> Receipt:
    """What the receipt of a finished build says (pure)."""
    suffix = request.suffix
    commands = tuple(
        ExposedCommand(c.name, exposed_name(c.name, suffix), c.kind, c.distribution)
        for c in exposed.commands
    )
    man_pages = tuple(
        ExposedManPage(m.section, m.name, exposed_man_name(m.name, suffix), m.distribution)
        for m in exposed.man_pages
    )
    spec = request.spec
    main = distributions.get(request.package)
    return Receipt(
        app=request.app,
        package=request.package,
        version=main.version if main is not None else "",
        spec=spec.raw if spec is not None else "",
        spec_kind=spec.kind if spec is not None else "script",
        requirement=spec.requirement if spec is not None else "",
        suffix=suffix,
        python=PythonInfo(**interpreter.to_json()),
        venv=VenvInfo(str(layout.python), str(layout.purelib), str(layout.scripts)),
        backend=backend[0],
        backend_version=backend[1],
        editable=spec is not None and spec.editable,
        include_deps=request.include_deps,
        index=request.index,  # save_receipt keeps its secrets in the credentials file
        injected=request.injected,
        injected_apps=request.injected_apps,
        distributions={d.name: d.version for d in distributions.values()},
        direct_urls=direct_urls((d.name, d.path) for d in distributions.values()),
        commands=commands,
        man_pages=man_pages,
        appx_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
