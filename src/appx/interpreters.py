"""Find a Python by path, command or version, and record the real base interpreter.

Candidates come from PATH (every match, not only the first), pyenv installs,
uv-managed installs and the ``py`` launcher. Each is probed by running it; one
that fails (a pyenv shim for a version that is not selected exits 127) is
skipped. The probe reports ``sys.executable``, so a shim is never recorded, and
a virtual environment is traced back to its base interpreter.

A script's ``requires-python`` is met by the default Python when it can be, else by
the newest Python the same search finds that satisfies it.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from appx import proc
from appx.errors import PythonNotFoundError

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

__all__ = ["Interpreter", "find_python", "find_python_for"]

RequestedBy = Literal["--python", "APPX_DEFAULT_PYTHON", "appx", "requires-python"]

MIN_VERSION = (3, 9)
# python3.N on PATH is found by its name, so a search over every version needs the last N.
NEWEST_MINOR = 30
PROBE_TIMEOUT = 10.0
Version = tuple[int, int, int]

# Not -I: Python 2.7 rejects it, and a 2.7 must answer so that it can be refused by
# name. -E -s and dropping the script directory from sys.path isolate the same way.
PROBE_SCRIPT = """\
import sys
sys.path[:] = [p for p in sys.path if p not in ('', '.')]
import json, os, platform
try:
    name = sys.implementation.name
    info = sys.implementation.version
    impl_version = '%d.%d.%d' % tuple(info[:3])
    if info[3] != 'final':
        impl_version += info[3][0] + str(info[4])
except AttributeError:
    name = platform.python_implementation().lower()
    impl_version = '0'
print(json.dumps({
    'version': list(sys.version_info[:3]),
    'implementation': name,
    'executable': sys.executable,
    'prefix': sys.prefix,
    'base_prefix': getattr(sys, 'base_prefix', sys.prefix),
    'base_executable': getattr(sys, '_base_executable', sys.executable),
    'markers': {
        'implementation_name': name,
        'implementation_version': impl_version,
        'os_name': os.name,
        'platform_machine': platform.machine(),
        'platform_python_implementation': platform.python_implementation(),
        'platform_release': platform.release(),
        'platform_system': platform.system(),
        'platform_version': platform.version(),
        'python_full_version': platform.python_version(),
        'python_version': '.'.join(platform.python_version_tuple()[:2]),
        'sys_platform': sys.platform,
    },
}))
"""

_TOO_OLD_HINT = "appx builds apps for Python 3.9 or newer; choose one of those"
_ANY_HINT = "give a python executable's path, a command such as python3.12, or a version: 3.12"
_VERSION_REQUEST = re.compile(r"(?:python)?(\d+(?:\.\d+){0,2})")
_PYENV_DIR = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_UV_DIR = re.compile(r"([a-z]+)-(\d+)\.(\d+)\.(\d+)-.+")  # variants (+freethreaded) don't match


@dataclass(frozen=True)
class Interpreter:
    """A working base interpreter, what was asked for to get it, and who asked.

    ``requested`` is the request that found it even when defaulted: the value of
    ``--python``, of APPX_DEFAULT_PYTHON, or appx's own Python's path. ``markers``
    is its PEP 508 marker environment, from the probe.
    """

    requested: str
    executable: Path
    version: Version
    implementation: str
    requested_by: RequestedBy = "--python"
    markers: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def version_str(self) -> str:
        return ".".join(map(str, self.version))

    def to_json(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "requested_by": self.requested_by,
            "executable": str(self.executable),
            "version": self.version_str,
            "implementation": self.implementation,
        }


@dataclass(frozen=True)
class Request:
    """What ``--python`` asked for: a path, a command on PATH, or a version prefix."""

    kind: Literal["path", "command", "version"]
    text: str
    version: tuple[int, ...] = ()


def parse_request(text: str) -> Request:
    """Classify a request: ``/usr/bin/python3``, ``pypy3``, ``3.12`` or ``python3.12``."""
    if "/" in text or os.sep in text:
        return Request("path", text)
    match = _VERSION_REQUEST.fullmatch(text)
    if match:
        return Request("version", text, tuple(int(part) for part in match[1].split(".")))
    if Path(text).is_file():
        return Request("path", text)
    return Request("command", text)


def matches(version: Version, wanted: tuple[int, ...]) -> bool:
    """Whether ``version`` is what a version prefix asks for (3.12 matches 3.12.x)."""
    return version[: len(wanted)] == wanted


def supported(version: tuple[int, ...]) -> bool:
    """Whether appx can build for this version (or version prefix such as ``3``)."""
    return version[: len(MIN_VERSION)] >= MIN_VERSION[: len(version)]


def pyenv_versions(names: Iterable[str], wanted: tuple[int, ...]) -> list[tuple[str, Version]]:
    """The pyenv version dirs that fit ``wanted``, highest first; others are left out."""
    found = []
    for name in names:
        if match := _PYENV_DIR.fullmatch(name):
            version = (int(match[1]), int(match[2]), int(match[3]))
            if matches(version, wanted) and supported(version):
                found.append((name, version))
    return sorted(found, key=lambda item: item[1], reverse=True)


def uv_versions(names: Iterable[str], wanted: tuple[int, ...]) -> list[tuple[str, Version]]:
    """The uv-managed install dirs that fit ``wanted``, highest first, CPython before others."""
    found = []
    for name in names:
        if match := _UV_DIR.fullmatch(name):
            version = (int(match[2]), int(match[3]), int(match[4]))
            if matches(version, wanted) and supported(version):
                found.append((name, version, match[1] == "cpython"))
    found.sort(key=lambda item: (item[1], item[2]), reverse=True)
    return [(name, version) for name, version, _ in found]


def interpreter_from_probe(
    requested: str, data: Any, requested_by: RequestedBy = "--python"
) -> Interpreter:
    """Turn a probe's JSON into an Interpreter, tracing a venv to its base (or ValueError)."""
    try:
        major, minor, micro = (int(part) for part in data["version"])
        executable = Path(data["executable"])
        in_venv = data["prefix"] != data["base_prefix"]
        base = (Path(data["base_executable"]), Path(data["base_prefix"], "bin"))
        implementation = str(data["implementation"])
        markers = data.get("markers") or {}
        markers = {str(key): str(value) for key, value in markers.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"gave an unexpected probe result ({exc!r})") from None
    if in_venv:
        executable = _venv_base(executable, *base, minor=f"{major}.{minor}")
    if not executable.is_absolute():
        raise ValueError(f"reports a relative executable {str(executable)!r}")
    version = (major, minor, micro)
    return Interpreter(requested, executable, version, implementation, requested_by, markers)


