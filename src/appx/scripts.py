"""PEP 723 scripts: telling a script from a package, reading its metadata block, fetching it.

The block is the one the inline script metadata specification defines
(https://packaging.python.org/en/latest/specifications/inline-script-metadata/):
its reference regex, ``^# /// (?P<type>[a-zA-Z0-9-]+)$\\s(?P<content>(^#(| .*)$\\s)+)^# ///$``,
is the definition this module follows line by line. Beyond it, an opening ``# /// script``
that no closing ``# ///`` ends is an error rather than silently no block.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException, HTTPMessage, HTTPResponse
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from appx.credentials import redact
from appx.errors import InstallerError, SpecError

if TYPE_CHECKING:
    from typing import IO

__all__ = [
    "MAX_SCRIPT_BYTES",
    "ScriptMetadata",
    "fetch_script",
    "is_script",
    "read_script_metadata",
]

MAX_SCRIPT_BYTES = 10 * 1024 * 1024
_URL_SCHEMES = frozenset({"http", "https"})
_OPENING = re.compile(r"# /// (?P<type>[a-zA-Z0-9-]+)")
_CLOSING = "# ///"
_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column \d+\)$")
_SPEC_HINT = "see https://packaging.python.org/en/latest/specifications/inline-script-metadata/"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def is_script(arg: str, cwd: Path) -> bool:
    """Whether ``appx run ARG`` names a script (an existing ``*.py`` file, an http(s) URL)."""
    if is_http_url(arg):
        return True
    return arg.endswith(".py") and (cwd / arg).is_file()


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc)


# -- the metadata block ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptMetadata:
    """What a script's ``# /// script`` block asks for (nothing when it has no block)."""

    dependencies: tuple[str, ...]
    requires_python: str | None
    has_block: bool


@dataclass(frozen=True)
class _Block:
    type: str
    line: int  # 1-based number of its opening line
    content: str


def read_script_metadata(text: str, source: str) -> ScriptMetadata:
    """Read and check the script's PEP 723 ``script`` block; a malformed one is a SpecError.

    ``source`` (a path or URL, shown redacted) names the script in error messages.
    """
    # As Python reads source: universal newlines, and a UTF-8 byte-order mark is not text.
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks, unclosed = _find_blocks(lines)
    shown = redact(source)
    if unclosed:
        raise SpecError(
            f"{shown}, line {unclosed[0]}: the '# /// script' block is not closed",
            f"end it with a line '# ///'; every line up to it must start with '#'; {_SPEC_HINT}",
        )
    scripts = [block for block in blocks if block.type == "script"]
    if not scripts:
        return ScriptMetadata(dependencies=(), requires_python=None, has_block=False)
    if len(scripts) > 1:
        at = ", ".join(str(block.line) for block in scripts)
        raise SpecError(
            f"{shown}, line {scripts[1].line}: a second '# /// script' block (at lines {at})",
            f"a script may have one '# /// script' block; {_SPEC_HINT}",
        )
    return _check_block(scripts[0], shown)


def _find_blocks(lines: list[str]) -> tuple[list[_Block], list[int]]:
    """The blocks the reference regex matches, and the lines of unclosed ``script`` openings.

    ``lines`` is the text split at ``\\n``; every line but the last was followed by one.
    """
    blocks: list[_Block] = []
    unclosed: list[int] = []
    index = 0
    while index < len(lines):
        opening = _OPENING.fullmatch(lines[index])
        close = None if opening is None else _closing_line(lines, index)
        if opening is None or close is None:
            # '# /// script' directly followed by a lone '# ///' matches nothing: an empty
            # block is no block for the reference regex, and not an unclosed one either.
            empty = lines[index + 1 : index + 2] == [_CLOSING]
            if opening is not None and opening["type"] == "script" and not empty:
                unclosed.append(index + 1)
            index += 1
            continue
        content = "".join(_strip_comment(line) + "\n" for line in lines[index + 1 : close])
        blocks.append(_Block(opening["type"], index + 1, content))
        index = close + 1
    return blocks, unclosed


def _closing_line(lines: list[str], opening: int) -> int | None:
    """The index of the line that closes the block opened at ``opening``, if one does.

    Every line before the closing one ends with a newline, and those between are content
    lines; the regex is greedy, so the last '# ///' after at least one content line wins.
    """
    closing = None
    at = opening + 1
    while at < len(lines):
        if at >= opening + 2 and lines[at] == _CLOSING:
            closing = at
        if at == len(lines) - 1 or not _is_content(lines[at]):
            break
        at += 1
    return closing


def _is_content(line: str) -> bool:
    return line == "#" or line.startswith("# ")


def _strip_comment(line: str) -> str:
    return line[2:] if line.startswith("# ") else line[1:]


