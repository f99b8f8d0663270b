"""A fake installer backend: it "installs" by writing dist-info files, and starts nothing.

It lets the install, uninstall, reconcile and listing decisions run in-process and
fast. A package is described by a `FakePackage`; `install` writes what pip would
leave for it in the venv: a .dist-info directory (METADATA, RECORD, entry_points.txt,
REQUESTED for the requested one), its scripts in bin/ and its man pages.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from appx.backends.base import OnStart, VenvLayout
from appx.errors import InstallerError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter

PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass(frozen=True)
class FakePackage:
    name: str
    version: str = "1.0"
    commands: Sequence[str] = ()
    man_pages: Sequence[str] = ()  # "man1/tool.1"
    dependencies: Sequence[str] = ()
    metadata_name: str | None = None  # METADATA's Name, when it differs from `name`
    marks_requested: bool = True  # whether installing it as asked writes REQUESTED
    requires_python: str = ""


def this_interpreter() -> Interpreter:
    """The Python running the tests, as interpreter discovery would report it."""
    version = sys.version_info
    return Interpreter(
        sys.executable,
        Path(sys.executable),
        (version[0], version[1], version[2]),
        "cpython",
        requested_by="appx",
        markers={key: str(value) for key, value in default_environment().items()},
    )


@dataclass
class FakeBackend:
    """Installs `FakePackage`s by name; `hooks` run at a named step ("venv", "install")."""

    packages: Mapping[str, FakePackage]
    releases: dict[str, list[FakePackage]] = field(default_factory=dict)  # more versions
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    installs: list[list[str]] = field(default_factory=list)
    questions: list[tuple[str, list[str]]] = field(default_factory=list)  # resolve, newest
    constraints: dict[str, Requirement] = field(default_factory=dict)
    python: str = ""  # the Python of the install in progress
    name: str = "fake"

    def version(self, interpreter: Interpreter) -> str:
        return "0.0"

    def create_venv(
        self, interpreter: Interpreter, dest: Path, *, log: Path, on_start: OnStart
    ) -> None:
        self._hook("venv", dest.parent.name)
        (dest / "bin").mkdir(parents=True)
        (dest / "lib" / PY / "site-packages").mkdir(parents=True)
        (dest / "bin" / "python").symlink_to(interpreter.executable)
        (dest / "pyvenv.cfg").write_text(f"home = {interpreter.executable.parent}\n")

    def probe(self, venv: Path) -> VenvLayout:
        return VenvLayout(
            venv / "bin" / "python", venv / "lib" / PY / "site-packages", venv / "bin"
        )

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
        self.installs.append(list(requirements))
        held: dict[str, Requirement] = {
            canonicalize_name(Requirement(c).name): Requirement(c) for c in constraints
        }
        self.python, self.constraints = interpreter.version_str, held  # the last, for tests
        self._hook("install", canonicalize_name(Requirement(requirements[0]).name))
        for requirement in requirements:
            self._install(
                layout, Requirement(requirement), True, log, interpreter.version_str, held
            )

    def resolve(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
    ) -> dict[str, str]:
        self.questions.append(("resolve", list(requirements)))
        found: dict[str, str] = {}
        pending = [Requirement(r) for r in requirements]
        while pending:
            package = self._newest(pending.pop())
            if package is not None:
                found[canonicalize_name(package.name)] = package.version
                pending += [Requirement(d) for d in package.dependencies]
        return found

    def latest(
        self,
        interpreter: Interpreter,
        names: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
        ahead: bool = False,
    ) -> dict[str, str]:
        self.questions.append(("latest-ahead" if ahead else "latest", list(names)))
        found: dict[str, str] = {}
        for name in names:
            package = self._newest(Requirement(name), python=None if ahead else "")
            if package is None:
                raise InstallerError(f"no package matches {name}", "", log_path=str(log))
            found[canonicalize_name(name)] = package.version
        return found

    def newest(
        self,
        interpreter: Interpreter,
        requirement: str,
        *,
        index: IndexOptions,
        log: Path,
        installed: str | None = None,
    ) -> tuple[str, str] | None:
        self.questions.append(("newest", [requirement]))
        package = self._newest(Requirement(requirement), python=None)
        return None if package is None else (package.version, package.requires_python)

    def resolve_name(
        self, interpreter: Interpreter, requirement: str, *, index: IndexOptions, log: Path
    ) -> str:
        return canonicalize_name(Requirement(requirement).name)

    def _hook(self, step: str, subject: str) -> None:
        """Run the hook of this step for this package or app ("install:tool"), or else the
        hook of the step ("install")."""
        hook = self.hooks.get(f"{step}:{subject}") or self.hooks.get(step)
        if hook is not None:
            hook()

    def _install(
        self,
        layout: VenvLayout,
        requirement: Requirement,
        requested: bool,
        log: Path,
        python: str,
        held: Mapping[str, Requirement],
    ) -> None:
        package = self._newest(requirement, python=python, held=held)
        if package is None:
            raise InstallerError(f"no package matches {requirement}", "", log_path=str(log))
        for dependency in package.dependencies:
            self._install(layout, Requirement(dependency), False, log, python, held)
        write_dist(layout, package, requested=requested)

    def _newest(
        self,
        requirement: Requirement,
        *,
        python: str | None = "",
        held: Mapping[str, Requirement] | None = None,
    ) -> FakePackage | None:
        """The newest release of the requirement's project that its specifier accepts (and
        whose Requires-Python accepts ``python``; None: any Python; "": the tests' own)."""
        python = platform.python_version() if python == "" else python
        name = canonicalize_name(requirement.name)
        known = [*self.releases.get(name, ()), *filter(None, [self.packages.get(name)])]
        pinned_to = (held or {}).get(name)
        fitting = [
            p
            for p in known
            if requirement.specifier.contains(p.version, prereleases=True)
            and (pinned_to is None or pinned_to.specifier.contains(p.version, prereleases=True))
            and (python is None or SpecifierSet(p.requires_python).contains(python))
        ]
        return max(fitting, key=lambda p: Version(p.version), default=None)


