"""Reading uv's output: what a dry run names, and uv's error as a hint.

uv has no machine-readable report for ``uv pip install --dry-run``; its lines
`` + name==version`` (or `` + name @ url``) have kept their shape since its first
releases, and anything else is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

from appx.backends.pip import shorten

HINT_LIMIT = 300
_DRY_RUN_LINE = re.compile(
    r"^ \+ (?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:==(?P<version>[^\s;]+)|\s*@\s*\S)"
)
_COMPILED_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)"
)
_CROSS = "\u00d7"  # uv marks a failure with a multiplication sign


def parse_dry_run(text: str) -> dict[str, str]:
    """What uv's dry run would install, name -> version: `` + black==24.1.0``, and
    `` + tool @ file:///src/tool`` with no version ("")."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _DRY_RUN_LINE.match(line)
        if match is not None:
            found[canonicalize_name(match["name"])] = match["version"] or ""
    return found


def parse_compiled(text: str) -> dict[str, str]:
    """What `uv pip compile` pinned, name -> version, from its ``name==version`` lines
    (with or without extras or markers); anything else is skipped."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _COMPILED_LINE.match(line)
        if match is not None:
            found[canonicalize_name(match["name"])] = match["version"]
    return found


def last_error_line(log: Path) -> str:
    """uv's error for the last command in the log, made a one-line hint; "" when none.

    uv says ``error: <what>`` and then its causes (``Caused by: ...``), or ``x No
    solution found ...`` and then the reason (``... Because ...``): the last cause is
    the most precise.
    """
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.rpartition("\n$ ")[2].splitlines()
    start = next((i for i, line in enumerate(lines) if _is_error(line)), None)
    if start is None:
        return ""
    first = _clean(lines[start])
    causes = [_clean(line) for line in lines[start + 1 :] if _is_cause(line)]
    return shorten(causes[-1] if causes else first, HINT_LIMIT)


def _is_error(line: str) -> bool:
    return line.startswith("error:") or line.lstrip().startswith(_CROSS)


def _is_cause(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("Caused by:", "cause:", "╰─▶"))  # "cause:" since uv 0.10


def _clean(line: str) -> str:
    text = line.strip().lstrip(_CROSS + "╰─▶ ").strip()
    for prefix in ("error:", "Caused by:", "cause:"):
        text = text.removeprefix(prefix).strip()
    return text
