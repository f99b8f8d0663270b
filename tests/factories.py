"""Builders for tests: a hermetic environment, wheels, local projects, git repos, a local index.

Imported by ``conftest.py``; tests import the types and helpers from here (``import factories``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypedDict, Unpack

from backend_template import BACKEND_SOURCE, pyproject_text

if TYPE_CHECKING:
    from collections.abc import Iterable

# --- the hermetic environment -------------------------------------------------------------------

DROPPED_PREFIXES = ("PIP_", "UV_", "APPX_")
DROPPED_VARS = frozenset(
    {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "__PYVENV_LAUNCHER__"}
)
# Switches of the test harness, not appx settings: they outlive the scrub (see appx_command,
# and the fault and stress tests' APPX_TEST_FAULT_POINTS, APPX_TEST_STRESS_*).
HARNESS_PREFIX = "APPX_TEST_"


@dataclass(frozen=True)
class Env:
    """The directories of one test's hermetic environment, all under ``tmp``."""

    tmp: Path
    home: Path
    appx_home: Path
    bin_dir: Path
    man_dir: Path
    cache_dir: Path

    @classmethod
    def under(cls, tmp: Path) -> Env:
        return cls(
            tmp=tmp,
            home=tmp / "home",
            appx_home=tmp / "appx-home",
            bin_dir=tmp / "bin",
            man_dir=tmp / "man",
            cache_dir=tmp / "cache",
        )

    @property
    def xdg_config_dirs(self) -> Path:
        """An empty directory standing in for the system config dirs (``/etc/xdg``)."""
        return self.tmp / "xdg-config-dirs"


