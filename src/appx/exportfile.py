"""The export file: every app of a machine, as a documented, versioned TOML file.

Format 1, one ``[[app]]`` table per app::

    format = 1                        # the version of this format; newer ones are refused
    appx_version = "0.1.0"            # the appx that wrote it (information only)

    [[app]]
    name = "black+-24"                # the app as 'appx list' names it: package, +suffix
    package = "black"                 # the canonical name of its main distribution
    spec = "black[d]==24.1.0"         # as installed (a local path made absolute), redacted
    kind = "name"                     # name, directory, wheel, sdist, url or vcs
    version = "24.1.0"                # the version of the main distribution
    suffix = "-24"
    python = "3.12"                   # the Python version it runs on (major.minor)
    include_deps = false
    editable = false
    pinned = false
    injected = []                     # requirements installed beside the app
    injected_apps = []                # injected distributions whose commands are exposed

    [app.index]                       # where packages came from (as install's options)
    index_url = "https://user:****@pypi.example.org/simple"   # absent: the default index
    extra_index_urls = []
    find_links = []
    no_index = false
    pre = false
    trusted_hosts = []
    constraints = []
    pip_args = []

    [app.distributions]               # every distribution of the environment, exactly
    black = "24.1.0"
    click = "8.1.7"

Credentials are never written: every text that may hold one goes through
``credentials.redact``. Keys this appx does not know are ignored, so a file
of the same format from a newer appx still reads. Any other problem is a
SpecError that names the line (TOML syntax) or the app and key (wrong types).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar, get_args

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from appx import __version__
from appx.credentials import redact
from appx.errors import SpecError
from appx.indexes import IndexOptions
from appx.inspect import name_problem
from appx.receipt import Receipt
from appx.specs import SpecKind, app_name, suffix_problem

FORMAT = 1
_T = TypeVar("_T")
KINDS = tuple(kind for kind in get_args(SpecKind) if kind != "script")
_PATH_KINDS = frozenset({"directory", "wheel", "sdist"})


@dataclass(frozen=True)
class ExportedApp:
    """One app as the export file records it (every text redacted)."""

    name: str
    package: str
    spec: str
    version: str
    kind: str = "name"
    suffix: str = ""
    python: str = ""
    include_deps: bool = False
    editable: bool = False
    pinned: bool = False
    injected: tuple[str, ...] = ()
    injected_apps: tuple[str, ...] = ()  # injected distributions whose commands are exposed
    index: IndexOptions = field(default_factory=IndexOptions)
    distributions: dict[str, str] = field(default_factory=dict)


def exported_app(receipt: Receipt, *, pinned: bool) -> ExportedApp:
    """What the file says of an installed app (its receipt is already redacted)."""
    # a local path as typed (./proj) means nothing elsewhere: the requirement has it absolute
    spec = receipt.requirement if receipt.spec_kind in _PATH_KINDS else receipt.spec
    return ExportedApp(
        name=receipt.app,
        package=receipt.package,
        spec=redact(spec),
        version=receipt.version,
        kind=receipt.spec_kind,
        suffix=receipt.suffix,
        python=".".join(receipt.python.version.split(".")[:2]),
        include_deps=receipt.include_deps,
        editable=receipt.editable,
        pinned=pinned,
        injected=tuple(map(redact, receipt.injected)),
        injected_apps=receipt.injected_apps,
        index=receipt.index.redacted(),
        distributions=dict(sorted(receipt.distributions.items())),
    )


# ---------------------------------------------------------------- writing


def dumps(apps: Iterable[ExportedApp]) -> str:
    """The export file's text: format 1, apps in the order given."""
    lines = [
        "# Apps exported by appx; restore them with: appx sync FILE",
        f"format = {FORMAT}",
        f"appx_version = {_string(__version__)}",
    ]
    for app in apps:
        lines += ["", "[[app]]"]
        lines += _pairs(
            {
                "name": app.name,
                "package": app.package,
                "spec": redact(app.spec),
                "kind": app.kind,
                "version": app.version,
                "suffix": app.suffix,
                "python": app.python,
                "include_deps": app.include_deps,
                "editable": app.editable,
                "pinned": app.pinned,
                "injected": [redact(text) for text in app.injected],
                "injected_apps": list(app.injected_apps),
            }
        )
        index = app.index.redacted()
        lines += ["", "[app.index]"]
        lines += _pairs(
            ({} if index.index_url is None else {"index_url": index.index_url})
            | {
                "extra_index_urls": list(index.extra_index_urls),
                "find_links": list(index.find_links),
                "no_index": index.no_index,
                "pre": index.pre,
                "trusted_hosts": list(index.trusted_hosts),
                "constraints": list(index.constraints),
                "pip_args": list(index.pip_args),
            }
        )
        lines += ["", "[app.distributions]"]
        lines += _pairs(dict(app.distributions))
    return "\n".join(lines) + "\n"


def _pairs(values: Mapping[str, str | bool | list[str]]) -> list[str]:
    return [f"{_key(key)} = {_value(value)}" for key, value in values.items()]


