"""What `appx doctor` finds: each installed app checked against its receipt, and the home.

Checks only read (and run each distinct interpreter once, with a time limit); they
return `Problem` records, each with the fix `appx doctor --fix` would apply
(`appx.doctor_fix`) or why there is none. The home-wide checks live in
`appx.doctor_home`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from appx import proc
from appx.errors import NewerReceiptError, NotInstalledError, PythonNotFoundError, ReceiptError
from appx.inspect import installed_distributions
from appx.interpreters import Interpreter, RequestedBy, find_python
from appx.links import scan_links
from appx.linkstate import Scanned, stray_links
from appx.listing import exposed_statuses
from appx.locks import bin_lock
from appx.receipt import Receipt, load_receipt
from appx.uninstall import normalize_app

if TYPE_CHECKING:
    from appx.paths import AppxPaths

ProblemKind = Literal[
    "receipt-unreadable",
    "receipt-newer",
    "python-missing",
    "python-broken",
    "venv-python-broken",
    "distributions-differ",
    "link-missing",
    "link-dangling",
    "link-blocked",
    "link-taken",
    "link-stray",
    "orphan-link",
    "leftover-build",
    "garbage-generation",
    "half-built",
    "tmp-leftover",
    "displaced-index",
    "displaced-stranded",
    "shared-pip",
    "run-env",
]
# How --fix mends a problem; None: it cannot (the problem's `fix` says why and what to do).
FixAction = Literal[
    "rebuild", "links", "garbage", "tmp", "displaced-index", "shared-pip", "run-env"
]

RUN_TIMEOUT = 10.0  # seconds an interpreter may take to say its version
_VERSION_SCRIPT = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where, and what --fix does about it (``action`` None: nothing)."""

    app: str | None
    kind: ProblemKind
    path: str | None
    message: str
    fix: str
    action: FixAction | None = None

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        """What the same problem found again after a fix has in common with this one."""
        return (self.app, self.kind, self.path)


@dataclass(frozen=True)
class Rebuild:
    """How a broken app would be rebuilt: on ``python`` (None: its recorded Python, which
    runs), or not at all (``missing`` says which Python is needed and what to do)."""

    app: str
    python: Interpreter | None = None
    missing: str = ""


@dataclass(frozen=True)
class Diagnosis:
    problems: tuple[Problem, ...] = ()
    rebuilds: Mapping[str, Rebuild] = field(default_factory=dict)


def diagnose(
    paths: AppxPaths,
    names: Sequence[str],
    environ: Mapping[str, str],
    on_wait: Callable[[str], None] | None = None,
) -> Diagnosis:
    """Check the apps named (every app, and then the home too, when none is named)."""
    from appx import doctor_home  # the home-wide checks

    paths.check_usable(write=False)
    apps = [_installed(paths, name) for name in dict.fromkeys(names)] or paths.apps.installed()
    found: list[Problem] = []
    receipts: dict[str, Receipt] = {}
    with _links_steady(paths, on_wait):  # no change flips or links meanwhile
        scanned = list(scan_links(paths))
        for app in apps:
            receipt = _receipt(paths, app, found)
            if receipt is not None:
                receipts[app] = receipt
                found += link_problems(paths, receipt, scanned)
        if not names:
            found += doctor_home.link_problems(paths, scanned)
    rebuilds: dict[str, Rebuild] = {}
    runs: dict[str, str | None] = {}  # executable -> the version it says, None: it does not run
    for app, receipt in receipts.items():
        broken = environment_problems(receipt, lambda exe: _runs(exe, environ, runs))
        if broken:
            plan = plan_rebuild(receipt, broken, environ)
            rebuilds[app] = plan
            found += [_with_fix(p, plan, receipt) for p in broken]
    # a dangling link means its command is gone from the environment: a rebuild mends it
    for problem in found:
        if problem.kind == "link-dangling" and problem.app and problem.app not in rebuilds:
            receipt = receipts[problem.app]
            rebuilds[problem.app] = plan_rebuild(receipt, [problem], environ)
    found = [
        _with_fix(p, rebuilds[p.app], receipts[p.app]) if p.kind == "link-dangling" and p.app else p
        for p in found
    ]
    if not names:
        found += doctor_home.home_problems(paths, environ)
    return Diagnosis(tuple(found), rebuilds)


def _installed(paths: AppxPaths, name: str) -> str:
    app = normalize_app(name)
    if paths.apps.read_current(app) is None:
        raise NotInstalledError(f"{app} is not installed", "run 'appx list' to see installed apps")
    return app


@contextlib.contextmanager
def _links_steady(paths: AppxPaths, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """Hold the bin lock while links are read; without it where it cannot be taken (a
    read-only home can still be checked)."""
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):
            stack.enter_context(bin_lock(paths, on_wait))
        yield


def _receipt(paths: AppxPaths, app: str, found: list[Problem]) -> Receipt | None:
    current = paths.apps.read_current(app)
    if current is None:  # uninstalled since the list was read
        return None
    try:
        return load_receipt(current.path)
    except NewerReceiptError as error:
        found.append(
            Problem(
                app,
                "receipt-newer",
                str(current.path),
                error.message,
                "none: a receipt of a newer appx is never rewritten; use that appx, or"
                f" `appx uninstall {app}`",
            )
        )
    except ReceiptError as error:
        found.append(
            Problem(
                app,
                "receipt-unreadable",
                str(current.path),
                error.message,
                f"none: rebuild it with `appx install --force <spec>`, or `appx uninstall {app}`",
            )
        )
    return None


