"""Whether an upgrade would change an app, asked once for every app that asks the same.

What an upgrade means: the app is rebuilt from its receipt with the app's own
version specifier dropped (and its injected packages', with
``--include-injected``), resolved afresh on the app's Python from its index
options. So the app and every one of its dependencies move to the newest releases
that the requirements allow; the new generation is kept only when it differs.

An app installed by name is up to date when a fresh resolution of that request
(`Backend.resolve`, a dry run that installs nothing) would install exactly the
versions its receipt records: then nothing is built. `UpgradeChecks` asks each
distinct request once per call, however many apps share it (an app and its
``--suffix`` twins, or upgrade-all's apps): once for the resolution, and once for
the newest release for any Python (`Backend.newest`, which says why an app that
did not move is held back). An app from a path or URL, or holding a distribution
from one, is always rebuilt: its code may change under one version number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from appx import signals
from appx.backends.base import Backend
from appx.build import BuildRequest
from appx.errors import AppxError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter
from appx.paths import AppxPaths
from appx.receipt import Receipt

Value = TypeVar("Value")
Newest = tuple[str, str] | None

_TICK = 0.05


@dataclass(frozen=True)
class Question:
    """One distinct question to a backend: the same answer serves every app that asks it."""

    what: str  # "resolve" or "newest"
    backend: str
    python: str
    requirements: tuple[str, ...]
    index: IndexOptions
    installed: str = ""  # newest: the version the asking app has (see Backend.newest)


@dataclass
class _Answer(Generic[Value]):
    done: threading.Event = field(default_factory=threading.Event)
    value: Value | None = None
    error: BaseException | None = None


class UpgradeChecks:
    """The answers of one command's upgrade checks, each asked once (threads wait for it)."""

    def __init__(self, paths: AppxPaths) -> None:
        self.paths = paths
        self._lock = threading.Lock()
        self._answers: dict[Question, _Answer[object]] = {}
        # (Python, index) -> (every distribution, the apps' own projects) of expected apps
        self._expected: dict[tuple[str, IndexOptions], tuple[set[str], set[str]]] = {}

    def expect(self, apps: Iterable[tuple[Receipt, BuildRequest]]) -> None:
        """Name the apps that will ask, before they do: then one question per Python and
        index ("is each of these distributions at its newest release?") covers them all,
        and only an app with something newer needs a resolution of its own."""
        for receipt, request in apps:
            if not can_tell(receipt, request) or request.spec is None:
                continue
            key = (receipt.python.executable, request.index)
            distributions, projects = self._expected.setdefault(key, (set(), set()))
            distributions.update(canonicalize_name(name) for name in receipt.distributions)
            projects.add(canonicalize_name(Requirement(request.spec.requirement).name))

    def up_to_date(
        self, backend: Backend, interpreter: Interpreter, receipt: Receipt, request: BuildRequest
    ) -> bool:
        """Whether an upgrade by ``request`` would install what ``receipt`` records (False
        when that cannot be told without building)."""
        if not can_tell(receipt, request):
            return False
        latest = self._latest(backend, interpreter, request.index, ahead=False)
        if latest is not None and same_versions(
            {name: latest.get(canonicalize_name(name), "") for name in receipt.distributions},
            receipt.distributions,
        ):
            return True  # everything at its newest release: a resolution picks the same
        return same_versions(self.resolved(backend, interpreter, request), receipt.distributions)

    def resolved(
        self, backend: Backend, interpreter: Interpreter, request: BuildRequest
    ) -> dict[str, str]:
        """What building ``request`` now would install (name -> version), installing nothing."""
        question = self._question("resolve", backend, interpreter, request.requirements, request)
        resolved = self._ask(
            question,
            lambda log: backend.resolve(
                interpreter, request.requirements, index=request.index, log=log
            ),
        )
        assert isinstance(resolved, dict)  # noqa: S101 -- what resolve returns
        return resolved

    def held_back(
        self, backend: Backend, interpreter: Interpreter, receipt: Receipt, request: BuildRequest
    ) -> str:
        """Why an app with nothing newer for its Python is not at the newest release: "newer
        releases (2.0) need Python >=3.12", or "" when it is (or when that cannot be told)."""
        if request.spec is None or request.spec.kind != "name":
            return ""
        requirement = request.spec.requirement
        ahead = self._latest(backend, interpreter, request.index, ahead=True)
        newest_ahead = (ahead or {}).get(canonicalize_name(Requirement(requirement).name))
        if newest_ahead is not None and not _newer(newest_ahead, receipt.version):
            return ""
        question = self._question("newest", backend, interpreter, [requirement], request)
        question = replace(question, installed=receipt.version)
        newest = self._ask(
            question,
            lambda log: backend.newest(
                interpreter, requirement, index=request.index, log=log, installed=receipt.version
            ),
        )
        if newest is None:
            return ""
        assert isinstance(newest, tuple)  # noqa: S101 -- what newest returns
        version, requires_python = newest
        if not _newer(version, receipt.version):
            return ""
        return f"newer releases ({version}) need Python {requires_python or 'of another version'}"

    def _latest(
        self, backend: Backend, interpreter: Interpreter, index: IndexOptions, *, ahead: bool
    ) -> dict[str, str] | None:
        """The newest releases of what the expected apps of this Python and index hold (with
        ``ahead``: of their own projects, for a Python far ahead); None when no app was
        expected or the question failed (each app then asks on its own)."""
        question = self._latest_question(backend, interpreter, index, ahead=ahead)
        if question is None:
            return None
        names = question.requirements
        try:
            answer = self._ask(
                question,
                lambda log: backend.latest(interpreter, names, index=index, log=log, ahead=ahead),
            )
        except AppxError:
            return None
        assert isinstance(answer, dict)  # noqa: S101 -- what latest returns
        return answer

    def _latest_question(
        self, backend: Backend, interpreter: Interpreter, index: IndexOptions, *, ahead: bool
    ) -> Question | None:
        python = str(interpreter.executable)
        group = self._expected.get((python, index))
        if group is None:
            return None
        names = tuple(sorted(group[1] if ahead else group[0]))
        return Question("latest-ahead" if ahead else "latest", backend.name, python, names, index)

    def _question(
        self,
        what: str,
        backend: Backend,
        interpreter: Interpreter,
        requirements: list[str],
        request: BuildRequest,
    ) -> Question:
        python = str(interpreter.executable)
        return Question(what, backend.name, python, tuple(requirements), request.index)

    def _ask(self, question: Question, ask: Callable[[Path], object]) -> object:
        """The answer to ``question``: asked here if nobody asked it yet, else waited for."""
        with self._lock:
            answer = self._answers.get(question)
            mine = answer is None
            if answer is None:
                answer = self._answers[question] = _Answer()
        if mine:
            log = self.paths.new_log(f"check-{_label(question)}")
            try:
                answer.value = ask(log)
            except BaseException as error:
                answer.error = error
                if not isinstance(error, AppxError) or error.log_path is None:
                    log.unlink(missing_ok=True)
                raise
            finally:
                answer.done.set()
            log.unlink(missing_ok=True)
            return answer.value
        while not answer.done.wait(_TICK):
            signals.poll()
        if isinstance(answer.error, AppxError):  # each app reports it: a copy of its own
            first = answer.error
            raise type(first)(first.message, first.hint, log_path=first.log_path)
        if answer.error is not None:
            raise KeyboardInterrupt if isinstance(answer.error, KeyboardInterrupt) else answer.error
        return answer.value


def can_tell(receipt: Receipt, request: BuildRequest) -> bool:
    """Whether a dry run can tell that an upgrade changes nothing: an app installed by name,
    holding no distribution from a path or URL."""
    return request.spec is not None and request.spec.kind == "name" and not receipt.direct_urls


def same_versions(resolved: Mapping[str, str], installed: Mapping[str, str]) -> bool:
    """Whether two name -> version maps hold the same distributions at the same versions."""
    left = {canonicalize_name(name): version for name, version in resolved.items()}
    right = {canonicalize_name(name): version for name, version in installed.items()}
    if left.keys() != right.keys():
        return False
    return all(_same_version(left[name], right[name]) for name in left)


def _newer(version: str, than: str) -> bool:
    try:
        return Version(version) > Version(than)
    except InvalidVersion:
        return False


def _same_version(one: str, other: str) -> bool:
    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return one == other


def _label(question: Question) -> str:
    first = question.requirements[0] if question.requirements else "request"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in first)[:60]
