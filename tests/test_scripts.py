"""PEP 723 scripts: a script or a package, the ``# /// script`` block, fetching one from a URL."""

from __future__ import annotations

import base64
import itertools
import re
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from appx.errors import InstallerError, SpecError
from appx.scripts import MAX_SCRIPT_BYTES, ScriptMetadata, fetch_script, is_script
from appx.scripts import read_script_metadata as read

if TYPE_CHECKING:
    from collections.abc import Iterator

NO_BLOCK = ScriptMetadata(dependencies=(), requires_python=None, has_block=False)

# -- a script or a package ---------------------------------------------------------------------


def test_an_existing_py_file_is_a_script_relative_or_absolute(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hello.py").write_text("print('hi')\n")

    assert is_script("sub/hello.py", tmp_path)
    assert is_script(str(tmp_path / "sub" / "hello.py"), Path("/"))


@pytest.mark.parametrize(
    "arg",
    [
        "black",
        "foo.py",  # no such file: a package named like a file
        "pkg.py",  # a directory
        "tool",  # a file, but not *.py
        "black==24.1.0",
        "black @ https://example.com/black.py",
        "git+https://example.com/repo.git",
        "file:///tmp/hello.py",
        "https:hello.py",
    ],
)
def test_anything_else_is_a_package(tmp_path: Path, arg: str) -> None:
    (tmp_path / "pkg.py").mkdir()
    (tmp_path / "tool").write_text("")

    assert not is_script(arg, tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hello.py",
        "http://127.0.0.1:8000/raw/abc123",
        "HTTPS://Example.com/gist",
        "https://user:secret@example.com/x.py",
    ],
)
def test_an_http_url_is_a_script_whatever_its_path(tmp_path: Path, url: str) -> None:
    assert is_script(url, tmp_path)


# -- reading the block -------------------------------------------------------------------------

EXAMPLE = """\
#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = [
#   "requests<3",
#   "rich",
# ]
# ///

import requests
"""


def test_a_script_without_a_block_asks_for_nothing() -> None:
    assert read("import sys\nprint(sys.argv)\n", "hello.py") == NO_BLOCK
    assert read("", "empty.py") == NO_BLOCK


def test_the_block_gives_dependencies_and_requires_python() -> None:
    assert read(EXAMPLE, "example.py") == ScriptMetadata(
        dependencies=("requests<3", "rich"), requires_python=">=3.11", has_block=True
    )


def test_crlf_and_cr_newlines_read_as_lf() -> None:
    expected = read(EXAMPLE, "example.py")

    assert read(EXAMPLE.replace("\n", "\r\n"), "example.py") == expected
    assert read(EXAMPLE.replace("\n", "\r"), "example.py") == expected


def test_a_byte_order_mark_is_not_part_of_the_first_line() -> None:
    assert read("\ufeff" + EXAMPLE.partition("\n")[2], "bom.py").has_block


def test_a_block_with_neither_key_is_still_a_block() -> None:
    text = "# /// script\n# [tool.appx]\n# x = 1\n# ///\n"

    assert read(text, "s.py") == ScriptMetadata((), None, has_block=True)


def test_comments_and_blank_comment_lines_inside_the_block() -> None:
    text = (
        "import os\n"
        "# /// script\n"
        "# # the runtime\n"
        '# requires-python = ">=3.9"\n'
        "#\n"
        "# dependencies = [\n"
        '#     "httpx",  # the client\n'
        "# ]\n"
        "# ///\n"
    )

    assert read(text, "s.py") == ScriptMetadata(("httpx",), ">=3.9", has_block=True)


def test_the_block_may_end_the_file_without_a_newline() -> None:
    assert read('# /// script\n# dependencies = ["a"]\n# ///', "s.py").dependencies == ("a",)


def test_the_last_closing_line_of_a_run_of_comments_ends_the_block() -> None:
    # The specification's own example: '# ///' lines inside the TOML do not end the block.
    text = (
        "# /// script\n"
        '# embedded-csharp = """\n'
        "# /// <summary>\n"
        "# /// text\n"
        "# ///\n"
        "# /// </summary>\n"
        "# public class MyClass { }\n"
        '# """\n'
        "# ///\n"
    )

    assert read(text, "s.py") == ScriptMetadata((), None, has_block=True)


