"""pip's words in uv's language: index options, --pip-args and pip's settings, for uv.

Pure functions. What uv understands the same way is translated; any pip argument
uv cannot honour comes back as an `Untranslatable`, which names it and says why,
so that the app can be built with pip instead (see `backends.settle_backend`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from appx.backends.pip_isolation import resolve_option, takes_value
from appx.credentials import redact
from appx.indexes import IndexFlags, IndexOptions


@dataclass(frozen=True)
class Untranslatable:
    """A pip argument uv cannot honour, and why (both safe to show: secrets hidden)."""

    arg: str
    reason: str

    def describe(self) -> str:
        return f"uv cannot honour --pip-args {self.arg!r}: {self.reason}"


def _same(flag: str) -> Callable[[str], list[str]]:
    return lambda value: [flag, value]


def _each(flag: str) -> Callable[[str], list[str]]:
    """pip takes ``a,b`` where uv takes the flag once per package."""
    return lambda value: [arg for part in value.split(",") if part for arg in (flag, part)]


def _flag(*uv_args: str) -> Callable[[str], list[str]]:
    return lambda _value: list(uv_args)


# pip's option (full long name) -> uv's arguments for its value ("" for a flag).
_TRANSLATED: Mapping[str, Callable[[str], list[str]]] = {
    "index-url": _same("--default-index"),
    "extra-index-url": _same("--index"),
    "find-links": _same("--find-links"),
    "trusted-host": _same("--allow-insecure-host"),
    "constraint": _same("--constraint"),
    "only-binary": _each("--only-binary"),
    "no-binary": _each("--no-binary"),
    "no-index": _flag("--no-index"),
    "pre": _flag("--prerelease", "allow"),
    "no-deps": _flag("--no-deps"),
    "no-dependencies": _flag("--no-deps"),
    "require-hashes": _flag("--require-hashes"),
    "no-build-isolation": _flag("--no-build-isolation"),
    "no-cache-dir": _flag("--no-cache"),
    # Only pip's own chatter, or nothing to do in a fresh venv: uv needs no word for them.
    "quiet": _flag(),
    "verbose": _flag(),
    "no-input": _flag(),
    "no-color": _flag(),
    "disable-pip-version-check": _flag(),
    "no-warn-script-location": _flag(),
    "no-python-version-warning": _flag(),
    "progress-bar": _flag(),
    "root-user-action": _flag(),
    "upgrade": _flag(),
    "ignore-installed": _flag(),
}
# pip's short options (`pip install`), by the long option each one spells.
_SHORT = {
    "c": "constraint",
    "e": "editable",
    "r": "requirement",
    "i": "index-url",
    "f": "find-links",
    "t": "target",
    "U": "upgrade",
    "q": "quiet",
    "v": "verbose",
    "C": "config-settings",
    "I": "ignore-installed",
    "h": "help",
}
_NO_EQUIVALENT = "uv has no option that does the same"


def translate_pip_args(args: Sequence[str]) -> list[str] | Untranslatable:
    """uv's arguments for pip's, read with pip's own rules (abbreviations, ``--opt=value``,
    ``-iURL``, clusters such as ``-qi URL``); or the first argument uv cannot honour."""
    translated: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg.startswith("--") and arg != "--":
            name, equals, attached = arg[2:].partition("=")
            option = resolve_option(name.lower())[0]
            value = attached
            if option is not None and takes_value(option) and not equals:
                if position >= len(args):
                    return Untranslatable(redact(arg), "it needs a value")
                value = args[position]
                position += 1
            step = _translate(arg, option, value)
        elif arg.startswith("-") and len(arg) > 1 and arg != "--":
            step, position = _translate_cluster(args, arg, position)
        else:
            step = Untranslatable(
                redact(arg), "a requirement or '--' in --pip-args is for pip only"
            )
        if isinstance(step, Untranslatable):
            return step
        translated += step
    return translated


def _translate(arg: str, option: str | None, value: str) -> list[str] | Untranslatable:
    if option is None:
        return Untranslatable(redact(arg), "it is not an option of 'pip install'")
    if option not in _TRANSLATED:
        return Untranslatable(redact(arg), _NO_EQUIVALENT)
    return _TRANSLATED[option](value)


def _translate_cluster(
    args: Sequence[str], arg: str, position: int
) -> tuple[list[str] | Untranslatable, int]:
    """A cluster of short options (``-q``, ``-qq``, ``-iURL``, ``-qi URL``)."""
    translated: list[str] = []
    for index, char in enumerate(arg[1:], start=2):
        option = _SHORT.get(char)
        if option is None:
            unknown = f"-{char} is not an option of 'pip install'"
            return Untranslatable(redact(arg), unknown), position
        if not takes_value(option):
            step = _translate(arg, option, "")
        else:  # the rest of the cluster is its value, or the next argument when none is left
            value = arg[index:]
            if not value:
                if position >= len(args):
                    return Untranslatable(redact(arg), "it needs a value"), position
                value = args[position]
                position += 1
            return _joined(translated, _translate(arg, option, value)), position
        if isinstance(step, Untranslatable):
            return step, position
        translated += step
    return translated, position


def _joined(before: list[str], step: list[str] | Untranslatable) -> list[str] | Untranslatable:
    return step if isinstance(step, Untranslatable) else before + step


UV_FLAGS = IndexFlags(
    index_url="--default-index",
    extra_index_url="--index",
    find_links="--find-links",
    trusted_host="--allow-insecure-host",
    constraint="--constraint",
    no_index=("--no-index",),
    pre=("--prerelease", "allow"),
)


def index_args(index: IndexOptions) -> list[str] | Untranslatable:
    """uv's arguments for a set of index options; the translated pip args come last."""
    args = index.argv(UV_FLAGS)
    extra = translate_pip_args(index.pip_args)
    return extra if isinstance(extra, Untranslatable) else args + extra


# ---------------------------------------------------------------- pip's settings

_TRUE = frozenset({"1", "true", "yes", "on"})


def _words(value: str) -> list[str]:
    return value.split()


# pip's setting -> (uv's variables, any of which set means the user chose for uv, and
# how to write pip's value for the first one).
_SETTINGS: Mapping[str, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    "index-url": (("UV_DEFAULT_INDEX", "UV_INDEX_URL"), lambda value: value),
    "extra-index-url": (("UV_INDEX", "UV_EXTRA_INDEX_URL"), lambda value: value),
    "find-links": (("UV_FIND_LINKS",), lambda value: ",".join(_words(value))),
    "trusted-host": (("UV_INSECURE_HOST",), lambda value: value),
    "constraint": (("UV_CONSTRAINT",), lambda value: value),
    "no-index": (("UV_NO_INDEX",), lambda value: "1" if value.lower() in _TRUE else None),
    "pre": (("UV_PRERELEASE",), lambda value: "allow" if value.lower() in _TRUE else None),
    "timeout": (("UV_HTTP_TIMEOUT",), lambda value: value),
    "default-timeout": (("UV_HTTP_TIMEOUT",), lambda value: value),
    "cert": (("SSL_CERT_FILE",), lambda value: value),
}


def uv_settings_from_pip(
    pip_settings: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """uv's variables for the user's pip settings (``index-url`` -> ``UV_DEFAULT_INDEX``...),
    so both backends use the same indexes; a uv variable the user set wins."""
    found: dict[str, str] = {}
    for setting, value in pip_settings.items():
        if setting not in _SETTINGS or not value:
            continue
        variables, convert = _SETTINGS[setting]
        if any(environ.get(name) for name in variables) or variables[0] in found:
            continue
        converted = convert(value)
        if converted:
            found[variables[0]] = converted
    return found