def _value(value: str | bool | list[str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    return "[" + ", ".join(_string(item) for item in value) + "]"


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _string(key)


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------- reading


def loads(text: str, source: str = "the export file") -> list[ExportedApp]:
    """Read an export file; a newer format, bad TOML or a wrong type is a SpecError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(
            f"{source} is not valid TOML: {error}", "fix that line, or export the file again"
        ) from None
    version = data.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SpecError(
            f"{source} has no format number ('format = {FORMAT}' is missing)",
            "is it a file that 'appx export' wrote?",
        )
    if version > FORMAT:
        raise SpecError(
            f"{source} is of format {version}; this appx reads format {FORMAT} and older",
            "upgrade appx to read it, or export it again with this appx",
        )
    if version < 1:
        raise SpecError(f"{source} has an unknown format {version}", "export it again")
    tables = data.get("app", [])
    if not isinstance(tables, list):
        raise SpecError(f"{source}: 'app' must be an array of tables ([[app]])", _HINT)
    apps: list[ExportedApp] = []
    for position, table in enumerate(tables, 1):
        app = _app(table, f"{source}: app {position}")
        if any(seen.name == app.name for seen in apps):
            raise SpecError(f"{source}: app {app.name} is listed twice", _HINT)
        apps.append(app)
    return apps


_HINT = "fix the file, or export it again"


def _app(table: Any, where: str) -> ExportedApp:
    if not isinstance(table, dict):
        raise SpecError(f"{where} is not a table", _HINT)
    name = table.get("name")
    if isinstance(name, str):
        where = f"{where} ({name})"
    fields = _Fields(table, where)
    app = ExportedApp(
        name=fields.text("name", required=True),
        package=fields.text("package", required=True),
        spec=fields.text("spec", required=True),
        version=fields.text("version", required=True),
        kind=fields.text("kind", "name"),
        suffix=fields.text("suffix"),
        python=fields.text("python"),
        include_deps=fields.flag("include_deps"),
        editable=fields.flag("editable"),
        pinned=fields.flag("pinned"),
        injected=fields.texts("injected"),
        injected_apps=fields.texts("injected_apps"),
        index=_index(fields.subtable("index"), f"{where}: index"),
        distributions=_distributions(fields.subtable("distributions"), where),
    )
    if app.python and not re.fullmatch(r"\d+\.\d+", app.python):
        raise SpecError(f"{where}: python {app.python!r} is not a version such as 3.12", _HINT)
    if app.kind not in KINDS:
        raise SpecError(f"{where}: kind {app.kind!r} is not one of {', '.join(KINDS)}", _HINT)
    problem = (suffix_problem(app.suffix) if app.suffix else None) or name_problem(app.name)
    if problem is not None:
        raise SpecError(f"{where}: name {app.name!r} {problem}", _HINT)
    if app.kind == "name" and _spec_package(app.spec) != app.package:
        raise SpecError(
            f"{where}: spec {redact(app.spec)!r} does not install package {app.package!r}", _HINT
        )
    if app_name(app.package, app.suffix) != app.name:
        raise SpecError(
            f"{where}: name {app.name!r} does not match package {app.package!r} and suffix"
            f" {app.suffix!r}",
            _HINT,
        )
    return app


def _index(table: dict[str, Any], where: str) -> IndexOptions:
    fields = _Fields(table, where)
    index_url = table.get("index_url")
    return IndexOptions(
        index_url=None if index_url is None else fields.text("index_url"),
        extra_index_urls=fields.texts("extra_index_urls"),
        find_links=fields.texts("find_links"),
        no_index=fields.flag("no_index"),
        pre=fields.flag("pre"),
        trusted_hosts=fields.texts("trusted_hosts"),
        constraints=fields.texts("constraints"),
        pip_args=fields.texts("pip_args"),
    )


def _distributions(table: dict[str, Any], where: str) -> dict[str, str]:
    """Exact versions, held by constraints on sync: only canonical names and real versions,
    so nothing else can reach the installer through them."""
    fields = _Fields(table, f"{where}: distributions")
    found = {key: fields.text(key) for key in table}
    for name, version in found.items():
        if not _CANONICAL.fullmatch(name):
            raise SpecError(f"{where}: distributions: {name!r} is not a project name", _HINT)
        try:
            Version(version)
        except InvalidVersion:
            raise SpecError(
                f"{where}: distributions: {name} = {version!r} is not a version", _HINT
            ) from None
    return found


_CANONICAL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _spec_package(spec: str) -> str | None:
    try:
        return canonicalize_name(Requirement(spec).name)
    except InvalidRequirement:
        return None


@dataclass(frozen=True)
class _Fields:
    """Typed access to one table's keys; a wrong type names the table and the key."""

    values: dict[str, Any]
    where: str

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        return self._get(key, str, "a string", default, required=required)

    def flag(self, key: str) -> bool:
        return self._get(key, bool, "true or false", False)

    def subtable(self, key: str) -> dict[str, Any]:
        return self._get(key, dict, "a table", {})

    def texts(self, key: str) -> tuple[str, ...]:
        values = self._get(key, list, "an array of strings", [])
        if not all(isinstance(value, str) for value in values):
            raise SpecError(f"{self.where}: {key} is not an array of strings", _HINT)
        return tuple(values)

    def _get(
        self, key: str, kind: type[_T], what: str, default: _T, *, required: bool = False
    ) -> _T:
        if key not in self.values:
            if required:
                raise SpecError(f"{self.where}: {key} is missing", _HINT)
            return default
        value = self.values[key]
        if not isinstance(value, kind):
            raise SpecError(f"{self.where}: {key} is not {what}", _HINT)
        return value


# ---------------------------------------------------------------- the file itself


def read_export(path: Path, stdin: TextIO) -> list[ExportedApp]:
    """Read and check an export file (``-``: standard input)."""
    if str(path) == "-":
        return loads(stdin.read(), "standard input")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such file: {path}", "give the file that 'appx export' wrote") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SpecError(f"cannot read {path}: {reason or error}", _HINT) from None
    return loads(text, str(path))


def write_export(path: Path, text: str) -> None:
    """Write the file whole or not at all: a temp file beside it, fsync, rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise SpecError(
            f"cannot write {path}: {error.strerror or error}",
            "choose a file in a directory you can write, or '-' for standard output",
        ) from None