def test_comments_after_the_block_do_not_extend_it() -> None:
    text = '# /// script\n# dependencies = ["a"]\n# ///\n# just a comment\n#\nx = 1\n'

    assert read(text, "s.py").dependencies == ("a",)


@pytest.mark.parametrize(
    "text",
    [
        '# /// script \n# dependencies = ["a"]\n# ///\n',  # trailing space: no opening line
        '#/// script\n# dependencies = ["a"]\n# ///\n',
        '#  /// script\n# dependencies = ["a"]\n# ///\n',
        "# /// script\n# ///\n",  # empty: the regex needs one content line
        '"""\n# /// scripts\n# dependencies = ["a"]\n# ///\n"""\n',  # another type
    ],
)
def test_what_the_reference_regex_does_not_match_is_no_block(text: str) -> None:
    assert read(text, "s.py") == NO_BLOCK


def test_blocks_of_other_types_are_ignored() -> None:
    other = "# /// pyproject\n# [run]\n# x = 1\n# ///\n"
    script = '# /// script\n# dependencies = ["a"]\n# ///\n'

    assert read(f"{other}\n{script}", "s.py").dependencies == ("a",)
    # Without a line between them, the first block runs on to the last '# ///'.
    assert read(f"{other}{script}", "s.py") == NO_BLOCK


# -- malformed blocks: each names the source and the line ------------------------------------


def error_for(text: str, source: str = "tool.py") -> SpecError:
    with pytest.raises(SpecError) as caught:
        read(text, source)
    assert caught.value.exit_code == 3
    return caught.value


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('x = 1\n# /// script\n# dependencies = ["a"]\n\n# ///\n', 2),  # a blank line ends it
        ('# /// script\n# dependencies = ["a"]\nimport os\n', 1),
        ('# /// script\n# dependencies = ["a"]\n#///\n', 1),
        ("import os\n\n# /// script", 3),
        ('# /// script\n#dependencies = ["a"]\n# ///\n', 1),  # '#x' is not a content line
    ],
)
def test_an_unclosed_block_is_an_error_at_its_line(text: str, line: int) -> None:
    error = error_for(text)

    assert error.message == f"tool.py, line {line}: the '# /// script' block is not closed"
    assert "# ///" in error.hint


def test_two_script_blocks_are_an_error_naming_both() -> None:
    block = '# /// script\n# dependencies = ["a"]\n# ///\n'

    error = error_for(f"{block}x = 1\n{block}")

    assert error.message == "tool.py, line 5: a second '# /// script' block (at lines 1, 5)"


def test_bad_toml_gives_the_block_line_and_the_error_line_in_the_file() -> None:
    text = "import os\n# /// script\n# dependencies = []\n# requires-python = >=3.11\n# ///\n"

    error = error_for(text)

    assert error.message == (
        "tool.py, line 2: the '# /// script' block is not valid TOML: Invalid value (line 4)"
    )


def test_bad_toml_without_a_position_still_names_the_block() -> None:
    error = error_for('# /// script\n# dependencies = ["a\n# ///\n')

    assert error.message.startswith("tool.py, line 1: the '# /// script' block is not valid TOML")


def test_a_closing_line_after_a_comment_run_takes_precedence_and_breaks_the_toml() -> None:
    text = '# /// script\n# dependencies = ["a"]\n# ///\n#\n# ///\n'

    assert "not valid TOML" in error_for(text).message


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('dependencies = "rich"', "'dependencies' must be a list of strings"),
        ("dependencies = [1]", "'dependencies' must be a list of strings"),
        ('dependencies = ["rich >="]', "dependency 'rich >=' is not a valid requirement"),
        ("requires-python = 3.11", "'requires-python' must be a string"),
        ('requires-python = "3.11"', "requires-python '3.11' is not a version specifier"),
    ],
)
def test_wrong_values_are_errors_at_the_block_line(toml: str, problem: str) -> None:
    error = error_for(f"import os\n\n# /// script\n# {toml}\n# ///\n")

    assert error.message.startswith(f"tool.py, line 3: the '# /// script' block: {problem}")


