"""The uv backend: venvs and installs through uv, files linked from uv's own cache.

uv runs as a child like pip (own session, output to the log, secrets hidden) with
no configuration file (``--no-config``: a ``uv.toml`` cannot move an install) and
an environment cleaned of the variables that would redirect an install. The user's
pip index settings reach uv as uv's variables, unless the user set uv's own, so
both backends fetch from the same places. Bytecode is always compiled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from appx import proc
from appx.backends.base import OnStart, VenvLayout, probe_venv
from appx.backends.uv_args import Untranslatable, index_args
from appx.backends.uv_env import uv_environment
from appx.backends.uv_output import last_error_line, parse_compiled, parse_dry_run
from appx.credentials import redact
from appx.errors import InstallerError, SpecError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter
from appx.paths import AppxPaths
from appx.store import remove_tree


class UvBackend:
    """Installs with uv, from a uv binary found and checked by backend selection."""

    name = "uv"

    def __init__(self, paths: AppxPaths, uv: Path, version: str) -> None:
        self.paths = paths
        self.uv = uv
        self._version = version
        self._env: dict[str, str] | None = None
        self._made: dict[Path, Interpreter] = {}  # venvs this backend made, for probe

    def version(self, interpreter: Interpreter) -> str:
        return self._version

    @property
    def env(self) -> dict[str, str]:
        if self._env is None:  # reads pip's configuration files: once per backend
            self._env = uv_environment()
        return self._env

    def create_venv(
        self, interpreter: Interpreter, dest: Path, *, log: Path, on_start: OnStart
    ) -> None:
        argv: list[str | os.PathLike[str]] = ["venv", "--no-project", "--python"]
        argv += [interpreter.executable, dest]
        if self._run(argv, log, on_start) != 0:
            raise InstallerError(
                f"uv could not create a virtual environment with {interpreter.executable}",
                last_error_line(log) or "see the log for uv's output",
                log_path=str(log),
            )
        self._made[dest] = interpreter

    def probe(self, venv: Path) -> VenvLayout:
        """A CPython venv that uv just made has the standard layout, seen on disk without
        starting its Python (uv runs it anyway to install); anything else is probed."""
        made = self._made.pop(venv, None)
        if made is not None and made.implementation == "cpython":
            major, minor = made.version[:2]
            purelib = venv / "lib" / f"python{major}.{minor}" / "site-packages"
            python = venv / "bin" / "python"
            if purelib.is_dir() and not purelib.is_symlink() and os.path.lexists(python):
                return VenvLayout(python, purelib, venv / "bin")
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
        argv: list[str | os.PathLike[str]] = [
            "pip",
            "install",
            "--python",
            layout.python,
            "--compile-bytecode",
            *_index_args(index),
            *targets,
            *others,
        ]
        for line in constraints:  # a constraint, never an option smuggled into uv's file
            if line.startswith("-") or any(char in line for char in "\r\n"):
                raise SpecError(f"not a constraint: {line!r}", "give name==version")
        held = self.paths.apps.scratch_path("constraints")
        if constraints:
            held.write_text("".join(f"{line}\n" for line in constraints), encoding="utf-8")
            argv += ["--constraint", held]
        try:
            code = self._run(argv, log, on_start)
        finally:
            held.unlink(missing_ok=True)
        if code != 0:
            raise InstallerError(
                f"uv failed to install {' '.join(redact(r) for r in requirements)}",
                last_error_line(log) or "see the log for uv's output",
                log_path=str(log),
            )

    def resolve_name(
        self, interpreter: Interpreter, requirement: str, *, index: IndexOptions, log: Path
    ) -> str:
        """A spec's distribution name, from a dry run of it alone into a scratch venv."""
        found = self._dry_run(interpreter, [requirement], index, log, ["--no-deps"])
        if len(found) != 1:
            raise InstallerError(
                "uv's dry run did not name the package", "check that the spec names one project"
            )
        return next(iter(found))

    def resolve(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
    ) -> dict[str, str]:
        """What installing the requirements now would install, installing nothing.

        Requirements by name are resolved by `uv pip compile` for the interpreter (one
        process, no venv). One from a path or URL takes a dry run into a scratch venv, and
        pip's if uv names no version for it.
        """
        if all(_by_name(r) for r in requirements):
            return self._compile(interpreter, requirements, index, log, [])
        found = self._dry_run(interpreter, requirements, index, log, [])
        if all(found.values()):
            return found
        from appx.backends.pip import PipBackend

        return PipBackend(self.paths).resolve(interpreter, requirements, index=index, log=log)

    def _compile(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        index: IndexOptions,
        log: Path,
        extra: Sequence[str],
    ) -> dict[str, str]:
        """uv's resolution of requirements by name, as ``name==version`` lines."""

        def argv_in(scratch: Path) -> list[str | os.PathLike[str]]:
            wanted = scratch / "requirements.in"
            wanted.write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
            argv: list[str | os.PathLike[str]] = ["pip", "compile", "--python"]
            argv += [interpreter.executable, "--no-header", "--no-annotate", *extra]
            return [*argv, *_index_args(index), wanted]

        return parse_compiled(self._ask_uv("compile", requirements, log, argv_in))

    def _dry_run(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        index: IndexOptions,
        log: Path,
        extra: Sequence[str],
    ) -> dict[str, str]:
        """What uv would install into a fresh venv: name -> version ("" from a path or URL)."""

        def argv_in(scratch: Path) -> list[str | os.PathLike[str]]:
            venv = scratch / "venv"
            self.create_venv(interpreter, venv, log=log, on_start=lambda _: None)
            argv: list[str | os.PathLike[str]] = ["pip", "install", "--dry-run", *extra]
            return [*argv, "--python", venv / "bin" / "python", *_index_args(index), *requirements]

        return parse_dry_run(self._ask_uv("resolve", requirements, log, argv_in))

    def _ask_uv(
        self,
        kind: str,
        requirements: Sequence[str],
        log: Path,
        argv_in: Callable[[Path], list[str | os.PathLike[str]]],
    ) -> str:
        """uv's output for a question that installs nothing, asked in a scratch dir (gone
        after) that ``argv_in`` may fill first."""
        scratch = self.paths.apps.scratch_path(kind)
        try:
            scratch.mkdir(parents=True)
            code, output = self._run_read(argv_in(scratch), log, scratch)
        finally:
            remove_tree(scratch)
        if code != 0:
            raise InstallerError(
                f"uv could not resolve {' '.join(redact(r) for r in requirements)}",
                last_error_line(log) or "see the log for uv's output",
                log_path=str(log),
            )
        return output

    def latest(
        self,
        interpreter: Interpreter,
        names: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
        ahead: bool = False,
    ) -> dict[str, str]:
        flags = ["--no-deps", "--no-build"]
        flags += ["--python-version", "3.99"] if ahead else []
        return self._compile(interpreter, names, index, log, flags)

    def newest(
        self,
        interpreter: Interpreter,
        requirement: str,
        *,
        index: IndexOptions,
        log: Path,
        installed: str | None = None,
    ) -> tuple[str, str] | None:
        """The newest wheel for a Python far ahead, from one `uv pip compile`; when that is
        newer than ``installed`` (or a name cannot be compiled), pip's answer, which has the
        Requires-Python that uv does not report."""
        if installed is not None and _by_name(requirement):
            ahead = ["--no-deps", "--no-build", "--python-version", "3.99"]
            try:
                found = self._compile(interpreter, [requirement], index, log, ahead)
            except InstallerError:
                found = {}
            version = found.get(canonicalize_name(Requirement(requirement).name))
            if version is not None and not _newer(version, installed):
                return version, ""
        from appx.backends.pip import PipBackend

        return PipBackend(self.paths).newest(interpreter, requirement, index=index, log=log)

    def _run(
        self, argv: Sequence[str | os.PathLike[str]], log: Path, on_start: OnStart | None
    ) -> int:
        command = [self.uv, "--no-config", "--color", "never", *argv]
        return proc.run_logged(command, log=log, env=self.env, on_start=on_start, redact=redact)

    def _run_read(
        self, argv: Sequence[str | os.PathLike[str]], log: Path, scratch: Path
    ) -> tuple[int, str]:
        """Run uv with its output in a file of its own, then add that to the log."""
        own = scratch / "uv.log"
        code = self._run(argv, own, None)
        output = own.read_text(encoding="utf-8", errors="replace") if own.is_file() else ""
        with log.open("a", encoding="utf-8") as sink:
            sink.write(output)
        return code, output


def _by_name(requirement: str) -> bool:
    """Whether a requirement names a project on an index (not a path or URL)."""
    try:
        return Requirement(requirement).url is None
    except InvalidRequirement:
        return False


def _newer(version: str, than: str) -> bool:
    try:
        return Version(version) > Version(than)
    except InvalidVersion:
        return version != than


def _index_args(index: IndexOptions) -> list[str]:
    args = index_args(index)
    if isinstance(args, Untranslatable):  # selection gives these to pip: not reached
        raise InstallerError(args.describe(), "build this app with pip: --backend pip")
    return args