def write_dist(layout: VenvLayout, package: FakePackage, *, requested: bool) -> None:
    """Write what pip leaves in a venv for `package`."""
    # cut long names: METADATA, not the directory name, says what the distribution is
    stem = f"{canonicalize_name(package.name).replace('-', '_')[:100]}-{package.version}"
    info = layout.purelib / f"{stem}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package.metadata_name or package.name}\n"
        f"Version: {package.version}\n\n"
    )
    lines = ["[console_scripts]", *(f"{c} = mod:main" for c in package.commands)]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    record = [f"{info.name}/METADATA,,", f"{info.name}/entry_points.txt,,"]
    for command in package.commands:
        script = layout.scripts / command
        script.write_text(f'#!/bin/sh\necho {package.name} {package.version} "$@"\n')
        script.chmod(0o755)
        record.append(f"{os.path.relpath(script, layout.purelib)},,")
    venv = layout.python.parent.parent
    for page in package.man_pages:
        path = venv / "share" / "man" / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f".TH {package.name}\n")
        record.append(f"{os.path.relpath(path, layout.purelib)},,")
    if requested and package.marks_requested:
        (info / "REQUESTED").write_text("")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def two_versions_of_tool() -> FakeBackend:
    """`tool` 1.0 (commands tool-a, tool-b) and 2.0 (tool-a, tool-c), and `other` 1.0."""
    return FakeBackend(
        {"other": FakePackage("other", "1.0", commands=["other"])},
        releases={
            "tool": [
                FakePackage("tool", "1.0", commands=["tool-a", "tool-b"]),
                FakePackage("tool", "2.0", commands=["tool-a", "tool-c"]),
            ]
        },
    )