def _venv_base(executable: Path, base_executable: Path, base_bin: Path, *, minor: str) -> Path:
    # Before 3.11, _base_executable is the venv's own python on POSIX: use base_prefix.
    if (
        base_executable != executable
        and base_executable.is_absolute()
        and base_executable.is_file()
    ):
        return base_executable
    for name in (f"python{minor}", f"python{minor.partition('.')[0]}", "python"):
        if (base_bin / name).is_file():
            return base_bin / name
    raise ValueError(f"is a venv whose base Python is missing from {base_bin}")


def find_python(
    request: str | None, *, environ: Mapping[str, str], default: str | None = None
) -> Interpreter:
    """Find a working Python 3.9+ for a request, or ``default``, or appx's own base Python."""
    by: RequestedBy = "--python" if request else "APPX_DEFAULT_PYTHON" if default else "appx"
    try:
        return _find(request or default or str(_own_base_executable()), by, environ)
    except PythonNotFoundError as error:
        if by != "APPX_DEFAULT_PYTHON":
            raise
        error.hint = (
            f"APPX_DEFAULT_PYTHON={default} chose it: set it to an installed Python, unset it,"
            f" or pass --python; {error.hint}"
        )
        raise


def _find(text: str, by: RequestedBy, environ: Mapping[str, str]) -> Interpreter:
    origin = {"--python": "", "APPX_DEFAULT_PYTHON": " (APPX_DEFAULT_PYTHON)"}.get(by)
    if origin is None:
        origin, parsed = " (appx's own Python)", Request("path", text)
    else:
        parsed = parse_request(_expand_home(text, environ))
    if parsed.kind == "version" and not supported(parsed.version):
        raise PythonNotFoundError(f"Python {text}{origin} is not supported", _TOO_OLD_HINT)
    if parsed.kind == "path" and not Path(parsed.text).exists():
        raise PythonNotFoundError(f"Python path '{parsed.text}'{origin} does not exist", _ANY_HINT)

    skipped: list[tuple[str, str]] = []  # (candidate, why it was passed over)
    for argv in _unseen(_candidates(parsed, environ), set()):
        reason, found = _probe(argv, text, by, environ)
        if found is not None and not matches(found.version, parsed.version):
            reason = f"is {found.version_str}"
        elif found is not None and not supported(found.version):
            reason = f"is Python {found.version_str}, which appx does not support"
        elif found is not None:
            return found
        skipped.append((" ".join(argv), reason))

    if parsed.kind == "path":
        why = skipped[0][1]
        hint = _TOO_OLD_HINT if why.startswith("is Python") else _ANY_HINT
        raise PythonNotFoundError(f"'{parsed.text}'{origin} {why}", hint)
    hint = "tried: " + ", ".join(_sources(parsed, environ))
    if skipped:
        hint += "; skipped: " + "; ".join(f"{argv} ({why})" for argv, why in skipped[:4])
        hint += "; ..." if len(skipped) > 4 else ""
    raise PythonNotFoundError(f"no Python matching '{text}'{origin} was found", hint)