def _check_block(block: _Block, shown: str) -> ScriptMetadata:
    where = f"{shown}, line {block.line}: the '# /// script' block"
    try:
        data = tomllib.loads(block.content)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        if position := _TOML_POSITION.search(detail):
            detail = f"{detail[: position.start()]} (line {block.line + int(position['line'])})"
        raise SpecError(f"{where} is not valid TOML: {detail}", _SPEC_HINT) from None
    dependencies = _dependencies(data.get("dependencies", []), where)
    requires_python = data.get("requires-python")
    if requires_python is not None:
        if not isinstance(requires_python, str):
            raise SpecError(f"{where}: 'requires-python' must be a string", _SPEC_HINT)
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise SpecError(
                f"{where}: requires-python {requires_python!r} is not a version specifier",
                "write it as in pyproject.toml, for example '>=3.11'",
            ) from None
    return ScriptMetadata(dependencies, requires_python, has_block=True)


def _dependencies(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SpecError(f"{where}: 'dependencies' must be a list of strings", _SPEC_HINT)
    for item in value:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]
            raise SpecError(
                f"{where}: dependency {redact(item)!r} is not a valid requirement: {reason}",
                "write each dependency as in pyproject.toml, for example 'rich>=13'",
            ) from None
    return tuple(value)


# -- fetching a script -------------------------------------------------------------------------


def fetch_script(url: str, dest_dir: Path, timeout: float = 30) -> Path:
    """Download a script into ``dest_dir/<sha256 of the URL>/<its name>``, atomically.

    The script keeps its own file name, so its ``sys.argv[0]`` (and argparse's usage line)
    reads as the author wrote it. Credentials in the URL are sent as HTTP basic auth, only
    to the URL's own origin, and never appear in a message.
    """
    shown = redact(url)
    parts = urlsplit(url)
    if not is_http_url(url):
        raise SpecError(f"not an http(s) URL: {shown}", "give a URL that starts with https://")
    request, authorization = _request(parts)
    opener = urllib.request.build_opener(_SameOriginAuthRedirects(parts, authorization))
    try:
        with opener.open(request, timeout=timeout) as response:
            body = _read_capped(response, shown)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response's connection
        raise InstallerError(
            f"cannot download {shown}: HTTP {exc.code} {exc.reason}",
            "check the URL, and that it needs no other credentials",
        ) from None
    except urllib.error.URLError as exc:
        raise InstallerError(
            f"cannot download {shown}: {redact(str(exc.reason))}",
            "check the URL and the network",
        ) from None
    except (OSError, HTTPException) as exc:  # a timeout or a dropped connection while reading
        raise InstallerError(
            f"cannot download {shown}: {redact(str(exc)) or type(exc).__name__}",
            "check the network, then retry",
        ) from None
    return _write_atomically(body, _script_path(url, parts, dest_dir))


def _request(parts: SplitResult) -> tuple[urllib.request.Request, str | None]:
    """A request for the URL without its user-info, and the basic auth header it carried."""
    host = parts.netloc.rpartition("@")[2]
    clean = parts._replace(netloc=host).geturl()
    request = urllib.request.Request(clean, headers={"User-Agent": "appx"})  # noqa: S310 -- http(s) only, checked above
    if parts.username is None:
        return request, None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    request.add_unredirected_header("Authorization", authorization)
    return request, authorization


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


class _SameOriginAuthRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only; send the URL's credentials again only to its origin."""

    def __init__(self, first: SplitResult, authorization: str | None) -> None:
        self.origin = _origin(first)
        self.authorization = authorization

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        target = urlsplit(newurl)
        if target.scheme.lower() not in _URL_SCHEMES:
            raise urllib.error.HTTPError(
                redact(newurl), code, "redirected to a URL that is not http(s)", headers, fp
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and self.authorization and _origin(target) == self.origin:
            new.add_unredirected_header("Authorization", self.authorization)
        return new


def _read_capped(response: HTTPResponse, shown: str) -> bytes:
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_SCRIPT_BYTES:
        raise _too_large(shown)
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > MAX_SCRIPT_BYTES:
            raise _too_large(shown)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(shown: str) -> InstallerError:
    limit = MAX_SCRIPT_BYTES // (1024 * 1024)
    return InstallerError(
        f"cannot download {shown}: larger than {limit} MiB, too large for a script",
        "check that the URL is the script itself, not an archive or a page",
    )


def fetched_script_path(url: str, dest_dir: Path) -> Path:
    """Where `fetch_script` puts the script of ``url`` (it may not be there yet)."""
    return _script_path(url, urlsplit(url), dest_dir)


def _script_path(url: str, parts: SplitResult, dest_dir: Path) -> Path:
    # The redacted URL is hashed: a name derived from a secret would let one test guesses.
    digest = hashlib.sha256(redact(url).encode("utf-8")).hexdigest()[:16]
    name = _UNSAFE_NAME_CHARS.sub("_", parts.path.rpartition("/")[2])[-100:]
    if name.strip(".") == "":
        name = "script.py"
    return dest_dir / digest / name


def _write_atomically(body: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