def link_problems(paths: AppxPaths, receipt: Receipt, scanned: Scanned) -> list[Problem]:
    """Each link the receipt lists that is not in place, and the app's stray links."""
    app = receipt.app
    found = []
    for status in exposed_statuses(paths, receipt):
        if status.state == "missing":
            found.append(
                Problem(
                    app, "link-missing", status.path, "link missing", "would recreate it", "links"
                )
            )
        elif status.state == "dangling":
            found.append(
                Problem(
                    app, "link-dangling", status.path, "link dangling (its command is gone)", ""
                )
            )
        elif status.state in {"blocked", "taken"}:
            kind: ProblemKind = "link-blocked" if status.state == "blocked" else "link-taken"
            found.append(
                Problem(
                    app,
                    kind,
                    status.path,
                    f"link {status.state} by {status.detail}",
                    "none: not appx's to remove; `appx install --force"
                    f" {receipt.spec or receipt.package}` moves it aside",
                )
            )
    for path in stray_links(paths, receipt, scanned):
        found.append(
            Problem(
                app,
                "link-stray",
                str(path),
                "stray link (not a command of the current generation)",
                "would remove the link",
                "links",
            )
        )
    return found


def environment_problems(receipt: Receipt, runs: Callable[[str], str | None]) -> list[Problem]:
    """What is wrong with the app's interpreters and distributions; ``runs`` says the version
    an interpreter reports, or None when it does not run."""
    app, python = receipt.app, receipt.python
    wanted = minor_of(python.version)
    if not os.path.exists(python.executable):
        return [_rebuild(app, "python-missing", python.executable, "its Python is missing")]
    said = runs(python.executable)
    if said is None:
        return [_rebuild(app, "python-broken", python.executable, "its Python does not run")]
    if minor_of(said) != wanted:
        message = f"its Python is now {said} (built on {python.version})"
        return [_rebuild(app, "python-broken", python.executable, message)]
    venv_said = runs(receipt.venv.python) if os.path.exists(receipt.venv.python) else None
    if venv_said is None:
        message = "its environment's Python does not run"
        return [_rebuild(app, "venv-python-broken", receipt.venv.python, message)]
    return distribution_problems(receipt)


def distribution_problems(receipt: Receipt) -> list[Problem]:
    """Whether the distributions installed are the ones the receipt lists, at its versions."""
    found = installed_distributions(Path(receipt.venv.purelib))
    installed = {d.name: d.version for d in found.values()}
    recorded = receipt.distributions
    if installed == recorded:
        return []
    differences = []
    for name in sorted(set(recorded) | set(installed)):
        have, want = installed.get(name), recorded.get(name)
        if have is None:
            differences.append(f"{name} {want} is missing")
        elif want is None:
            differences.append(f"{name} {have} is not in the receipt")
        elif have != want:
            differences.append(f"{name} is {have}, not {want}")
    message = "its distributions differ from the receipt: " + "; ".join(differences)
    return [_rebuild(receipt.app, "distributions-differ", receipt.venv.purelib, message)]


def _rebuild(app: str, kind: ProblemKind, path: str, message: str) -> Problem:
    return Problem(app, kind, path, message, "", "rebuild")


def plan_rebuild(
    receipt: Receipt, problems: Sequence[Problem], environ: Mapping[str, str]
) -> Rebuild:
    """On which Python a broken app is rebuilt: its own while it runs at the recorded
    version, else another of the same major.minor (PATH, pyenv, uv), found again."""
    if not any(p.kind in {"python-missing", "python-broken"} for p in problems):
        return Rebuild(receipt.app)
    needed = minor_of(receipt.python.version)
    try:
        found = find_python(needed, environ=environ)
    except PythonNotFoundError:
        return Rebuild(
            receipt.app,
            missing=f"Python {needed} is needed to rebuild {receipt.app}: install it, or"
            f" `appx reinstall {receipt.app} --python 3.X` to move it to another Python",
        )
    # the app keeps what was asked for; only the path it was found at changes
    by = receipt.python.requested_by
    asked: RequestedBy = by if by in get_args(RequestedBy) else "--python"  # type: ignore[assignment]
    return Rebuild(
        receipt.app,
        replace(found, requested=receipt.python.requested or needed, requested_by=asked),
    )


def _with_fix(problem: Problem, plan: Rebuild, receipt: Receipt) -> Problem:
    if plan.missing:
        return replace(problem, fix=f"cannot rebuild: {plan.missing}", action=None)
    if plan.python is None:
        where = f"its Python {receipt.python.version}"
    else:
        where = f"Python {minor_of(receipt.python.version)} (found: {plan.python.executable})"
    fix = f"would rebuild {receipt.app} at the recorded versions on {where}"
    return replace(problem, fix=fix, action="rebuild")


def minor_of(version: str) -> str:
    """``3.11`` for ``3.11.7``."""
    return ".".join(version.split(".")[:2])


def _runs(executable: str, environ: Mapping[str, str], seen: dict[str, str | None]) -> str | None:
    """The version an interpreter reports, None when it does not run (asked once each)."""
    if executable not in seen:
        result = proc.capture(
            [executable, "-E", "-s", "-c", _VERSION_SCRIPT],
            env=proc.clean_env(environ),
            timeout=RUN_TIMEOUT,
        )
        said = result.stdout.strip()
        seen[executable] = said if result.returncode == 0 and said else None
    return seen[executable]