def hermetic_environ(base: Mapping[str, str], env: Env) -> dict[str, str]:
    """``base`` without installer config and user state, with every home under ``env.tmp``."""
    result = {
        key: value
        for key, value in base.items()
        if key.startswith(HARNESS_PREFIX)
        or (not key.startswith(DROPPED_PREFIXES) and key not in DROPPED_VARS)
    }
    # Interpreter discovery still needs the real pyenv; find it before HOME moves.
    pyenv_root = base.get("PYENV_ROOT") or _default_pyenv_root(base)
    if pyenv_root:
        result["PYENV_ROOT"] = pyenv_root
    result.update(
        {
            # pip reads no config file at all only when this is os.devnull (checked: an empty
            # file still lets /etc/xdg/pip/pip.conf in).
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "HOME": str(env.home),
            "XDG_DATA_HOME": str(env.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(env.home / ".config"),
            "XDG_CACHE_HOME": str(env.home / ".cache"),
            "XDG_STATE_HOME": str(env.home / ".local" / "state"),
            "XDG_CONFIG_DIRS": str(env.xdg_config_dirs),
            "APPX_HOME": str(env.appx_home),
            "APPX_BIN_DIR": str(env.bin_dir),
            "APPX_MAN_DIR": str(env.man_dir),
            "APPX_CACHE_DIR": str(env.cache_dir),
        }
    )
    return result


def _default_pyenv_root(base: Mapping[str, str]) -> str | None:
    home = base.get("HOME")
    if home and (Path(home) / ".pyenv").is_dir():
        return str(Path(home) / ".pyenv")
    return None


# --- names --------------------------------------------------------------------------------------


def dist_name(name: str) -> str:
    """A name as spelled in wheel and sdist file names: ``Foo.Bar-baz`` -> ``foo_bar_baz``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def import_name(name: str) -> str:
    """The top-level module the default wheel ships for ``name``."""
    return dist_name(name)


def main_entry(name: str) -> str:
    """The entry point of the default module's ``main()``: ``"cowsay_lite:main"``."""
    return f"{import_name(name)}:main"


def default_module_source(name: str, version: str) -> str:
    """A module whose ``main()`` prints ``"<name> <version>"`` and its arguments."""
    return f"import sys\n\n\ndef main():\n    print({f'{name} {version}'!r}, *sys.argv[1:])\n"


# --- wheels -------------------------------------------------------------------------------------

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same bytes


class WheelOptions(TypedDict, total=False):
    """The keyword options of :func:`build_wheel`, for factories that pass them on."""

    console_scripts: Mapping[str, str] | None
    gui_scripts: Mapping[str, str] | None
    scripts: Mapping[str, str] | None
    man_pages: Mapping[str, str] | None
    dependencies: Sequence[str]
    extras: Mapping[str, Sequence[str]] | None
    modules: Mapping[str, str] | None
    requires_python: str | None
    metadata_name: str | None


def build_wheel(
    dest_dir: Path,
    name: str,
    version: str = "1.0",
    *,
    console_scripts: Mapping[str, str] | None = None,
    gui_scripts: Mapping[str, str] | None = None,
    scripts: Mapping[str, str] | None = None,
    man_pages: Mapping[str, str] | None = None,
    dependencies: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    modules: Mapping[str, str] | None = None,
    requires_python: str | None = None,
    metadata_name: str | None = None,
) -> Path:
    """Write a valid ``py3-none-any`` wheel into ``dest_dir`` and return its path.

    ``console_scripts``/``gui_scripts`` map a command to ``"module:func"``; ``scripts`` map a
    file name to its text (``<dist>.data/scripts/``); ``man_pages`` map ``"man1/x.1"`` to troff
    (``<dist>.data/data/share/man/``); ``modules`` map a path in the wheel to source, replacing
    the default ``<import_name>/__init__.py`` (see :func:`default_module_source`);
    ``extras`` map an extra to its requirements; ``metadata_name`` makes METADATA's Name differ
    from the file name.
    """
    stem = f"{dist_name(name)}-{version.replace('-', '_')}"
    if modules is None:
        modules = {f"{import_name(name)}/__init__.py": default_module_source(name, version)}
    files: list[tuple[str, bytes, int]] = [
        (path, source.encode(), 0o644) for path, source in modules.items()
    ]
    files += [
        (f"{stem}.data/scripts/{file}", text.encode(), 0o755)
        for file, text in (scripts or {}).items()
    ]
    files += [
        (f"{stem}.data/data/share/man/{page}", text.encode(), 0o644)
        for page, text in (man_pages or {}).items()
    ]
    metadata = metadata_text(
        metadata_name or name,
        version,
        dependencies=dependencies,
        extras=extras,
        requires_python=requires_python,
    )
    info = f"{stem}.dist-info"
    files += [
        (f"{info}/METADATA", metadata.encode(), 0o644),
        (f"{info}/WHEEL", WHEEL_TEXT.encode(), 0o644),
        (
            f"{info}/entry_points.txt",
            entry_points_text(console_scripts or {}, gui_scripts or {}).encode(),
            0o644,
        ),
    ]
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{stem}-py3-none-any.whl"
    write_wheel(path, files, record_path=f"{info}/RECORD")
    return path


WHEEL_TEXT = (
    "Wheel-Version: 1.0\nGenerator: appx-tests (factories.py)\n"
    "Root-Is-Purelib: true\nTag: py3-none-any\n"
)


def metadata_text(
    name: str,
    version: str,
    *,
    dependencies: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
) -> str:
    """The text of a METADATA file (core metadata 2.1)."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {dep}" for dep in dependencies]
    for extra, requirements in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {req}; extra == "{extra}"' for req in requirements]
    return "\n".join(lines) + "\n"


def entry_points_text(console_scripts: Mapping[str, str], gui_scripts: Mapping[str, str]) -> str:
    """The text of an ``entry_points.txt`` with the two script groups."""
    sections = []
    for group, entries in (("console_scripts", console_scripts), ("gui_scripts", gui_scripts)):
        if entries:
            body = "".join(f"{command} = {target}\n" for command, target in entries.items())
            sections.append(f"[{group}]\n{body}")
    return "\n".join(sections)


def record_hash(data: bytes) -> str:
    """A RECORD hash: ``sha256=`` and the urlsafe base64 digest without padding."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def write_wheel(path: Path, files: Iterable[tuple[str, bytes, int]], *, record_path: str) -> None:
    """Zip ``(name, data, mode)`` entries into ``path``, then a RECORD listing each of them."""
    entries = list(files)
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    writer.writerows((name, record_hash(data), len(data)) for name, data, _ in entries)
    writer.writerow((record_path, "", ""))
    entries.append((record_path, record.getvalue().encode(), 0o644))
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, mode in entries:
            member = zipfile.ZipInfo(name, ZIP_DATE)
            member.external_attr = (0o100000 | mode) << 16
            archive.writestr(member, data, zipfile.ZIP_DEFLATED)


def check_wheel(path: Path) -> dict[str, str]:
    """Raise ValueError unless RECORD lists every file once with its true hash and size.

    Returns the wheel's members with their RECORD hashes.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        records = [name for name in names if re.fullmatch(r"[^/]+\.dist-info/RECORD", name)]
        if len(records) != 1:
            raise ValueError(f"{path.name}: expected one .dist-info/RECORD, found {records}")
        rows = list(csv.reader(io.StringIO(archive.read(records[0]).decode())))
        listed = {row[0]: (row[1], row[2]) for row in rows if row}
        if len(listed) != len([row for row in rows if row]) or sorted(listed) != sorted(names):
            raise ValueError(f"{path.name}: RECORD lists {sorted(listed)}, wheel holds {names}")
        for name in names:
            expected = ("", "") if name == records[0] else _hash_and_size(archive.read(name))
            if listed[name] != expected:
                raise ValueError(
                    f"{path.name}: {name} is {expected} but RECORD says {listed[name]}"
                )
    return {name: hash_ for name, (hash_, _) in listed.items()}


def _hash_and_size(data: bytes) -> tuple[str, str]:
    return record_hash(data), str(len(data))


# --- local projects -----------------------------------------------------------------------------


PROJECT_FILE = "appx-project.json"


class ProjectOptions(TypedDict, total=False):
    """The keyword options of :func:`make_project`, for factories that pass them on."""

    console_scripts: Mapping[str, str] | None
    gui_scripts: Mapping[str, str] | None
    scripts: Mapping[str, str] | None
    man_pages: Mapping[str, str] | None
    dependencies: Sequence[str]
    modules: Mapping[str, str] | None
    requires_python: str | None
    static_name: bool


def make_project(
    dest: Path,
    name: str,
    version: str = "1.0",
    *,
    console_scripts: Mapping[str, str] | None = None,
    gui_scripts: Mapping[str, str] | None = None,
    scripts: Mapping[str, str] | None = None,
    man_pages: Mapping[str, str] | None = None,
    dependencies: Sequence[str] = (),
    modules: Mapping[str, str] | None = None,
    requires_python: str | None = None,
    static_name: bool = True,
) -> Path:
    """Write a project at ``dest`` that pip builds offline with its in-tree backend.

    Layout: ``pyproject.toml``, ``appx-project.json`` (what the backend reads),
    ``_backend/appx_test_backend.py``, ``src/`` (modules, the default as in
    :func:`build_wheel`), ``scripts/`` and ``man/``. With ``static_name=False`` the
    pyproject has no ``[project]`` table, so only a build tells the name.
    """
    if modules is None:
        modules = {f"{import_name(name)}/__init__.py": default_module_source(name, version)}
    project = {
        "name": name,
        "version": version,
        "dependencies": list(dependencies),
        "requires_python": requires_python,
        "console_scripts": dict(console_scripts or {}),
        "gui_scripts": dict(gui_scripts or {}),
    }
    files = {
        "pyproject.toml": pyproject_text(project, static_name=static_name),
        PROJECT_FILE: json.dumps(project, indent=2) + "\n",
        "_backend/appx_test_backend.py": BACKEND_SOURCE,
    }
    files |= {f"src/{path}": source for path, source in modules.items()}
    files |= {f"scripts/{file}": text for file, text in (scripts or {}).items()}
    files |= {f"man/{page}": text for page, text in (man_pages or {}).items()}
    dest.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return dest


_HOOK_RUNNER = (
    "import sys\n"
    "sys.path.insert(0, '_backend')\n"
    "import appx_test_backend as backend\n"
    "print(getattr(backend, sys.argv[1])(sys.argv[2]))\n"
)


def run_backend_hook(
    project_dir: Path, hook: str, out_dir: Path, *, python: str | Path = sys.executable
) -> Path:
    """Call a PEP 517/660 hook of the project's backend under ``python``; return what it made."""
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [os.fspath(python), "-c", _HOOK_RUNNER, hook, os.fspath(out_dir)],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{hook} failed under {python}:\n{proc.stderr}")
    return out_dir / proc.stdout.strip().splitlines()[-1]


def build_sdist(project_dir: Path, dest_dir: Path) -> Path:
    """Build the project's ``.tar.gz`` sdist into ``dest_dir`` with its own backend."""
    return run_backend_hook(project_dir, "build_sdist", dest_dir)


def make_git_repo(project_dir: Path) -> str:
    """Commit everything in ``project_dir`` to a new git repo; return its ``git+file://`` URL."""
    git = [
        "git",
        "-c",
        "user.name=appx tests",
        "-c",
        "user.email=tests@appx.invalid",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
    ]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run([*git, *args], cwd=project_dir, check=True, capture_output=True, timeout=60)
    return f"git+{project_dir.as_uri()}"


# --- processes ----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ProcResult:
    """What a finished process said; its repr shows everything an assertion message needs."""

    args: Sequence[str]
    code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return (
            f"ProcResult(code={self.code}, args={list(self.args)!r})\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}--- end ---"
        )


def run(
    argv: Sequence[str | Path], *, cwd: Path | None = None, timeout: float = 300.0
) -> ProcResult:
    """Run ``argv`` with the current ``os.environ``, no stdin, and text output."""
    args = [os.fspath(arg) for arg in argv]
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ProcResult(args, proc.returncode, proc.stdout, proc.stderr)


def appx_command(*args: str) -> list[str]:
    """The argv that runs appx, for tests that start processes themselves.

    The installed console script ``appx`` next to ``sys.executable`` when it is there and
    executable, so end-to-end tests run what users run; ``python -m appx`` when there is none
    or ``APPX_TEST_FROM_SOURCE`` is set.
    """
    script = Path(sys.executable).parent / "appx"
    from_source = bool(os.environ.get("APPX_TEST_FROM_SOURCE"))
    if script.is_file() and os.access(script, os.X_OK) and not from_source:
        return [os.fspath(script), *args]
    return [sys.executable, "-m", "appx", *args]


class WheelFactory(Protocol):
    def __call__(
        self, name: str, version: str = "1.0", **options: Unpack[WheelOptions]
    ) -> Path: ...


class ProjectFactory(Protocol):
    def __call__(
        self, name: str, version: str = "1.0", **options: Unpack[ProjectOptions]
    ) -> Path: ...


class RunAppx(Protocol):
    def __call__(
        self, *args: str, cwd: Path | None = None, timeout: float = 300.0
    ) -> ProcResult: ...


# The local index lives in index.py, which builds its wheels with this module, so it is
# imported once everything above is defined; tests keep importing these names from here.
from index import CATALOGUE as CATALOGUE  # noqa: E402, PLC0414
from index import IndexServer as IndexServer  # noqa: E402, PLC0414
from index import populate_catalogue as populate_catalogue  # noqa: E402, PLC0414
from index import start_index_server as start_index_server  # noqa: E402, PLC0414
