"""Where packages come from: index options that every backend honours, recorded in receipts.

The structured options mean the same to pip and uv; ``pip_args`` is pip's own
pass-through, recorded and replayed on every rebuild but not understood by appx.
Any of the texts may hold a secret (a token in a URL): `texts` names each one
with a key, so the receipt can store them redacted and keep the originals aside.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from appx.errors import UsageError


@dataclass(frozen=True)
class IndexFlags:
    """How one installer spells each index option (pip's `--extra-index-url` is uv's
    `--index`): the options mean the same to every backend."""

    index_url: str
    extra_index_url: str
    find_links: str
    trusted_host: str
    constraint: str
    no_index: tuple[str, ...]
    pre: tuple[str, ...]


@dataclass(frozen=True)
class IndexOptions:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    trusted_hosts: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()  # absolute paths or URLs of constraint files
    pip_args: tuple[str, ...] = ()  # pip only

    def texts(self) -> Iterator[tuple[str, str]]:
        """Each text that may hold a secret, with a key that names its place."""
        if self.index_url is not None:
            yield "index_url", self.index_url
        for field in ("extra_index_urls", "find_links", "constraints", "pip_args"):
            for position, text in enumerate(getattr(self, field)):
                yield f"{field}.{position}", text

    def argv(self, flags: IndexFlags) -> list[str]:
        """These options as one installer's arguments (without the pip args)."""
        args = [flags.index_url, self.index_url] if self.index_url else []
        for flag, values in (
            (flags.extra_index_url, self.extra_index_urls),
            (flags.find_links, self.find_links),
            (flags.trusted_host, self.trusted_hosts),
            (flags.constraint, self.constraints),
        ):
            for value in values:
                args += [flag, value]
        args += flags.no_index if self.no_index else ()
        args += flags.pre if self.pre else ()
        return args

    def redacted(self) -> IndexOptions:
        """These options with every secret hidden (`credentials.redact`)."""
        from appx.credentials import redact

        return self.map_texts(lambda _key, text: redact(text))

    def map_texts(self, change: Callable[[str, str], str]) -> IndexOptions:
        """These options with ``change(key, text)`` applied to every text `texts` names."""

        def each(field: str) -> tuple[str, ...]:
            values: tuple[str, ...] = getattr(self, field)
            return tuple(change(f"{field}.{i}", text) for i, text in enumerate(values))

        return replace(
            self,
            index_url=None if self.index_url is None else change("index_url", self.index_url),
            extra_index_urls=each("extra_index_urls"),
            find_links=each("find_links"),
            constraints=each("constraints"),
            pip_args=each("pip_args"),
        )


def absolute_location(text: str, cwd: Path) -> str:
    """A URL as it is; a local path made absolute, so a rebuild finds it from anywhere."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        return text
    return str(cwd / Path(text).expanduser())


def split_pip_args(text: str) -> tuple[str, ...]:
    """Split --pip-args as a shell would; bad quoting is a usage error."""
    import shlex  # only install-like commands take --pip-args

    try:
        return tuple(shlex.split(text))
    except ValueError as error:
        raise UsageError(
            f"--pip-args: {str(error).lower()}: {text}",
            'quote pip\'s arguments as one shell word: --pip-args "--pre --no-cache-dir"',
        ) from error