def find_python_for(
    requires_python: SpecifierSet, *, environ: Mapping[str, str], default: str | None
) -> Interpreter:
    """The default Python if it satisfies ``requires_python``, else the newest found that does.

    The default is ``default`` (APPX_DEFAULT_PYTHON) or appx's own base Python; other
    versions are searched newest first, as ``find_python`` searches for each.
    """
    chosen = find_python(None, environ=environ, default=default)
    if _satisfies(chosen, requires_python):
        return chosen
    wanted = str(requires_python)
    found = {chosen.version}
    seen = {os.path.realpath(chosen.executable)}
    for minor in range(NEWEST_MINOR, MIN_VERSION[1] - 1, -1):
        request = Request("version", f"3.{minor}", (3, minor))
        for argv in _unseen(_candidates(request, environ), seen):
            interpreter = _probe(argv, wanted, "requires-python", environ)[1]
            if interpreter is None or not supported(interpreter.version):
                continue
            if _satisfies(interpreter, requires_python):
                return interpreter
            found.add(interpreter.version)
    versions = ", ".join(".".join(map(str, version)) for version in sorted(found, reverse=True))
    raise PythonNotFoundError(
        f"no Python satisfies requires-python '{wanted}'",
        f"found Python {versions}; install a Python that satisfies it, or choose one with --python",
    )


def _satisfies(interpreter: Interpreter, requires_python: SpecifierSet) -> bool:
    return requires_python.contains(interpreter.version_str, prereleases=True)


def _unseen(candidates: Iterable[tuple[str, ...]], seen: set[str]) -> Iterator[tuple[str, ...]]:
    """The candidates not probed yet (``seen`` holds the real paths of those that were)."""
    for argv in candidates:
        key = " ".join(argv) if len(argv) > 1 else os.path.realpath(argv[0])
        if key not in seen:
            seen.add(key)
            yield argv


def _probe(
    argv: tuple[str, ...], requested: str, by: RequestedBy, environ: Mapping[str, str]
) -> tuple[str, Interpreter | None]:
    """Run one candidate; return why it is unusable, or the interpreter it is."""
    result = proc.capture(
        [*argv, "-E", "-s", "-c", PROBE_SCRIPT], env=proc.clean_env(environ), timeout=PROBE_TIMEOUT
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        detail = f": {lines[0][:100]}" if lines else ""
        return f"failed with exit code {result.returncode}{detail}", None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return "printed something other than the probe's JSON", None
    try:
        return "", interpreter_from_probe(requested, data, by)
    except ValueError as exc:
        return str(exc), None


def _candidates(parsed: Request, environ: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
    """Argument vectors to probe, best first; generated lazily, so a hit stops the search."""
    if parsed.kind == "path":
        yield (str(Path(parsed.text).absolute()),)
        return
    if parsed.kind == "command":
        yield from ((str(path),) for path in _on_path(parsed.text, environ))
        return
    minor = ".".join(map(str, parsed.version[:2]))
    yield from ((str(path),) for path in _on_path(f"python{minor}", environ))
    versions_dir = _pyenv_root(environ) / "versions"
    for name, version in pyenv_versions(_listdir(versions_dir), parsed.version):
        install = versions_dir / name
        executable = install / "bin" / f"python{version[0]}.{version[1]}"
        if executable.is_file() and not (install / "pyvenv.cfg").exists():  # not a pyenv virtualenv
            yield (str(executable),)
    uv_dir = _uv_dir(environ)
    for name, version in uv_versions(_listdir(uv_dir), parsed.version):
        executable = uv_dir / name / "bin" / f"python{version[0]}.{version[1]}"
        if executable.is_file():
            yield (str(executable),)
    for launcher in _on_path("py", environ):
        yield (str(launcher), f"-{minor}")
        return


def _sources(parsed: Request, environ: Mapping[str, str]) -> list[str]:
    if parsed.kind == "command":
        return [f"{parsed.text} on PATH"]
    minor = ".".join(map(str, parsed.version[:2]))
    sources = [
        f"python{minor} on PATH",
        f"pyenv ({_pyenv_root(environ) / 'versions'})",
        f"uv-managed Pythons ({_uv_dir(environ)})",
    ]
    launcher_found = next(_on_path("py", environ), None) is not None
    return [*sources, f"py -{minor}" if launcher_found else "py launcher (not on PATH)"]


def _on_path(name: str, environ: Mapping[str, str]) -> Iterator[Path]:
    """Every executable called ``name`` on PATH, in order (shutil.which stops at the first)."""
    for entry in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(entry or ".", name).absolute()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            yield candidate


def _own_base_executable() -> Path:
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    if sys.prefix != sys.base_prefix and (base == Path(sys.executable) or not base.is_file()):
        base = Path(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return base


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def _expand_home(text: str, environ: Mapping[str, str]) -> str:
    return str(_home(environ)) + text[1:] if text == "~" or text.startswith("~/") else text


def _pyenv_root(environ: Mapping[str, str]) -> Path:
    root = environ.get("PYENV_ROOT")
    return Path(root) if root else _home(environ) / ".pyenv"


def _uv_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("UV_PYTHON_INSTALL_DIR"):
        return Path(environ["UV_PYTHON_INSTALL_DIR"])
    data_home = environ.get("XDG_DATA_HOME") or str(_home(environ) / ".local" / "share")
    return Path(data_home, "uv", "python")


def _listdir(path: Path) -> list[str]:
    try:
        return [entry.name for entry in path.iterdir()]
    except OSError:
        return []