def test_a_source_url_with_credentials_is_redacted() -> None:
    error = error_for("# /// script\n# dependencies = 1\n# ///\n", "https://u:hunter2@host/s.py")

    assert "hunter2" not in error.message + error.hint
    assert error.message.startswith("https://u:****@host/s.py, line 1")


# -- the reference implementation, as the specification gives it ------------------------------

REFERENCE = r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"


def reference_read(script: str) -> dict[str, Any] | None:
    matches = [m for m in re.finditer(REFERENCE, script) if m["type"] == "script"]
    if len(matches) > 1:
        raise ValueError("Multiple script blocks found")
    if not matches:
        return None
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in matches[0]["content"].splitlines(keepends=True)
    )
    return tomllib.loads(content)


LINES = ["# /// script", "# ///", '# dependencies = ["a"]', "#", "", "x = 1", "# /// other", "#x"]


def every_short_script() -> Iterator[str]:
    for count in range(1, 6):
        for lines in itertools.product(LINES, repeat=count):
            yield "\n".join(lines)
            yield "\n".join(lines) + "\n"


def test_every_short_script_reads_as_the_reference_implementation_reads_it() -> None:
    for text in every_short_script():
        try:
            expected = reference_read(text)
        except (ValueError, tomllib.TOMLDecodeError):
            expected = {"error": True}
        try:
            got = read(text, "s.py")
        except SpecError as error:
            # appx also refuses what the reference silently skips: an unclosed block.
            assert expected == {"error": True} or "not closed" in error.message, text
            continue
        if expected is None:
            assert got == NO_BLOCK, text
        else:
            assert got.has_block, text
            assert list(got.dependencies) == expected.get("dependencies", []), text


# -- fetching ----------------------------------------------------------------------------------

HELLO = b"# /// script\n# dependencies = []\n# ///\nprint('hello')\n"
AUTHORIZATION = "Basic " + base64.b64encode(b"user:s3cret").decode()


class ScriptHandler(BaseHTTPRequestHandler):
    """Serves a script, errors, redirects, a huge body, a slow body, and a private script."""

    protocol_version = "HTTP/1.0"
    authorizations: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        route = self.path.partition("?")[0]
        if route == "/private.py":
            self.authorizations.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != AUTHORIZATION:
                self.send_error(401)
                return
        if route in {"/hello.py", "/private.py", "/dir/"}:
            self.reply(200, HELLO)
        elif route.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.partition("?to=")[2])
            self.end_headers()
        elif route == "/huge.py":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.end_headers()
            chunk = b"#" * (1024 * 1024)
            for _ in range(MAX_SCRIPT_BYTES // len(chunk)):
                self.wfile.write(chunk)
            self.wfile.write(b"#")
        elif route == "/declared-huge.py":
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_SCRIPT_BYTES + 1))
            self.end_headers()
        elif route == "/slow.py":
            time.sleep(2)
            self.reply(200, HELLO)
        else:
            self.send_error(404)

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


def serve() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[str]:
    ScriptHandler.authorizations.clear()
    yield from serve()


@pytest.fixture
def other_server() -> Iterator[str]:
    yield from serve()


def leftovers(dest: Path) -> list[str]:
    return sorted(str(path.relative_to(dest)) for path in dest.rglob("*") if path.is_file())


def test_a_script_is_fetched_under_a_hash_of_its_url_keeping_its_name(
    server: str, tmp_path: Path
) -> None:
    path = fetch_script(f"{server}/hello.py", tmp_path / "scripts")

    assert path.read_bytes() == HELLO
    assert path.name == "hello.py"
    assert re.fullmatch(r"[0-9a-f]{16}", path.parent.name)
    assert path.parent.parent == tmp_path / "scripts"
    assert leftovers(tmp_path / "scripts") == [f"{path.parent.name}/hello.py"]  # no temp file


