"""The receipt: everything needed to rebuild a generation exactly, saved atomically.

The receipt holds no secret: the spec, requirement and every text of the index
options (URLs, find-links, pip args) are stored redacted, and their originals
(only those that held a secret) go to the generation's credentials file (see
appx.credentials), from which :meth:`Receipt.with_secrets` puts them back.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

from appx.credentials import redact, save_credentials, split_secrets, write_private
from appx.errors import NewerReceiptError, ReceiptError
from appx.indexes import IndexOptions
from appx.names import MAN_SECTION, name_problem, suffix_problem

# What an app was installed from (specs.py tells them apart).
SpecKind = Literal["name", "directory", "wheel", "sdist", "url", "vcs", "script"]

RECEIPT_NAME = "appx-receipt.json"
SCHEMA_VERSION = 1
DIRECT_URL_NAME = "direct_url.json"


@dataclass(frozen=True)
class ExposedCommand:
    name: str
    exposed_as: str
    kind: str
    distribution: str


@dataclass(frozen=True)
class ExposedManPage:
    section: str
    name: str
    exposed_as: str
    distribution: str


@dataclass(frozen=True)
class PythonInfo:
    """The base interpreter: what was asked for (and by whom), and what was found."""

    requested: str
    executable: str
    version: str
    implementation: str
    # "--python", "APPX_DEFAULT_PYTHON" or "appx" (appx's own Python); "" in old receipts
    requested_by: str = ""


@dataclass(frozen=True)
class VenvInfo:
    """Paths inside the generation, recorded by the one probe at build time."""

    python: str
    purelib: str
    scripts: str


@dataclass(frozen=True)
class DirectUrl:
    """Where a distribution came from when not from an index (pip's direct_url.json)."""

    url: str
    kind: Literal["vcs", "archive", "dir"]
    vcs: str = ""
    commit_id: str = ""
    requested_revision: str = ""
    archive_hash: str = ""
    editable: bool = False


@dataclass(frozen=True)
class Receipt:
    app: str
    package: str
    version: str
    spec: str
    spec_kind: SpecKind
    requirement: str
    suffix: str
    python: PythonInfo
    venv: VenvInfo
    backend: str
    backend_version: str
    editable: bool = False
    include_deps: bool = False
    index: IndexOptions = field(default_factory=IndexOptions)
    distributions: dict[str, str] = field(default_factory=dict)  # name -> version
    direct_urls: dict[str, DirectUrl] = field(default_factory=dict)  # name -> origin
    commands: tuple[ExposedCommand, ...] = ()
    man_pages: tuple[ExposedManPage, ...] = ()
    injected: tuple[str, ...] = ()  # requirements installed beside the app's own
    injected_apps: tuple[str, ...] = ()  # injected distributions whose commands are exposed
    pins: tuple[str, ...] = ()
    appx_version: str = ""
    created: str = ""
    schema: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        """Build a receipt from parsed JSON; anything wrong raises ValueError in plain words."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004 -- bad data, one error kind
        schema = data.get("schema")
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA_VERSION:
            raise NewerSchemaError(schema)
        if schema != SCHEMA_VERSION:
            raise ValueError(f"unknown receipt schema {schema!r}")
        if "index" not in data:  # written before the index options had a table of their own
            old = {key: data[key] for key in ("index_url", "pip_args") if key in data}
            data = {**data, "index": old}
        receipt: Receipt = _from_object(cls, data, "")
        _check_names(receipt)
        return receipt

    def split_secrets(self) -> tuple[Receipt, dict[str, str]]:
        """This receipt with every secret redacted, and the originals of what held one."""
        originals = {"spec": self.spec, "requirement": self.requirement}
        originals.update({f"index.{key}": text for key, text in self.index.texts()})
        originals.update({f"injected.{i}": text for i, text in enumerate(self.injected)})
        secrets = {key: value for key, value in originals.items() if split_secrets(value)[1]}
        public = replace(
            self,
            spec=redact(self.spec),
            requirement=redact(self.requirement),
            index=self.index.redacted(),
            injected=tuple(map(redact, self.injected)),
        )
        return public, secrets

    def with_secrets(self, secrets: Mapping[str, str]) -> Receipt:
        """Put back the originals that :meth:`split_secrets` took out (for a rebuild)."""
        return replace(
            self,
            spec=secrets.get("spec", self.spec),
            requirement=secrets.get("requirement", self.requirement),
            index=self.index.map_texts(lambda key, text: secrets.get(f"index.{key}", text)),
            injected=tuple(
                secrets.get(f"injected.{i}", text) for i, text in enumerate(self.injected)
            ),
        )


def receipt_path(generation: Path) -> Path:
    return generation / RECEIPT_NAME


class NewerSchemaError(ValueError):
    """A receipt's schema is newer than this appx knows."""

    def __init__(self, schema: int) -> None:
        super().__init__(f"receipt schema {schema} is newer than {SCHEMA_VERSION}")
        self.schema = schema


def load_receipt(generation: Path) -> Receipt:
    """Read a generation's receipt; any problem is a ReceiptError naming the file."""
    path = receipt_path(generation)
    try:
        return Receipt.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ReceiptError(f"receipt missing: {path}", "reinstall the app with --force") from None
    except OSError as exc:
        raise ReceiptError(
            f"receipt unreadable: {path}: {exc.strerror or exc}", "check its permissions"
        ) from None
    except UnicodeDecodeError:
        raise ReceiptError(
            f"receipt corrupt: {path}: not UTF-8 text", "reinstall the app with --force"
        ) from None
    except json.JSONDecodeError as exc:
        raise ReceiptError(
            f"receipt corrupt: {path}: not valid JSON ({exc.msg})",
            "reinstall the app with --force",
        ) from None
    except NewerSchemaError as exc:
        raise NewerReceiptError(
            f"receipt written by a newer appx: {path} (receipt schema {exc.schema}; this appx"
            f" reads {SCHEMA_VERSION})",
            "use the newer appx that wrote it, or upgrade this one; this appx only uninstalls it",
        ) from None
    except ValueError as exc:
        raise ReceiptError(
            f"receipt corrupt: {path}: {exc}", "reinstall the app with --force"
        ) from None


def receipt_to_replace(generation: Path) -> Receipt | None:
    """The receipt of a generation a change will replace; None when it is missing or corrupt
    (`install --force` rebuilds such an app). One a newer appx wrote raises NewerReceiptError:
    a change must never replace it."""
    try:
        return load_receipt(generation)
    except NewerReceiptError:
        raise
    except ReceiptError:
        return None


def save_receipt(generation: Path, receipt: Receipt) -> Path:
    """Write the receipt atomically (temp file, fsync, rename), mode 0600.

    Secrets never reach it: they go to the generation's credentials file first.
    """
    public, secrets = receipt.split_secrets()
    save_credentials(generation, secrets)
    path = receipt_path(generation)
    write_private(path, json.dumps(public.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def read_direct_url(dist_info: Path) -> DirectUrl | None:
    """A distribution's origin from its ``direct_url.json`` (PEP 610), or None.

    None when it came from an index, or when the file is missing or not understood.
    """
    try:
        data = json.loads((dist_info / DIRECT_URL_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url = redact(data["url"])
    vcs, archive, directory = (data.get(key) for key in ("vcs_info", "archive_info", "dir_info"))
    if isinstance(vcs, dict):
        return DirectUrl(
            url,
            "vcs",
            vcs=_text(vcs.get("vcs")),
            commit_id=_text(vcs.get("commit_id")),
            requested_revision=_text(vcs.get("requested_revision")),
        )
    if isinstance(archive, dict):
        digest = _text(archive.get("hash"))
        hashes = archive.get("hashes")
        if not digest and isinstance(hashes, dict) and hashes:
            algorithm = "sha256" if "sha256" in hashes else sorted(hashes)[0]
            digest = f"{algorithm}={_text(hashes[algorithm])}"
        return DirectUrl(url, "archive", archive_hash=digest)
    if isinstance(directory, dict):
        return DirectUrl(url, "dir", editable=directory.get("editable") is True)
    return None


def direct_urls(dist_infos: Iterable[tuple[str, Path]]) -> dict[str, DirectUrl]:
    """``{name: origin}`` for the (name, dist-info dir) pairs installed from a direct URL."""
    found = {name: read_direct_url(path) for name, path in dist_infos}
    return {name: origin for name, origin in found.items() if origin is not None}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- validation


def _from_object(cls: type[Any], data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a JSON object, checking every field's type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'the receipt'} is not an object")  # noqa: TRY004 -- as above
    hints = _type_hints(cls)
    values = {}
    for item in fields(cls):
        name = f"{where}.{item.name}" if where else item.name
        if item.name in data:
            values[item.name] = _convert(data[item.name], hints[item.name], name)
        elif item.default is MISSING and item.default_factory is MISSING:
            raise ValueError(f"{name} is missing")
    # Fields added by a newer appx within the same schema are ignored, not refused.
    return cls(**values)


def _type_hints(cls: type[Any]) -> dict[str, Any]:
    # Once per class, not per receipt: the annotations are strings, each evaluated (compiled).
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if is_dataclass(hint) and isinstance(hint, type):
        return _from_object(hint, value, where)
    if origin is types.UnionType:  # only "X | None" is used
        inner = next(arg for arg in args if arg is not type(None))
        return None if value is None else _convert(value, inner, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        return tuple(_convert(item, args[0], f"{where}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        return {key: _convert(item, args[1], f"{where}.{key}") for key, item in value.items()}
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where} is not one of {', '.join(map(repr, args))}")
        return value
    expected = {str: "a string", bool: "true or false", int: "an integer"}[hint]
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ValueError(f"{where} is not {expected}")
    return value


def _check_names(receipt: Receipt) -> None:
    """Every name that becomes a path must be a plain file name (DESIGN invariant 6)."""
    names = [("app", receipt.app)]
    problem = suffix_problem(receipt.suffix) if receipt.suffix else None
    if problem is not None:
        raise ValueError(f"suffix {receipt.suffix!r} {problem}")
    for i, command in enumerate(receipt.commands):
        names += [(f"commands[{i}].name", command.name)]
        names += [(f"commands[{i}].exposed_as", command.exposed_as)]
    for i, page in enumerate(receipt.man_pages):
        if not MAN_SECTION.fullmatch(page.section):
            raise ValueError(f"man_pages[{i}].section {page.section!r} is not man1 to man9")
        names += [(f"man_pages[{i}].name", page.name)]
        names += [(f"man_pages[{i}].exposed_as", page.exposed_as)]
    for where, name in names:
        problem = name_problem(name)
        if problem is not None:
            raise ValueError(f"{where} {name!r} {problem}")
