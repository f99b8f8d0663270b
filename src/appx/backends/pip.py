"""The pip backend: one shared pip per range of target Pythons, never inside an app's venv.

The shared copy is bootstrapped offline, from the pip that appx itself depends on
when that pip supports the target Python, otherwise from the target Python's own
ensurepip wheel. It is run by the app venv's interpreter through pip's runner
script, so pip installs into that venv and writes that interpreter in shebangs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from appx import proc
from appx.backends.base import OnStart, VenvLayout, probe_venv
from appx.backends.pip_isolation import pip_environment
from appx.credentials import redact
from appx.errors import InstallerError, SpecError
from appx.indexes import IndexFlags, IndexOptions
from appx.interpreters import Interpreter
from appx.locks import shared_lock
from appx.paths import AppxPaths
from appx.store import remove_tree

_PIP_FLAGS = ("--no-input", "--disable-pip-version-check", "--no-warn-script-location")


class PipBackend:
    """Installs with a shared copy of pip run by the target venv's interpreter."""

    name = "pip"

    def __init__(self, paths: AppxPaths) -> None:
        self.paths = paths

    def version(self, interpreter: Interpreter) -> str:
        return self._source(interpreter)[0]

    def create_venv(
        self, interpreter: Interpreter, dest: Path, *, log: Path, on_start: OnStart
    ) -> None:
        argv: list[str | os.PathLike[str]] = [
            interpreter.executable,
            "-I",
            "-m",
            "venv",
            "--without-pip",
            dest,
        ]
        if proc.run_logged(argv, log=log, on_start=on_start, redact=redact) != 0:
            raise InstallerError(
                f"could not create a virtual environment with {interpreter.executable}",
                "the interpreter's venv module failed; see the log",
                log_path=str(log),
            )

    def probe(self, venv: Path) -> VenvLayout:
        return probe_venv(venv)

    def install(
        self,
        layout: VenvLayout,
        interpreter: Interpreter,
        requirements: Sequence[str],
        *,
        editable: bool,
        index: IndexOptions,
        log: Path,
        on_start: OnStart,
        constraints: Sequence[str] = (),
    ) -> None:
        first, *others = requirements
        targets = ["-e", first] if editable else [first]
        targets += others
        argv: list[str | os.PathLike[str]] = [
            layout.python,
            self._runner(interpreter),
            "install",
            *_PIP_FLAGS,
        ]
        argv += _index_args(index) + targets
        held = self.paths.apps.scratch_path("constraints")
        for line in constraints:  # a constraint, never an option smuggled into pip's file
            if line.startswith("-") or any(char in line for char in "\r\n"):
                raise SpecError(f"not a constraint: {line!r}", "give name==version")
        if constraints:
            held.write_text("".join(f"{line}\n" for line in constraints), encoding="utf-8")
            argv += ["--constraint", held]
        env = pip_environment()
        try:
            code = proc.run_logged(argv, log=log, env=env, on_start=on_start, redact=redact)
        finally:
            held.unlink(missing_ok=True)
        if code != 0:
            raise InstallerError(
                f"pip failed to install {' '.join(redact(r) for r in requirements)}",
                _last_error_line(log) or "see the log for pip's output",
                log_path=str(log),
            )

    def resolve_name(
        self, interpreter: Interpreter, requirement: str, *, index: IndexOptions, log: Path
    ) -> str:
        """Learn a spec's distribution name from pip's dry-run report, in a scratch venv."""
        return _requested_name(self._dry_run(interpreter, [requirement], index, log, deps=False))

    def resolve(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
    ) -> dict[str, str]:
        """What installing the requirements now would install: name -> version (a dry run)."""
        items = self._dry_run(interpreter, requirements, index, log, deps=True)
        try:
            return {
                canonicalize_name(item["metadata"]["name"]): str(item["metadata"]["version"])
                for item in items
            }
        except (KeyError, TypeError):
            raise InstallerError("pip's dry run reported no versions", "see the log") from None

    def latest(
        self,
        interpreter: Interpreter,
        names: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
        ahead: bool = False,
    ) -> dict[str, str]:
        ahead_flags = ["--python-version", "3.99", "--only-binary=:all:"] if ahead else []
        items = self._dry_run(interpreter, names, index, log, deps=False, extra=ahead_flags)
        try:
            return {
                canonicalize_name(str(item["metadata"]["name"])): str(item["metadata"]["version"])
                for item in items
            }
        except (KeyError, TypeError) as error:
            raise InstallerError("pip's report names no version", str(error)) from None

    def newest(
        self,
        interpreter: Interpreter,
        requirement: str,
        *,
        index: IndexOptions,
        log: Path,
        installed: str | None = None,
    ) -> tuple[str, str] | None:
        # as a Python far ahead would see it; wheels only, as pip requires for that
        ahead = ["--python-version", "3.99", "--only-binary=:all:"]
        try:
            items = self._dry_run(interpreter, [requirement], index, log, deps=False, extra=ahead)
            chosen = next((i for i in items if i.get("requested")), items[0])
            metadata = chosen["metadata"]
            return str(metadata["version"]), str(metadata.get("requires_python") or "")
        except (InstallerError, KeyError, IndexError, TypeError, AttributeError):
            return None

    def _dry_run(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        index: IndexOptions,
        log: Path,
        *,
        deps: bool,
        extra: Sequence[str] = (),
    ) -> list[Any]:
        """pip's report of what it would install, from a scratch venv of the interpreter."""
        scratch = self.paths.apps.scratch_path("resolve")
        try:
            self.create_venv(interpreter, scratch / "venv", log=log, on_start=lambda _: None)
            report = scratch / "report.json"
            argv: list[str | os.PathLike[str]] = [
                scratch / "venv" / "bin" / "python",
                self._runner(interpreter),
                "install",
            ]
            argv += [*_PIP_FLAGS, "--dry-run", "--ignore-installed", "--quiet"]
            argv += [] if deps else ["--no-deps"]
            argv += extra
            argv += ["--report", report, *_index_args(index), *requirements]
            if proc.run_logged(argv, log=log, env=pip_environment(), redact=redact) != 0:
                raise InstallerError(
                    f"pip could not resolve {' '.join(redact(r) for r in requirements)}",
                    _last_error_line(log) or "see the log for pip's output",
                    log_path=str(log),
                )
            return _report_items(report)
        finally:
            remove_tree(scratch)

    def pip_command(self, venv_python: Path, interpreter: Interpreter) -> list[str]:
        """The argv prefix that runs the shared pip against a venv (for ``appx runpip``)."""
        return [os.fspath(venv_python), os.fspath(self._runner(interpreter))]

    def _source(self, interpreter: Interpreter) -> tuple[str, Path]:
        """(pip version, where to copy it from) for a target Python."""
        own = _own_pip()
        if own is not None and own[2].contains(interpreter.version_str):
            return own[0], own[1]
        bundled = _bundled_pip(interpreter)
        if bundled is None:
            raise InstallerError(
                f"no pip that supports Python {interpreter.version_str} is available offline",
                "the interpreter ships no ensurepip wheel; install a newer Python",
            )
        return bundled

    def _runner(self, interpreter: Interpreter) -> Path:
        version, source = self._source(interpreter)
        home = self.paths.shared / f"pip-{version}"
        if not (home / "pip").is_dir():
            with shared_lock(self.paths):
                if not (home / "pip").is_dir():
                    _stage_pip(self.paths, source, home)
        runner = home / "pip" / "__pip-runner__.py"
        return runner if runner.is_file() else home / "pip"


