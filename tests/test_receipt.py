"""Tests for appx.receipt: a full round trip, atomic private writes, and clear errors."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from appx.credentials import CREDENTIALS_NAME, load_credentials
from appx.errors import NewerReceiptError, ReceiptError
from appx.indexes import IndexOptions
from appx.receipt import (
    RECEIPT_NAME,
    SCHEMA_VERSION,
    DirectUrl,
    ExposedCommand,
    ExposedManPage,
    PythonInfo,
    Receipt,
    VenvInfo,
    direct_urls,
    load_receipt,
    read_direct_url,
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
            requested_by="--python",
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
        index=IndexOptions(
            index_url="https://user:****@index.example.org/simple",
            extra_index_urls=("https://extra.example.org/simple",),
            find_links=("/srv/wheels",),
            no_index=False,
            pre=True,
            trusted_hosts=("extra.example.org",),
            constraints=("/srv/constraints.txt",),
            pip_args=("--no-cache-dir", "--prefer-binary"),
        ),
        distributions={"black": "24.1.0", "click": "8.1.7"},
        direct_urls={
            "black": DirectUrl("https://github.com/psf/black", "vcs", vcs="git", commit_id="abc123")
        },
        commands=(
            ExposedCommand("black", "black-b", "console", "black"),
            ExposedCommand("blackd", "blackd-b", "console", "black"),
        ),
        man_pages=(ExposedManPage("man1", "black.1", "black-b.1", "black"),),
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
    assert isinstance(loaded.index.pip_args, tuple)
    assert loaded.index.find_links == ("/srv/wheels",)
    assert isinstance(loaded.injected, tuple)
    assert isinstance(loaded.pins, tuple)
    assert loaded.commands[1] == ExposedCommand("blackd", "blackd-b", "console", "black")
    assert loaded.man_pages[0].exposed_as == "black-b.1"
    assert loaded.python.executable == "/usr/bin/python3.12"
    assert loaded.distributions == {"black": "24.1.0", "click": "8.1.7"}


def test_a_minimal_receipt_round_trips_with_defaults(gen: Path) -> None:
    receipt = replace(
        _receipt(), index=IndexOptions(), commands=(), man_pages=(), injected=(), pins=()
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
        json.dumps({**_valid_json(), "schema": 0}),
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
        "unknown-schema",
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


# ---------------------------------------------------------------- validation (items 9, 15)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"app": ["black"]}, "app is not a string"),
        ({"editable": "yes"}, "editable is not true or false"),
        ({"schema": True}, "schema is not an integer"),
        ({"index": {"index_url": 3}}, "index.index_url is not a string"),
        ({"index": {"pip_args": "--pre"}}, "index.pip_args is not a list"),
        ({"index": {"pip_args": ["--pre", 1]}}, "index.pip_args[1] is not a string"),
        ({"index": {"no_index": "no"}}, "index.no_index is not true or false"),
        ({"distributions": {"black": 24}}, "distributions.black is not a string"),
        ({"python": ["3.12"]}, "python is not an object"),
        ({"venv": {"python": "/x"}}, "venv.purelib is missing"),
        ({"commands": [["black"]]}, "commands[0] is not an object"),
        ({"commands": {"name": "x"}}, "commands is not a list"),
        ({"man_pages": [{"name": "x.1"}]}, "man_pages[0].section is missing"),
        ({"direct_urls": {"black": {"url": "u", "kind": "svn"}}}, "direct_urls.black.kind"),
    ],
)
def test_a_field_of_the_wrong_type_is_named_in_plain_words(
    gen: Path, change: dict[str, Any], reason: str
) -> None:
    _write(gen, {**_valid_json(), **change})
    with pytest.raises(ReceiptError) as info:
        load_receipt(gen)
    assert info.value.message.startswith(f"receipt corrupt: {receipt_path(gen)}: {reason}")
    for internal in ("argument after", "__init__", "Error", "<class"):
        assert internal not in info.value.message


def _command(**fields: str) -> dict[str, str]:
    base = {"name": "black", "exposed_as": "black", "kind": "console", "distribution": "black"}
    return base | fields


def _page(**fields: str) -> dict[str, str]:
    base = {"section": "man1", "name": "black.1", "exposed_as": "black.1", "distribution": "b"}
    return base | fields


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"commands": [_command(exposed_as="../victimdir/pwned")]}, "commands[0].exposed_as"),
        ({"commands": [_command(name="/etc/passwd")]}, "commands[0].name"),
        ({"commands": [_command(exposed_as="..")]}, "is a relative directory name"),
        ({"commands": [_command(exposed_as="-rf")]}, "starts with '-'"),
        ({"man_pages": [_page(section="../../bin")]}, "man_pages[0].section"),
        ({"man_pages": [_page(section="man0")]}, "is not man1 to man9"),
        ({"man_pages": [_page(name="../x.1")]}, "man_pages[0].name"),
        ({"man_pages": [_page(exposed_as="a/b.1")]}, "man_pages[0].exposed_as"),
        ({"app": "../black"}, "app '../black' contains a path separator"),
        ({"app": ""}, "app '' is empty"),
        ({"suffix": "/x"}, "suffix '/x'"),
    ],
)
def test_a_name_that_could_leave_its_directory_makes_the_receipt_corrupt(
    gen: Path, change: dict[str, Any], reason: str
) -> None:
    _write(gen, {**_valid_json(), **change})
    with pytest.raises(ReceiptError, match="receipt corrupt") as info:
        load_receipt(gen)
    assert reason in info.value.message
    assert info.value.exit_code == 9


def test_an_old_receipt_without_the_new_fields_still_loads(gen: Path) -> None:
    data = _valid_json()
    del data["direct_urls"]
    del data["python"]["requested_by"]
    _write(gen, data)
    loaded = load_receipt(gen)
    assert loaded.direct_urls == {}
    assert loaded.python.requested_by == ""


def test_unknown_fields_from_a_newer_appx_are_ignored(gen: Path) -> None:
    data = _valid_json()
    data["future_field"] = {"x": 1}
    data["python"]["future_field"] = 1
    _write(gen, data)
    assert load_receipt(gen) == _receipt()


# ---------------------------------------------------------------- secrets (item 1)


def _secret_receipt() -> Receipt:
    return replace(
        _receipt(),
        spec="toola @ http://alice:pw@h/x.whl",
        requirement="toola@ http://alice:pw@h/x.whl",
        index=IndexOptions(
            index_url="https://ghp_TOKEN@h/simple",
            extra_index_urls=("https://carol:pw3@h3/simple",),
            find_links=("https://tok4@h4/wheels/",),
            pip_args=("--pre", "--extra-index-url=https://bob:pw2@h2/s"),
        ),
    )


def test_secrets_never_reach_the_receipt_but_are_kept_for_a_rebuild(gen: Path) -> None:
    save_receipt(gen, _secret_receipt())
    text = (gen / RECEIPT_NAME).read_text(encoding="utf-8")
    for secret in ("pw@", "ghp_TOKEN", "pw2", "pw3", "tok4"):
        assert secret not in text
    loaded = load_receipt(gen)
    assert loaded.spec == "toola @ http://alice:****@h/x.whl"
    assert loaded.index.index_url == "https://****@h/simple"
    assert loaded.index.extra_index_urls == ("https://carol:****@h3/simple",)
    assert loaded.index.find_links == ("https://****@h4/wheels/",)
    assert loaded.index.pip_args == ("--pre", "--extra-index-url=https://bob:****@h2/s")
    credentials = gen / CREDENTIALS_NAME
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert loaded.with_secrets(load_credentials(gen)) == _secret_receipt()


def test_a_receipt_without_secrets_gets_no_credentials_file(gen: Path) -> None:
    save_receipt(gen, replace(_receipt(), index=IndexOptions(index_url="https://h/simple")))
    assert not (gen / CREDENTIALS_NAME).exists()
    assert load_credentials(gen) == {}


def test_splitting_secrets_round_trips(gen: Path) -> None:
    public, secrets = _secret_receipt().split_secrets()
    assert set(secrets) == {
        "spec",
        "requirement",
        "index.index_url",
        "index.extra_index_urls.0",
        "index.find_links.0",
        "index.pip_args.1",
    }
    assert public.with_secrets(secrets) == _secret_receipt()
    assert public.split_secrets() == (public, {})


# ---------------------------------------------------------------- direct URLs


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {
                "url": "https://github.com/o/r",
                "vcs_info": {"vcs": "git", "commit_id": "abc", "requested_revision": "v1"},
            },
            DirectUrl("https://github.com/o/r", "vcs", "git", "abc", "v1"),
        ),
        (
            {"url": "https://h/x-1.0.tar.gz", "archive_info": {"hash": "sha256=ff"}},
            DirectUrl("https://h/x-1.0.tar.gz", "archive", archive_hash="sha256=ff"),
        ),
        (
            {"url": "https://h/x.whl", "archive_info": {"hashes": {"sha256": "ee"}}},
            DirectUrl("https://h/x.whl", "archive", archive_hash="sha256=ee"),
        ),
        (
            {"url": "file:///src/proj", "dir_info": {"editable": True}},
            DirectUrl("file:///src/proj", "dir", editable=True),
        ),
        (
            {"url": "https://tok@h/x.whl", "archive_info": {}},
            DirectUrl("https://****@h/x.whl", "archive"),
        ),
        ({"url": "file:///x", "other_info": {}}, None),
        ({"vcs_info": {}}, None),
        ([], None),
    ],
)
def test_direct_url_records_where_a_distribution_came_from(
    tmp_path: Path, content: Any, expected: DirectUrl | None
) -> None:
    dist_info = tmp_path / "x-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "direct_url.json").write_text(json.dumps(content), encoding="utf-8")
    assert read_direct_url(dist_info) == expected
    assert direct_urls([("x", dist_info)]) == ({"x": expected} if expected else {})


def test_a_distribution_from_an_index_has_no_direct_url(tmp_path: Path) -> None:
    assert read_direct_url(tmp_path) is None
    (tmp_path / "direct_url.json").write_text("{", encoding="utf-8")
    assert read_direct_url(tmp_path) is None


def test_a_receipt_written_before_the_index_table_loads_its_index_options(gen: Path) -> None:
    data = _receipt().to_json()
    del data["index"]
    data["index_url"] = "https://index.example.org/simple"
    data["pip_args"] = ["--prefer-binary"]
    _write(gen, data)
    loaded = load_receipt(gen)
    assert loaded.index == IndexOptions(
        index_url="https://index.example.org/simple", pip_args=("--prefer-binary",)
    )


def test_a_receipt_from_a_newer_appx_says_so_and_how_to_go_on(gen: Path) -> None:
    save_receipt(gen, _receipt())
    path = gen / "appx-receipt.json"
    path.write_text(path.read_text().replace('"schema": 1', '"schema": 2'))
    with pytest.raises(NewerReceiptError) as raised:
        load_receipt(gen)
    assert "written by a newer appx" in raised.value.message
    assert raised.value.exit_code == 9
    assert "upgrade this one" in raised.value.hint
    path.write_text(path.read_text().replace('"schema": 2', '"schema": 0'))
    with pytest.raises(ReceiptError) as older:  # not newer: corrupt, rebuilt with --force
        load_receipt(gen)
    assert not isinstance(older.value, NewerReceiptError)
