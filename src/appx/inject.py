"""Injecting packages into an installed app, and taking them out again.

Both rebuild the app from its receipt with its injected requirements changed: a
new generation through the same change path as install (`change.build_and_commit`),
built with the app's recorded Python, the old generation kept for ``rollback``.
The receipt records the injected requirements (and whose commands are exposed),
so upgrades, reinstalls and rollbacks keep them. Rebuilding without a package
also drops its own dependencies that nothing else needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from appx.backends.base import Backend
from appx.build import BuildContext, BuildRequest, request_from_receipt
from appx.change import rebuild
from appx.credentials import redact
from appx.errors import AppxError, SpecError
from appx.housekeeping import tidy
from appx.inspect import validate_name
from appx.lifecycle import app_backend, current_receipt, recorded_python
from appx.locks import app_locks
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.receipt import Receipt
from appx.specs import AppSpec, parse_spec
from appx.uninstall import normalize_app

InjectStatus = Literal["injected", "uninjected", "unchanged"]


@dataclass(frozen=True)
class InjectResult:
    app: str
    status: InjectStatus
    packages: tuple[str, ...]  # the names injected or uninjected
    old_version: str
    version: str
    commands: tuple[str, ...] = ()  # the app's exposed commands afterwards
    injected: tuple[str, ...] = ()  # every injected requirement afterwards (redacted)


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements file; comments and blank lines skipped.

    pip's option lines (``-r``, ``-e``, ``--index-url``...) are refused: what they
    mean for an app is said with appx's own options, so that the receipt records it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read {path}: {reason}", "check the path") from None
    requirements = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split(" #", 1)[0].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("-"):
            raise SpecError(
                f"{path}:{number}: options are not supported here: {redact(stripped)!r}",
                "list one requirement per line; give index options to 'appx install'",
            )
        requirements.append(stripped)
    return requirements


def inject_packages(
    paths: AppxPaths,
    name: str,
    specs: Sequence[str],
    reporter: Reporter,
    *,
    cwd: Path,
    include_apps: bool = False,
    backend: Backend | None = None,
    environ: Mapping[str, str] | None = None,
) -> InjectResult:
    """Add (or restate) injected requirements: a new generation, the old one kept.

    Injecting a package that is already injected replaces its requirement, and
    ``include_apps`` decides anew whether its commands are exposed.
    """
    if not specs:
        raise SpecError("nothing to inject", "name packages, or give -r requirements.txt")
    paths.check_usable(write=True)
    tidy(paths)
    app = normalize_app(name)
    parsed = [parse_spec(raw, cwd=cwd) for raw in specs]
    with app_locks(paths, [app], reporter.warn):
        receipt = current_receipt(paths, app)
        installer = backend or app_backend(paths, receipt, reporter, _env(environ))
        log = paths.new_log(f"inject-{app}")
        try:
            names = [_name_of(spec, receipt, installer, log) for spec in parsed]
        except AppxError as error:
            if error.log_path is None:
                log.unlink(missing_ok=True)
            raise
        if receipt.package in names:
            log.unlink(missing_ok=True)
            raise SpecError(
                f"{receipt.package} is the app {app} itself", "inject other packages into it"
            )
        new = {n: named(spec, n) for n, spec in zip(names, parsed, strict=True)}
        kept = [r for r in receipt.injected if injected_name(r) not in new]
        apps = [a for a in receipt.injected_apps if a not in new]
        request = replace(
            request_from_receipt(receipt),
            injected=(*kept, *new.values()),
            injected_apps=(*apps, *(new if include_apps else ())),
        )
        return _rebuild(paths, receipt, request, reporter, installer, log, "injected", [*new])


def uninject_packages(
    paths: AppxPaths,
    name: str,
    packages: Sequence[str],
    reporter: Reporter,
    *,
    backend: Backend | None = None,
    environ: Mapping[str, str] | None = None,
) -> InjectResult:
    """Take injected packages out (their commands too): a new generation, the old one kept."""
    if not packages:
        raise SpecError("nothing to uninject", "name the injected packages to take out")
    paths.check_usable(write=True)
    tidy(paths)
    app = normalize_app(name)
    with app_locks(paths, [app], reporter.warn):
        receipt = current_receipt(paths, app)
        remaining = list(receipt.injected)
        gone: list[str] = []
        for package in packages:
            wanted = canonicalize_name(package)
            matches = [r for r in remaining if package == r or injected_name(r) == wanted]
            if not matches and wanted not in gone:
                raise _not_injected(receipt, package)
            remaining = [r for r in remaining if r not in matches]
            gone += [wanted, *filter(None, map(injected_name, matches))]
        request = replace(
            request_from_receipt(receipt),
            injected=tuple(remaining),
            injected_apps=tuple(a for a in receipt.injected_apps if a not in gone),
        )
        log = paths.new_log(f"uninject-{app}")
        installer = backend or app_backend(paths, receipt, reporter, _env(environ))
        names = [*dict.fromkeys(gone)]
        return _rebuild(paths, receipt, request, reporter, installer, log, "uninjected", names)


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _name_of(spec: AppSpec, receipt: Receipt, backend: Backend, log: Path) -> str:
    """The distribution name of a spec to inject, from the spec or else from the installer."""
    found = spec.name or backend.resolve_name(
        recorded_python(receipt), spec.requirement, index=receipt.index, log=log
    )
    return validate_name(canonicalize_name(found), "package name")


def named(spec: AppSpec, name: str) -> str:
    """The requirement to record for an injected spec, with its name in it: a VCS URL or a
    directory whose name needed a build is written `name @ URL`, so it is known by name."""
    if spec.name is not None or spec.kind not in {"vcs", "directory", "url"}:
        return spec.requirement
    url = spec.requirement if spec.kind != "directory" else Path(spec.requirement).as_uri()
    return f"{name} @ {url}"


def injected_name(requirement: str) -> str | None:
    """The distribution name an injected requirement names, when it can be told without a build."""
    try:
        return parse_spec(requirement, cwd=Path("/")).name
    except SpecError:  # a path that is gone since
        return None


def _rebuild(
    paths: AppxPaths,
    receipt: Receipt,
    request: BuildRequest,
    reporter: Reporter,
    backend: Backend,
    log: Path,
    status: InjectStatus,
    names: Sequence[str],
) -> InjectResult:
    """Build and commit ``request`` unless it asks for what the app already holds."""
    if (request.injected, request.injected_apps) == (receipt.injected, receipt.injected_apps):
        log.unlink(missing_ok=True)
        return _result(receipt, receipt, "unchanged", names)
    if receipt.package not in receipt.direct_urls:  # injecting never moves the app itself
        request = replace(request, exact=(f"{receipt.package}=={receipt.version}",))
    new = rebuild(paths, request, BuildContext(backend, recorded_python(receipt), reporter, log))
    assert new is not None  # noqa: S101 -- committed, or an exception went out
    return _result(receipt, new, status, names)


def _result(old: Receipt, new: Receipt, status: InjectStatus, names: Sequence[str]) -> InjectResult:
    return InjectResult(
        new.app,
        status,
        tuple(names),
        old.version,
        new.version,
        tuple(c.exposed_as for c in new.commands),
        tuple(map(redact, new.injected)),
    )


def _not_injected(receipt: Receipt, package: str) -> SpecError:
    injected = [injected_name(r) or redact(r) for r in receipt.injected]
    hint = (
        f"injected into {receipt.app}: {', '.join(injected)}"
        if injected
        else f"nothing is injected into {receipt.app}"
    )
    return SpecError(f"{package} is not injected into {receipt.app}", hint)
