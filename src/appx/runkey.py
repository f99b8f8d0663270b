"""What names a run env, and where it is: shared by `appx run` and its cached fast path.

Everything here is cheap to import (os, re, fcntl, the builtin sha256): the fast path that execs a
cached app imports this module and nothing heavier.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Literal

try:  # CPython's own sha256, without loading OpenSSL (a few ms of a cached run)
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # 3.12+
except ImportError:  # pragma: no cover -- by Python version
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]

LAUNCH_NAME = "appx-launch"  # in a run env's generation: "command<TAB>script" lines
LAST_USE_NAME = "last-use"  # in a run env's unit dir: its mtime is the last use
DEFAULT_TTL_DAYS = 7.0

# APP as pipx and uvx users type it: a name, extras, and an optional ==version or @version.
_APP = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"(?P<extras>\[[A-Za-z0-9._,\s-]*\])?"
    r"(?:(?:==|@)(?P<version>[A-Za-z0-9._+!-]+))?"
)


def app_requirement(app: str) -> tuple[str, str] | None:
    """(requirement, command) for APP: `black` -> ("black", "black"), `Black@24.1` ->
    ("black==24.1", "Black"); None when APP is not a plain name."""
    match = _APP.fullmatch(app.strip())
    if match is None:
        return None
    name = match["name"]
    requirement = re.sub(r"[-_.]+", "-", name).lower()
    if match["extras"]:
        extras = sorted({e.strip().lower() for e in match["extras"][1:-1].split(",") if e.strip()})
        requirement += f"[{','.join(extras)}]" if extras else ""
    if match["version"]:
        requirement += f"=={match['version']}"
    return requirement, name


def run_key(
    kind: Literal["package", "script"],
    requirements: Sequence[str],
    python: str,
    backend: str,
    index_url: str | None,
    pip_args: Sequence[str],
) -> str:
    """The cache key of a run env: 16 hex digits over exactly what was asked for.

    A package's env and a script's env never share a key, even with the same
    requirements (one runs the package's command, the other a bare Python). Pass
    index texts redacted: a token never reaches the key, and two tokens for one
    index share an env.
    """
    fields = [kind, "\0", *requirements, "\0", python, "\0", backend, "\0", index_url or ""]
    fields += ["\0", *pip_args]
    digest: str = sha256("\n".join(fields).encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:16]


def run_dirs(environ: Mapping[str, str]) -> tuple[str, str]:
    """(APPX_HOME, APPX_CACHE_DIR) by the XDG rules that `AppxPaths.from_env` applies.

    A copy of those rules without platformdirs, for the fast path; a test holds the
    two equal.
    """
    home = os.path.expanduser("~")

    def xdg(variable: str, fallback: str) -> str:
        value = environ.get(variable, "").strip()
        return value if value else os.path.join(home, fallback)

    data = environ.get("APPX_HOME") or os.path.join(xdg("XDG_DATA_HOME", ".local/share"), "appx")
    cache = environ.get("APPX_CACHE_DIR") or os.path.join(xdg("XDG_CACHE_HOME", ".cache"), "appx")
    return os.path.expanduser(data), os.path.expanduser(cache)


def ttl_seconds(environ: Mapping[str, str]) -> float:
    """How long a run env stays fresh: APPX_RUN_TTL_DAYS (default 7; 0: always rebuild) in
    seconds; a value that is no such number of days counts as the default."""
    return (DEFAULT_TTL_DAYS if ttl_problem(environ) else _ttl_days(environ)) * 86400


def ttl_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with APPX_RUN_TTL_DAYS, or None."""
    text = environ.get("APPX_RUN_TTL_DAYS", "")
    if not text:
        return None
    try:
        days = _ttl_days(environ)
    except ValueError:
        days = -1.0
    if not math.isfinite(days) or days < 0:
        return f"APPX_RUN_TTL_DAYS={text!r} is not a number of days (0 or more): using 7"
    return None


def _ttl_days(environ: Mapping[str, str]) -> float:
    return float(environ.get("APPX_RUN_TTL_DAYS") or DEFAULT_TTL_DAYS)


def is_fresh(built: float, environ: Mapping[str, str], now: float | None = None) -> bool:
    """Whether an env built at ``built`` (a timestamp) is younger than the TTL."""
    return (time.time() if now is None else now) - built < ttl_seconds(environ)


def run_lock_path(home: str, key: str) -> str:
    """The lock a running app holds shared on its run env (under APPX_HOME/locks/run)."""
    return os.path.join(home, "locks", "run", f"{key}.lock")


def share_lock(path: str) -> int | None:
    """Take the lock file at ``path`` shared, on a descriptor an exec'd program inherits and
    so holds while it runs; None when someone holds it alone (the env is being deleted)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.set_inheritable(fd, True)
    return fd


def named_command(commands: Mapping[str, str], name: str) -> str | None:
    """The command called ``name``: exactly, else spelled another way (`GUI_App`, `gui-app`)."""
    if name in commands:
        return name
    folded = {_fold(command): command for command in commands}
    return folded.get(_fold(name))


def _fold(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_launch(generation: str) -> dict[str, str]:
    """The commands of a run env's generation and the script each one runs."""
    with open(os.path.join(generation, LAUNCH_NAME), encoding="utf-8") as file:
        lines = file.read().splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)