_PIP_INDEX_FLAGS = IndexFlags(
    index_url="--index-url",
    extra_index_url="--extra-index-url",
    find_links="--find-links",
    trusted_host="--trusted-host",
    constraint="--constraint",
    no_index=("--no-index",),
    pre=("--pre",),
)


def _index_args(index: IndexOptions) -> list[str]:
    """pip's arguments for the index options; the pass-through pip args come last."""
    return [*index.argv(_PIP_INDEX_FLAGS), *index.pip_args]


def _own_pip() -> tuple[str, Path, SpecifierSet] | None:
    try:
        dist = metadata.distribution("pip")
    except metadata.PackageNotFoundError:
        return None
    package = Path(str(dist.locate_file("pip")))
    try:
        supported = SpecifierSet(next(iter(dist.metadata.get_all("Requires-Python") or []), ""))
    except InvalidSpecifier:
        return None
    return (dist.version, package, supported) if package.is_dir() else None


def _bundled_pip(interpreter: Interpreter) -> tuple[str, Path] | None:
    result = proc.capture(
        [
            interpreter.executable,
            "-I",
            "-c",
            "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))",
        ]
    )
    places = [Path(result.stdout.strip()) / "_bundled"] if result.returncode == 0 else []
    places.append(Path("/usr/share/python-wheels"))  # Debian moves the wheels here
    wheels = []
    for place in places:
        for wheel in place.glob("pip-*.whl"):
            try:
                wheels.append((Version(wheel.name.split("-")[1]), wheel))
            except InvalidVersion:
                continue
    if not wheels:
        return None
    version, wheel = max(wheels)
    return str(version), wheel


