"""The receipt: everything needed to rebuild a generation exactly, saved atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from appx.errors import ReceiptError

RECEIPT_NAME = "appx-receipt.json"
SCHEMA_VERSION = 1


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
    requested: str
    executable: str
    version: str
    implementation: str


@dataclass(frozen=True)
class VenvInfo:
    """Paths inside the generation, recorded by the one probe at build time."""

    python: str
    purelib: str
    scripts: str


@dataclass(frozen=True)
class Receipt:
    app: str
    package: str
    version: str
    spec: str
    spec_kind: str
    requirement: str
    suffix: str
    python: PythonInfo
    venv: VenvInfo
    backend: str
    backend_version: str
    editable: bool = False
    include_deps: bool = False
    index_url: str | None = None
    pip_args: tuple[str, ...] = ()
    distributions: dict[str, str] = field(default_factory=dict)
    commands: tuple[ExposedCommand, ...] = ()
    man_pages: tuple[ExposedManPage, ...] = ()
    injected: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    appx_version: str = ""
    created: str = ""
    schema: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        if not isinstance(data, dict):
            raise TypeError("receipt is not a JSON object")
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unknown receipt schema {data.get('schema')!r}")
        # Fields added by a newer appx within the same schema are ignored, not refused.
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["python"] = PythonInfo(**values["python"])
        values["venv"] = VenvInfo(**values["venv"])
        values["commands"] = tuple(ExposedCommand(**c) for c in values.get("commands", ()))
        values["man_pages"] = tuple(ExposedManPage(**m) for m in values.get("man_pages", ()))
        for key in ("pip_args", "injected", "pins"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


def receipt_path(generation: Path) -> Path:
    return generation / RECEIPT_NAME


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
    except (ValueError, TypeError, KeyError) as exc:  # UnicodeDecodeError is a ValueError
        raise ReceiptError(
            f"receipt corrupt: {path}: {exc}", "reinstall the app with --force"
        ) from None


def save_receipt(generation: Path, receipt: Receipt) -> Path:
    """Write the receipt atomically (temp file, fsync, rename), mode 0600."""
    path = receipt_path(generation)
    temp = path.with_name(f".{RECEIPT_NAME}.{os.getpid()}.tmp")
    data = json.dumps(receipt.to_json(), indent=2, sort_keys=True) + "\n"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    return path
