"""What the user typed: parse and validate a spec, and learn the app's name cheaply.

packaging and tomllib are imported where a spec is parsed, not with the module: the
commands that only read receipts or remove an app (list, uninstall) import this module
for its names and rules, and should not pay for a parser they never use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from appx.credentials import redact
from appx.errors import SpecError

# These moved to appx.names and appx.receipt; modules that named them from here still may.
from appx.names import app_name as app_name  # noqa: PLC0414
from appx.names import canonical_name, validate_name
from appx.names import split_app_name as split_app_name  # noqa: PLC0414
from appx.names import suffix_problem as suffix_problem  # noqa: PLC0414
from appx.receipt import SpecKind as SpecKind  # noqa: PLC0414

_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")
_DIRECT_REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@\s*\S")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# pip reads a trailing "[...]" of a local path as extras: ./proj[cli], x.whl[cli]
_PATH_EXTRAS_RE = re.compile(r"^(?P<path>.+?)(?P<extras>\[[^\]]*\])$")


@dataclass(frozen=True)
class AppSpec:
    """One parsed SPEC: what to hand the installer, and the name if known without a build."""

    raw: str
    kind: SpecKind
    requirement: str
    name: str | None
    editable: bool = False
    marker: str = ""  # a requirement's environment marker, "" when it has none


def parse_spec(raw: str, *, cwd: Path, editable: bool = False) -> AppSpec:
    """Parse SPEC: a requirement, a local directory, wheel or sdist, or a VCS or archive URL."""
    text = raw.strip()
    if not text:
        raise SpecError("empty spec", "give a package name, a path or a URL")
    if _DIRECT_REFERENCE_RE.match(text):
        spec = _requirement_spec(raw, text)
    elif text.startswith(_VCS_PREFIXES) or _is_url(text):
        spec = _url_spec(raw, text)
    elif _looks_like_path(text, cwd):
        spec = _path_spec(raw, text, cwd)
    else:
        spec = _requirement_spec(raw, text)
    if editable and spec.kind != "directory":
        raise SpecError(
            f"--editable needs a local project directory, not {redact(raw)!r}",
            "pass the path of a project that has a pyproject.toml or setup.py",
        )
    if spec.name is not None:
        validate_name(spec.name, "package name")
    return AppSpec(spec.raw, spec.kind, spec.requirement, spec.name, editable, spec.marker)


def check_marker(spec: AppSpec, environment: Mapping[str, str]) -> None:
    """Refuse a requirement whose marker excludes the target Python, before any build.

    ``environment`` is the target interpreter's marker environment (from its probe);
    without one, or when the marker cannot be decided, pip is left to judge.
    """
    if not spec.marker or not environment:
        return
    from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName

    try:
        holds = Marker(spec.marker).evaluate({"extra": "", **environment})
    except (UndefinedComparison, UndefinedEnvironmentName):
        return
    if not holds:
        python = environment.get("python_full_version", "?")
        platform = environment.get("sys_platform", "?")
        raise SpecError(
            f"the marker of {redact(spec.raw)!r} excludes this Python: {spec.marker}",
            f"it does not hold for Python {python} on {platform}; choose another --python"
            " or drop the marker",
        )


def validate_suffix(suffix: str) -> str:
    """A suffix becomes part of file names: keep it to a small, safe alphabet."""
    if suffix_problem(suffix) is not None:
        raise SpecError(
            f"invalid suffix: {suffix!r}",
            "use 1 to 64 letters, digits, '.', '_', '@' or '-'",
        )
    return suffix


def _is_url(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text))


def _looks_like_path(text: str, cwd: Path) -> bool:
    """Whether ``text`` names something on disk rather than a requirement; never raises."""
    if text.startswith((".", "/", "~")) or "/" in text or "\\" in text:
        return True
    if _split_extras(text)[0].endswith((".whl", *_SDIST_SUFFIXES)):
        return True
    if _NAME_RE.match(text):  # a name is a requirement even where a file has that name
        return False
    try:
        return (cwd / text).exists()
    except OSError:  # a name too long for the filesystem, say: not a file here
        return False


def _split_extras(text: str) -> tuple[str, str]:
    """Split ``path[extra1,extra2]`` into the path and its extras (``""`` when none)."""
    match = _PATH_EXTRAS_RE.match(text)
    return (match["path"], match["extras"]) if match else (text, "")


def _requirement_spec(raw: str, text: str) -> AppSpec:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise SpecError(
            f"not a valid requirement, path or URL: {redact(raw)!r}",
            redact(f"{str(exc).splitlines()[0]}; for a local project use a path such as ./{text}"),
        ) from None
    if req.url and not _is_url(req.url):
        # "name @ ./x" or "name @ @1": installers would read it as a path relative to
        # wherever they run, so it is refused before anything is built
        raise SpecError(
            f"not a URL after '@' in {redact(raw)!r}: {redact(req.url)!r}",
            "a direct reference needs a URL: name @ https://host/x.whl, name @ file:///path;"
            " for a local path give the path itself",
        )
    kind: SpecKind = "url" if req.url else "name"
    marker = str(req.marker) if req.marker else ""
    return AppSpec(raw, kind, str(req), canonical_name(req.name), marker=marker)


def _url_spec(raw: str, text: str) -> AppSpec:
    kind: SpecKind = "vcs" if text.startswith(_VCS_PREFIXES) else "url"
    parts = urlsplit(text)
    if not parts.netloc and parts.scheme not in {"file", "git+file"} and not parts.path:
        raise SpecError(f"not a valid URL: {redact(raw)!r}", "a URL needs a host or a file path")
    last = unquote(parts.path.rstrip("/").rpartition("/")[2])
    name = _name_from_filename(last) if kind == "url" else None
    return AppSpec(raw, kind, text, name)


def _path_spec(raw: str, text: str, cwd: Path) -> AppSpec:
    bare, extras = _split_extras(text)
    extras = _canonical_extras(raw, extras)
    try:
        return _local_spec(raw, bare, extras, cwd)
    except (OSError, RuntimeError) as exc:  # ENAMETOOLONG, ELOOP, EACCES; "~nobody"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            f"cannot use the path {bare}: {reason}", "check the path, or give a package name"
        ) from None


def _canonical_extras(raw: str, extras: str) -> str:
    if not extras:
        return ""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        names = Requirement(f"x{extras}").extras
    except InvalidRequirement:
        raise SpecError(
            f"invalid extras in {raw!r}: {extras}", "extras are names: ./proj[cli,docs]"
        ) from None
    return f"[{','.join(sorted(names))}]" if names else ""


def _local_spec(raw: str, text: str, extras: str, cwd: Path) -> AppSpec:
    path = (cwd / Path(text).expanduser()).resolve()
    if not path.exists():
        raise SpecError(
            f"no such file or directory: {text}", "check the path, or give a package name"
        )
    if path.is_dir():
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise SpecError(
                f"not a Python project: {text}",
                "a project directory needs a pyproject.toml or setup.py",
            )
        return AppSpec(raw, "directory", f"{path}{extras}", _static_project_name(path))
    if path.name.endswith(".whl"):
        name = _name_from_filename(path.name)
        if name is None:
            raise SpecError(
                f"not a valid wheel file name: {path.name}",
                "wheels are named NAME-VERSION-TAGS.whl",
            )
        return AppSpec(raw, "wheel", f"{path}{extras}", name)
    if path.name.endswith(_SDIST_SUFFIXES):
        return AppSpec(raw, "sdist", f"{path}{extras}", _name_from_filename(path.name))
    raise SpecError(
        f"not a wheel, sdist or project directory: {text}", "give a .whl, a .tar.gz or a directory"
    )


def _name_from_filename(filename: str) -> str | None:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            return canonical_name(parse_wheel_filename(filename)[0])
        if filename.endswith(".tar.gz"):
            return canonical_name(parse_sdist_filename(filename)[0])
        if filename.endswith(_SDIST_SUFFIXES):
            stem = filename
            for suffix in _SDIST_SUFFIXES:
                stem = stem.removesuffix(suffix)
            return canonical_name(parse_sdist_filename(stem + ".tar.gz")[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _static_project_name(project: Path) -> str | None:
    """The static [project].name of a pyproject.toml, or None when it must be built."""
    import tomllib

    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    table = data.get("project")
    if not isinstance(table, dict):
        return None
    name = table.get("name")
    dynamic = table.get("dynamic", [])
    if not isinstance(name, str) or (isinstance(dynamic, list) and "name" in dynamic):
        return None
    return canonical_name(name)
