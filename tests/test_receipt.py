"""Tests for appx.receipt: a full round trip, atomic private writes, and clear errors."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from appx.errors import ReceiptError
from appx.receipt import (
    RECEIPT_NAME,
    SCHEMA_VERSION,
    ExposedCommand,
    ExposedManPage,
    PythonInfo,
    Receipt,
    VenvInfo,
    load_receipt,
    receipt_path,
    save_receipt,
)

if TYPE_CHECKING:
    from pathlib import Path


def _receipt() -> Receipt:
    """A receipt with every field away from its default."""
    return Receipt(
        app="black+-b",
        package="black",
        version="24.1.0",
        spec="black[d]>=24",
        spec_kind="name",
        requirement="black[d]>=24",
        suffix="-b",
        python=PythonInfo(
            requested="3.12",
            executable="/usr/bin/python3.12",
            version="3.12.1",
            implementation="cpython",
        ),
        venv=VenvInfo(
            python="/h/venvs/black+-b/g1-0123abcd/bin/python",
            purelib="/h/venvs/black+-b/g1-0123abcd/lib/python3.12/site-packages",
            scripts="/h/venvs/black+-b/g1-0123abcd/bin",
        ),
        backend="pip",
        backend_version="24.0",
        editable=True,
        include_deps=True,
        index_url="https://user:***@index.example.org/simple",
        pip_args=("--no-cache-dir", "--prefer-binary"),
        distributions={"black": "24.1.0", "click": "8.1.7"},
        commands=(
            ExposedCommand("black", "black-b", "console", "black"),
            ExposedCommand("blackd", "blackd-b", "console", "black"),
        ),
        man_pages=(ExposedManPage("1", "black.1", "black-b.1", "black"),),
        injected=("black-plugin",),
        pins=("click<9",),
        appx_version="0.1.0",
        created="2024-01-02T03:04:05Z",
    )


@pytest.fixture
def gen(tmp_path: Path) -> Path:
    """A generation directory to hold the receipt."""
    generation = tmp_path / "venvs" / "black" / "g1-0123abcd"
    generation.mkdir(parents=True)
    return generation


def _write(generation: Path, data: Any) -> None:
    generation.mkdir(parents=True, exist_ok=True)
    receipt_path(generation).write_text(json.dumps(data), encoding="utf-8")


def test_a_saved_receipt_loads_back_equal(gen: Path) -> None:
    receipt = _receipt()
    saved = save_receipt(gen, receipt)
    assert saved == gen / RECEIPT_NAME
    loaded = load_receipt(gen)
    assert loaded == receipt
    assert isinstance(loaded.pip_args, tuple)
    assert isinstance(loaded.injected, tuple)
    assert isinstance(loaded.pins, tuple)
    assert loaded.commands[1] == ExposedCommand("blackd", "blackd-b", "console", "black")
    assert loaded.man_pages[0].exposed_as == "black-b.1"
    assert loaded.python.executable == "/usr/bin/python3.12"
    assert loaded.distributions == {"black": "24.1.0", "click": "8.1.7"}


def test_a_minimal_receipt_round_trips_with_defaults(gen: Path) -> None:
    receipt = replace(
        _receipt(), pip_args=(), commands=(), man_pages=(), injected=(), pins=(), index_url=None
    )
    save_receipt(gen, receipt)
    assert load_receipt(gen) == receipt


def test_the_receipt_is_json_with_its_schema_version(gen: Path) -> None:
    save_receipt(gen, _receipt())
    data = json.loads((gen / RECEIPT_NAME).read_text(encoding="utf-8"))
    assert data["schema"] == SCHEMA_VERSION
    assert data["package"] == "black"
    assert data["commands"][0]["exposed_as"] == "black-b"


def test_the_receipt_is_private(gen: Path) -> None:
    path = save_receipt(gen, _receipt())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rewriting_a_readable_receipt_makes_it_private(gen: Path) -> None:
    path = receipt_path(gen)
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)
    save_receipt(gen, _receipt())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_receipt(gen) == _receipt()


def test_saving_leaves_no_temp_file(gen: Path) -> None:
    save_receipt(gen, _receipt())
    save_receipt(gen, replace(_receipt(), version="25.0"))
    assert os.listdir(gen) == [RECEIPT_NAME]
    assert load_receipt(gen).version == "25.0"


def test_a_missing_receipt_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ReceiptError, match="receipt missing") as info:
        load_receipt(tmp_path / "g1-0123abcd")
    assert str(tmp_path / "g1-0123abcd" / RECEIPT_NAME) in info.value.message
    assert info.value.exit_code == 9
    assert info.value.hint


def _valid_json() -> dict[str, Any]:
    return _receipt().to_json()


@pytest.mark.parametrize(
    "content",
    [
        "{",
        "",
        "[]",
        '"a string"',
        "null",
        json.dumps({**_valid_json(), "schema": 2}),
        json.dumps({k: v for k, v in _valid_json().items() if k != "schema"}),
        json.dumps({k: v for k, v in _valid_json().items() if k != "python"}),
        json.dumps({k: v for k, v in _valid_json().items() if k != "package"}),
        json.dumps({**_valid_json(), "python": "3.12"}),
        json.dumps({**_valid_json(), "venv": {"python": "/x"}}),
        json.dumps({**_valid_json(), "commands": [1]}),
        json.dumps({**_valid_json(), "man_pages": [{"name": "x.1"}]}),
    ],
    ids=[
        "truncated",
        "empty",
        "array",
        "string",
        "null",
        "future-schema",
        "no-schema",
        "no-python",
        "no-package",
        "python-not-an-object",
        "venv-incomplete",
        "command-not-an-object",
        "man-page-incomplete",
    ],
)
def test_a_corrupt_receipt_is_an_error_naming_it(gen: Path, content: str) -> None:
    receipt_path(gen).write_text(content, encoding="utf-8")
    with pytest.raises(ReceiptError, match="receipt corrupt") as info:
        load_receipt(gen)
    assert str(receipt_path(gen)) in info.value.message
    assert "\n" not in info.value.message


def test_a_future_schema_is_named_in_the_error(gen: Path) -> None:
    _write(gen, {**_valid_json(), "schema": 2})
    with pytest.raises(ReceiptError, match="schema 2"):
        load_receipt(gen)


def test_a_receipt_that_is_not_utf8_is_an_error_naming_it(gen: Path) -> None:
    receipt_path(gen).write_bytes(b'{"schema": 1, "app": "\xff\xfe"}')
    with pytest.raises(ReceiptError) as info:
        load_receipt(gen)
    assert str(receipt_path(gen)) in info.value.message


def test_a_receipt_that_is_a_directory_is_an_error_naming_it(gen: Path) -> None:
    receipt_path(gen).mkdir()
    with pytest.raises(ReceiptError, match="receipt unreadable") as info:
        load_receipt(gen)
    assert str(receipt_path(gen)) in info.value.message
