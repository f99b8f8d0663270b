"""The cached `appx run`: read one small file and exec the app, before the CLI is imported.

`__main__` calls `exec_if_cached(argv, environ)` first. It handles only the plain, common
form (`run [--python X] [--spec NAME] [--with PKG]... [-i URL] [--backend B] [--offline]
APP ARGS`) and only a fresh env whose launch file names the command; anything else (another
option, a miss, an expired env, a path or URL, an ambiguous command) returns, and
the full `appx run` decides, builds and explains. It imports os and `appx.runkey`,
nothing more, and prints nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from appx import runkey

_QUIET_OR_VERBOSE = ("-q", "--quiet", "-v", "--verbose")
_BACKENDS = ("uv", "pip")  # automatic selection's order
# Options of `appx run` the fast path understands, each taking a value (the last one counts).
_VALUED = {
    "--python": "python",
    "--spec": "spec",
    "--with": "with",
    "-i": "index",
    "--index-url": "index",
    "--backend": "backend",
}


def exec_if_cached(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Exec the app a cached `appx run` names; return (doing nothing) in every other case."""
    parsed = _parse(argv)
    if parsed is None:
        return
    options, target, args = parsed
    plain = runkey.app_requirement(options["spec"][-1] if options["spec"] else target)
    if plain is None or (options["spec"] and not target):
        return
    requirement, command = plain
    if options["spec"]:
        command = target
    home, cache = runkey.run_dirs(environ)
    if not (os.path.isabs(home) and os.path.isabs(cache)):
        return
    python = options["python"][-1] if options["python"] else environ.get("APPX_DEFAULT_PYTHON", "")
    index = options["index"][-1] if options["index"] else None
    if index is not None and "@" in index:
        return  # a credential: the full path redacts it for the key
    chosen = options["backend"][-1] if options["backend"] else environ.get("APPX_BACKEND", "")
    chosen = chosen.strip()
    if chosen and chosen not in _BACKENDS:
        return  # the full path says what is wrong with it
    # Without APPX_BACKEND the full path would ask whether uv runs: an env either built is good.
    for backend in (chosen,) if chosen else _BACKENDS:
        key = runkey.run_key("package", [requirement, *options["with"]], python, backend, index, [])
        _exec_env(home, os.path.join(cache, "run", key), key, command, args, environ)


def _parse(argv: Sequence[str]) -> tuple[dict[str, list[str]], str, list[str]] | None:
    while argv and argv[0] in _QUIET_OR_VERBOSE:  # they change nothing an exec'd app sees
        argv = argv[1:]
    if len(argv) < 2 or argv[0] != "run":
        return None
    options: dict[str, list[str]] = {
        "python": [],
        "spec": [],
        "with": [],
        "index": [],
        "backend": [],
    }
    position = 1
    while position < len(argv):
        arg = argv[position]
        name, sep, value = arg.partition("=")
        if arg == "--offline":
            position += 1
        elif name in _VALUED and sep and name.startswith("--"):  # click reads -i=X as "=X"
            options[_VALUED[name]].append(value)
            position += 1
        elif arg in _VALUED and position + 1 < len(argv):
            options[_VALUED[arg]].append(argv[position + 1])
            position += 2
        elif arg.startswith("-"):
            return None  # --no-cache, --refresh, --help, --, another option: the full path
        else:
            return options, arg, list(argv[position + 1 :])
    return None


def _exec_env(
    home: str,
    unit: str,
    key: str,
    command: str,
    args: list[str],
    environ: Mapping[str, str],
) -> None:
    try:
        generation = os.path.join(unit, os.readlink(os.path.join(unit, "current")))
        built = os.stat(os.path.join(generation, runkey.LAUNCH_NAME)).st_mtime
        scripts = runkey.read_launch(generation)
    except (OSError, ValueError):
        return
    name = runkey.named_command(scripts, command)
    if name is None or not runkey.is_fresh(built, environ):
        return
    script = scripts[name]
    lock = runkey.share_lock(runkey.run_lock_path(home, key))
    if lock is None:
        return
    try:
        os.utime(os.path.join(unit, runkey.LAST_USE_NAME))
        os.execv(script, [script, *args])  # noqa: S606 -- the user's app, as asked
    except OSError:
        os.close(lock)  # a broken env: the full path rebuilds it