def _stage_pip(paths: AppxPaths, source: Path, home: Path) -> None:
    """Copy or unpack pip into a scratch dir, then rename it into place (atomic)."""
    stage = paths.apps.scratch_path("pip")
    try:
        if source.is_dir():
            shutil.copytree(source, stage / "pip")  # with its bytecode: pip starts faster
        else:
            with zipfile.ZipFile(source) as wheel:
                members = [m for m in wheel.namelist() if m.startswith("pip/")]
                wheel.extractall(stage, members)
        home.parent.mkdir(parents=True, exist_ok=True)
        os.rename(stage, home)
    finally:
        with contextlib.suppress(OSError):
            remove_tree(stage)


def _report_items(report: Path) -> list[Any]:
    try:
        items = json.loads(report.read_text(encoding="utf-8"))["install"]
    except (OSError, ValueError, KeyError, TypeError):
        items = None
    if not isinstance(items, list):
        raise InstallerError("pip's dry run wrote no report", "see the log for pip's output")
    return items


def _requested_name(items: list[Any]) -> str:
    try:
        chosen = next((i for i in items if i.get("requested")), items[0])
        return canonicalize_name(chosen["metadata"]["name"])
    except (KeyError, IndexError, TypeError, AttributeError):
        raise InstallerError(
            "pip's dry run did not name the package", "check that the spec names one project"
        ) from None


HINT_LIMIT = 300


def _last_error_line(log: Path) -> str:
    """pip's first error in the log, made a one-line hint; "" when there is none.

    pip reports a crash as "ERROR: Exception:" and a traceback: the traceback's
    last line (the exception and its message) says what went wrong.
    """
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    start = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), None)
    if start is None:
        return ""
    text = lines[start].removeprefix("ERROR:").strip()
    if not text or text.endswith(":"):
        following = []
        for line in lines[start + 1 :]:
            if line.startswith(("$ ", "ERROR:")):  # appx's next command, or pip's next error
                break
            if line.strip() and not line[0].isspace() and not _is_traceback_frame(line):
                following.append(line.strip())
        text = following[-1] if following else text
    return shorten(text, HINT_LIMIT)


def _is_traceback_frame(line: str) -> bool:
    return line.startswith(
        ("Traceback (most recent call last)", "The above exception", "During handling")
    )


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with '...'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    space = cut.rfind(" ")
    if space > limit // 2:  # a word boundary not too far back; a giant word is cut
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "..."
