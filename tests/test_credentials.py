"""Tests for appx.credentials: secrets in every URL form are hidden; the credentials file."""

from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import pytest

from appx.credentials import (
    CREDENTIALS_NAME,
    has_secret,
    load_credentials,
    redact,
    save_credentials,
    split_secrets,
)
from appx.errors import ReceiptError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://alice:pw@h/simple", "http://alice:****@h/simple"),
        ("http://ghp_TOKEN@h/simple", "http://****@h/simple"),
        ("https://:pw@h", "https://:****@h"),
        ("toola @ http://alice:pw@h/x.whl", "toola @ http://alice:****@h/x.whl"),
        ("toola@http://ghp_TOKEN@h/x.whl", "toola@http://****@h/x.whl"),
        ("git+https://ghp_TOKEN@github.com/o/r", "git+https://****@github.com/o/r"),
        ("git+https://u:tok@github.com/o/r@v1", "git+https://u:****@github.com/o/r@v1"),
        ("-i http://ghp_TOKEN@h/simple", "-i http://****@h/simple"),
        ("-ihttp://ghp_TOKEN@h/simple", "-ihttp://****@h/simple"),
        ("--extra-index-url=http://ghp_TOKEN@h/s", "--extra-index-url=http://****@h/s"),
        ("'https://u:p@h/s'", "'https://u:****@h/s'"),
        # a password may hold an '@': everything up to the authority's last '@' is hidden
        ("https://u:p@ss@h/s", "https://u:****@h/s"),
        ("https://h/s?next=https://tok@h2/x", "https://h/s?next=https://****@h2/x"),
        ("$ pip install -i https://tok@a/s https://u:p@b/x.whl", None),
    ],
)
def test_every_url_form_hides_its_secret(text: str, shown: str | None) -> None:
    hidden, found = split_secrets(text)
    assert found
    assert has_secret(text)
    if shown is not None:
        assert hidden == shown
    for secret in ("pw", "ghp_TOKEN", "tok", "p@ss"):
        assert f"{secret}@" not in hidden
    assert redact(text) == hidden


@pytest.mark.parametrize(
    "text",
    [
        "black",
        "https://example.org/simple",
        "git+ssh://git@github.com/o/r",
        "mail me at someone@example.org",
        "https://example.org/x.whl and user@example.org",
        "/home/me/proj@2",
        "https://u:****@h/s",
        "https://****@h/s",
    ],
)
def test_text_without_a_secret_is_unchanged(text: str) -> None:
    assert split_secrets(text) == (text, False)
    assert redact(text) == text


def test_credentials_are_kept_only_when_there_is_a_secret(tmp_path: Path) -> None:
    assert save_credentials(tmp_path, {"spec": "black", "index_url": "https://h/s"}) is None
    assert not (tmp_path / CREDENTIALS_NAME).exists()
    assert load_credentials(tmp_path) == {}


def test_credentials_file_keeps_the_originals_privately(tmp_path: Path) -> None:
    values = {"spec": "black", "index_url": "https://tok@h/s", "pip_args.1": "https://u:p@h/x"}
    path = save_credentials(tmp_path, values)
    assert path == tmp_path / CREDENTIALS_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(tmp_path) == {
        "index_url": "https://tok@h/s",
        "pip_args.1": "https://u:p@h/x",
    }
    assert not list(tmp_path.glob(f".{CREDENTIALS_NAME}*")), "no temp file is left"


@pytest.mark.parametrize("content", ["{", "[]", '{"spec": 1}'])
def test_damaged_credentials_name_the_file_not_the_content(tmp_path: Path, content: str) -> None:
    (tmp_path / CREDENTIALS_NAME).write_text(content, encoding="utf-8")
    with pytest.raises(ReceiptError, match="credentials corrupt") as info:
        load_credentials(tmp_path)
    assert str(tmp_path / CREDENTIALS_NAME) in info.value.message


def test_credentials_that_cannot_be_read_are_a_receipt_error(tmp_path: Path) -> None:
    (tmp_path / CREDENTIALS_NAME).mkdir()
    with pytest.raises(ReceiptError, match="credentials unreadable"):
        load_credentials(tmp_path)


def test_the_credentials_file_is_json(tmp_path: Path) -> None:
    save_credentials(tmp_path, {"spec": "x @ https://tok@h/x.whl"})
    data = json.loads((tmp_path / CREDENTIALS_NAME).read_text(encoding="utf-8"))
    assert data == {"spec": "x @ https://tok@h/x.whl"}
