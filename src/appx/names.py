"""Names that become paths (DESIGN invariant 6): the one rule for each.

App names, suffixes, command and man page names, package names in canonical form. They
live apart from the dist-info reading (inspect.py) and the spec parsing (specs.py),
because the commands that only read or remove apps (list, uninstall) need the rules and
nothing else of those modules.
"""

from __future__ import annotations

import re
import unicodedata

from appx.errors import SpecError

MAX_NAME_BYTES = 255
MAN_SECTION = re.compile(r"man[1-9]")
# "tool.1", "tool.3p", "tool.1.gz": the stem is the shortest prefix before the extension.
_MAN_NAME = re.compile(r"(?P<stem>.+?)\.(?P<ext>[0-9][A-Za-z]*(?:\.gz)?)")
_NAME_SEPARATORS = re.compile(r"[-_.]+")
_SUFFIX_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def canonical_name(name: str) -> str:
    """A project name in its canonical form (PEP 503): ``Foo.Bar__baz`` is ``foo-bar-baz``.

    PEP 503's own rule, as packaging's canonicalize_name applies it; appx's commands that
    only read or remove (list, uninstall) need no more of packaging, whose import
    (tags, logging, sysconfig) would cost them more than the rest of their work.
    """
    return _NAME_SEPARATORS.sub("-", name).lower()


def name_problem(name: str) -> str | None:
    """Say what makes `name` unfit to become a file name, or None if it is fine."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: bytes that were not UTF-8
        return "is not valid UTF-8"
    checks = (
        (not name, "is empty"),
        ("/" in name or "\\" in name, "contains a path separator"),
        (name in {".", ".."}, "is a relative directory name"),
        (name.startswith("."), "starts with '.'"),
        (name.startswith("-"), "starts with '-'"),
        # " " or "tool " looks like another command in a listing and hides in a shell
        (name != name.strip(), "starts or ends with whitespace"),
        (any(unicodedata.category(char) == "Cc" for char in name), "contains a control character"),
        (size > MAX_NAME_BYTES, f"is longer than {MAX_NAME_BYTES} bytes"),
    )
    return next((problem for failed, problem in checks if failed), None)


def validate_name(name: str, what: str) -> str:
    """Return `name` if it may become a file name (DESIGN invariant 6), else raise SpecError."""
    problem = name_problem(name)
    if problem is not None:
        raise SpecError(
            f"invalid {what}: {name!r}",
            f"the {what} {problem}; a name may not be empty, contain '/' or '\\' or control"
            f" characters, start with '.' or '-', start or end with whitespace, or exceed"
            f" {MAX_NAME_BYTES} bytes",
        )
    return name


def is_man_name(name: str) -> bool:
    """Whether a file name is a man page's: NAME.<section>[.gz]."""
    return _MAN_NAME.fullmatch(name) is not None


def split_man_name(name: str) -> tuple[str, str]:
    """Split a man page file name into stem and extension; raise ValueError if it is not one."""
    match = _MAN_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not a man page name: {name!r}")
    return match["stem"], match["ext"]


def suffix_problem(suffix: str) -> str | None:
    """Say what makes ``suffix`` unfit to end file names, or None if it is fine."""
    if _SUFFIX_RE.fullmatch(suffix):
        return None
    return "is not 1 to 64 letters, digits, '.', '_', '@' or '-'"


def app_name(package: str, suffix: str = "") -> str:
    """The app's directory name: the canonical package name, plus '+<suffix>'."""
    name = canonical_name(package)
    return f"{name}+{suffix}" if suffix else name


def split_app_name(app: str) -> tuple[str, str]:
    """Inverse of app_name: (package, suffix)."""
    package, _, suffix = app.partition("+")
    return package, suffix
