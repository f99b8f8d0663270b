"""The backend contract: create a venv, install into it, resolve a spec's name."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from appx import proc
from appx.errors import InstallerError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter


@dataclass(frozen=True)
class VenvLayout:
    """Paths inside a venv, from the one probe at build time."""

    python: Path
    purelib: Path
    scripts: Path


OnStart = Callable[[int], None]


class Backend(Protocol):
    """What appx needs from an installer (pip today, uv later)."""

    name: str

    def version(self, interpreter: Interpreter) -> str: ...

    def create_venv(
        self, interpreter: Interpreter, dest: Path, *, log: Path, on_start: OnStart
    ) -> None: ...

    def probe(self, venv: Path) -> VenvLayout:
        """Where a venv made by ``create_venv`` keeps its packages and scripts."""
        ...

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
        """Install the app's requirement (editable if asked) and any others beside it;
        ``constraints`` (lines such as ``click==8.1.7``) hold the versions chosen."""
        ...

    def resolve_name(
        self, interpreter: Interpreter, requirement: str, *, index: IndexOptions, log: Path
    ) -> str: ...

    def resolve(
        self,
        interpreter: Interpreter,
        requirements: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
    ) -> dict[str, str]:
        """What installing the requirements now would install (name -> version), installing
        nothing: for `list --outdated`."""
        ...

    def latest(
        self,
        interpreter: Interpreter,
        names: Sequence[str],
        *,
        index: IndexOptions,
        log: Path,
        ahead: bool = False,
    ) -> dict[str, str]:
        """The newest release of each named project (name -> version) that ``interpreter``
        could install, or with ``ahead`` a Python far ahead: no dependencies, nothing
        installed, one question for all the names. Raises InstallerError when one is not
        found. Tells `upgrade-all` that apps are up to date without resolving each."""
        ...

    def newest(
        self,
        interpreter: Interpreter,
        requirement: str,
        *,
        index: IndexOptions,
        log: Path,
        installed: str | None = None,
    ) -> tuple[str, str] | None:
        """The newest release of a requirement for any Python 3, with its Requires-Python:
        (version, specifier); None if none can be told. Says why an upgrade held back.

        The specifier may be "" when the newest is no newer than ``installed`` (the
        version the app has): nothing is held back then, so nobody reads it."""
        ...


_PROBE = (
    "import json, sysconfig; "
    "print(json.dumps({'purelib': sysconfig.get_path('purelib'), "
    "'scripts': sysconfig.get_path('scripts')}))"
)


def probe_venv(venv: Path) -> VenvLayout:
    """Ask a venv's interpreter once where its packages and scripts go."""
    python = venv / "bin" / "python"
    result = proc.capture([python, "-I", "-c", _PROBE])
    try:
        data = json.loads(result.stdout)
        return VenvLayout(python, Path(data["purelib"]), Path(data["scripts"]))
    except (ValueError, KeyError, TypeError):
        raise InstallerError(
            f"the new environment's Python does not run: {python}",
            (result.stderr.strip().splitlines() or ["no output"])[-1],
        ) from None