def test_the_same_url_lands_in_the_same_place_and_another_elsewhere(
    server: str, tmp_path: Path
) -> None:
    first = fetch_script(f"{server}/hello.py", tmp_path)

    assert fetch_script(f"{server}/hello.py", tmp_path) == first
    assert fetch_script(f"{server}/hello.py?v=2", tmp_path) != first


def test_a_url_without_a_file_name_gets_one(server: str, tmp_path: Path) -> None:
    assert fetch_script(f"{server}/dir/", tmp_path).name == "script.py"


def test_a_redirect_is_followed(server: str, tmp_path: Path) -> None:
    path = fetch_script(f"{server}/redirect?to={server}/hello.py", tmp_path)

    assert path.read_bytes() == HELLO
    assert path.name == "redirect"


def test_a_redirect_away_from_http_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(InstallerError) as caught:
        fetch_script(f"{server}/redirect?to=ftp://127.0.0.1/hello.py", tmp_path)

    assert "HTTP 302 redirected to a URL that is not http(s)" in caught.value.message


def test_a_failed_write_leaves_no_temp_file(server: str, tmp_path: Path) -> None:
    url = f"{server}/hello.py"
    taken = fetch_script(url, tmp_path)
    taken.unlink()
    (taken / "in-the-way").mkdir(parents=True)  # a directory where the script goes

    with pytest.raises(IsADirectoryError):
        fetch_script(url, tmp_path)

    assert leftovers(tmp_path) == []


def test_a_missing_script_is_an_error_with_the_status(server: str, tmp_path: Path) -> None:
    with pytest.raises(InstallerError) as caught:
        fetch_script(f"{server}/missing.py", tmp_path)

    assert caught.value.message == f"cannot download {server}/missing.py: HTTP 404 Not Found"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("route", ["huge.py", "declared-huge.py"])
def test_a_script_over_10_mib_is_refused_and_nothing_is_kept(
    server: str, tmp_path: Path, route: str
) -> None:
    with pytest.raises(InstallerError) as caught:
        fetch_script(f"{server}/{route}", tmp_path)

    assert "larger than 10 MiB" in caught.value.message
    assert leftovers(tmp_path) == []


def test_an_unreachable_server_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InstallerError) as caught:
        fetch_script("http://127.0.0.1:9/hello.py", tmp_path)  # the discard port: refused

    assert caught.value.message.startswith("cannot download http://127.0.0.1:9/hello.py: ")


def test_a_server_that_does_not_answer_in_time_is_an_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(InstallerError) as caught:
        fetch_script(f"{server}/slow.py", tmp_path, timeout=0.2)

    assert "timed out" in caught.value.message


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        fetch_script("file:///etc/passwd", tmp_path)


def test_credentials_in_the_url_are_sent_and_never_shown(server: str, tmp_path: Path) -> None:
    with_secret = server.replace("http://", "http://user:s3cret@")

    path = fetch_script(f"{with_secret}/private.py", tmp_path)
    with pytest.raises(InstallerError) as caught:
        fetch_script(f"{with_secret}/missing.py", tmp_path)
    with pytest.raises(InstallerError) as refused:
        fetch_script(server.replace("http://", "http://user:wrong@") + "/private.py", tmp_path)

    assert path.read_bytes() == HELLO
    assert ScriptHandler.authorizations[0] == AUTHORIZATION
    shown = caught.value.message + caught.value.hint + refused.value.message
    assert "s3cret" not in shown
    assert "wrong" not in shown
    assert "HTTP 401" in refused.value.message
    assert "s3cret" not in str(path)


def test_credentials_follow_a_redirect_only_to_the_same_origin(
    server: str, other_server: str, tmp_path: Path
) -> None:
    with_secret = server.replace("http://", "http://user:s3cret@")

    fetch_script(f"{with_secret}/redirect?to={server}/private.py", tmp_path)
    with pytest.raises(InstallerError):
        fetch_script(f"{with_secret}/redirect?to={other_server}/private.py", tmp_path)

    assert ScriptHandler.authorizations == [AUTHORIZATION, None]
