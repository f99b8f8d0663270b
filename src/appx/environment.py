"""What appx uses from its environment, and putting its bin dir on PATH."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appx.errors import EnvironmentSetupError
from appx.paths import HOME_SUBDIRS, AppxPaths
from appx.shellpath import SHELLS


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    source: str


@dataclass(frozen=True)
class EnsurePathResult:
    location: str
    changed: bool
    in_current_path: bool
    files: tuple[str, ...] = ()
    # After a change: whether a new shell finds the bin dir (None: could not be checked).
    seen_by_new_shell: bool | None = None


# How long the user's shells may take to start, all of them together, before
# ensurepath gives up (a startup file that waits for input or hangs).
SHELL_TIME_LIMIT = 30.0

# Variables that make a shell source a file even when it is not interactive.
_SHELL_SOURCING_VARIABLES = ("BASH_ENV", "ENV")

# Characters that mean the same, unquoted or inside double quotes, in every shell
# userpath writes for (sh, bash, zsh: "..."; fish: bare words; xonsh: a Python
# string), besides letters and digits.
_SHELL_INERT = frozenset("/._-+@,=%~")


def describe_environment(paths: AppxPaths, environ: Mapping[str, str]) -> list[Setting]:
    """Every path and variable appx uses, where each value came from, and whether it is usable.

    Reads only: a few stats, no process, nothing created.
    """
    settings = [
        Setting("APPX_HOME", str(paths.home), paths.sources.get("APPX_HOME", "default")),
        Setting("APPX_BIN_DIR", str(paths.bin_dir), paths.sources.get("APPX_BIN_DIR", "default")),
        Setting("APPX_MAN_DIR", str(paths.man_dir), paths.sources.get("APPX_MAN_DIR", "default")),
        Setting(
            "APPX_CACHE_DIR", str(paths.cache_dir), paths.sources.get("APPX_CACHE_DIR", "default")
        ),
        Setting(
            "APPX_DEFAULT_PYTHON",
            paths.default_python or "(the Python appx runs on)",
            paths.sources.get("APPX_DEFAULT_PYTHON", "default"),
        ),
    ]
    for name in HOME_SUBDIRS:
        settings.append(Setting(name, str(paths.home / name), "derived from APPX_HOME"))
    found = on_path(str(paths.bin_dir), environ.get("PATH", ""))
    settings.append(Setting("bin dir on PATH", "yes" if found else "no", "PATH"))
    try:
        paths.check_usable(write=True)
    except EnvironmentSetupError as error:
        usable = f"no: {error.message}"
    else:
        usable = "yes"
    settings.append(Setting("directories usable", usable, "checked for install and uninstall"))
    return settings + backend_settings(environ)


def backend_settings(environ: Mapping[str, str]) -> list[Setting]:
    """The backend an install would use and why, and where uv is, found without running uv:
    a read starts no process, so uv's version is the one its package records."""
    from appx.backends import choose_backend
    from appx.backends.uv_locate import find_uv, package_version
    from appx.errors import UsageError

    found = find_uv(environ)
    version = package_version() if found is not None and found.source != "PATH" else ""
    uv = Setting(
        "uv",
        str(found.path) if found is not None else "not found",
        found.source if found is not None else "looked for in appx's environment, then PATH",
    )
    try:
        choice = choose_backend(None, environ, check=lambda _path: version or "unknown")
    except UsageError as error:
        return [Setting("backend", f"none: {error.message}", error.hint), uv]
    shown = f"uv {version}" if choice.name == "uv" and version else choice.name
    return [Setting("backend", shown, choice.reason), uv]


def ensure_path(
    paths: AppxPaths,
    *,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
    shells: Sequence[str] = (),
    time_limit: float = SHELL_TIME_LIMIT,
) -> EnsurePathResult:
    """Add the bin dir to PATH through the shell's startup files (userpath, in a child).

    ``shells`` are the shells to configure; by default the one appx was started from.
    """
    env = os.environ if environ is None else environ
    location = str(paths.bin_dir)
    in_path = on_path(location, env.get("PATH", ""))
    if in_path and not force:
        return EnsurePathResult(location, changed=False, in_current_path=True)
    check_shell_safe(location)
    shells = list(shells or detect_shell(env, _process_name(os.getppid())))
    report = _run_child(
        {
            "location": location,
            "shells": shells,
            "home": env.get("HOME") or str(Path.home()),
            "force": force,
            "time_limit": time_limit,
        },
        env,
        time_limit,
    )
    files = tuple(report["changed"])
    done = f" (it changed {', '.join(files)})" if files else ""
    if report["timed_out"]:
        raise EnvironmentSetupError(
            f"{_possessive(shells)} startup files did not finish within {time_limit:g} seconds"
            f"{done}",
            "a command in your shell's startup files waits for input or hangs; "
            f"fix it, or add {location} to PATH yourself",
        )
    if files:
        return EnsurePathResult(location, True, in_path, files, report["in_new_path"])
    if report["in_new_path"]:
        return EnsurePathResult(location, changed=False, in_current_path=in_path)
    problem = f": {report['problem']}" if report["problem"] else ""
    raise EnvironmentSetupError(
        f"could not add {location} to PATH in {_possessive(shells)} startup files{problem}",
        f"add {location} to PATH yourself in your shell's startup file",
    )


def _possessive(shells: list[str]) -> str:
    return " and ".join(f"{name}'s" for name in shells)


def on_path(location: str, path_value: str) -> bool:
    """Whether ``location`` is one of the directories of a PATH value (symlinks resolved)."""
    wanted = os.path.realpath(location)
    return any(os.path.realpath(entry) == wanted for entry in path_value.split(os.pathsep) if entry)


def check_shell_safe(location: str) -> None:
    """Refuse a bin dir that a shell would read as syntax where userpath writes it (exit 11).

    userpath writes the directory unescaped (``export PATH="$PATH:DIR"``, fish's
    ``set PATH $PATH DIR``) and resolves symlinks first, so both spellings are checked.
    """
    for spelling in dict.fromkeys((location, os.path.realpath(location))):
        unsafe = sorted({char for char in spelling if not _inert(char)})
        if not unsafe:
            continue
        shown = " ".join(repr(char) for char in unsafe)
        resolved = f" (it resolves to {spelling!r})" if spelling != location else ""
        if ":" in unsafe:
            hint = f"PATH cannot hold a ':'; choose another APPX_BIN_DIR{resolved}"
        else:
            hint = (
                "add it to PATH yourself, quoted for your shell, or choose an APPX_BIN_DIR "
                "of letters, digits and / . _ - + @ , = % ~"
            )
        raise EnvironmentSetupError(
            f"will not write the bin dir {location!r}{resolved} into your shell's startup files: "
            f"a shell would not read {shown} literally",
            hint,
        )


def _inert(char: str) -> bool:
    return char in _SHELL_INERT or (char.isalnum() and char.isprintable())


def detect_shell(environ: Mapping[str, str], parent_name: str) -> tuple[str, ...]:
    """The shell to configure: appx's parent process, else $BASH_VERSION, else $SHELL.

    With none of them a shell userpath knows, bash and sh (userpath's defaults).
    """
    candidates = (
        parent_name,
        "bash" if "BASH_VERSION" in environ else "",
        os.path.basename(environ.get("SHELL", "")),
    )
    for candidate in candidates:
        name = candidate.strip().lstrip("-").lower()
        if name in SHELLS:
            return (name,)
    return ("bash", "sh")


def _process_name(pid: int) -> str:
    """A process's name from /proc (no process started; empty where there is no /proc)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _run_child(
    request: dict[str, Any], environ: Mapping[str, str], time_limit: float
) -> dict[str, Any]:
    """Run appx.shellpath in a child of its own session and return its report."""
    # Imported here, not on the import path of `appx environment`.
    from appx.proc import capture, clean_env, kill_group

    env = clean_env(environ)
    for name in _SHELL_SOURCING_VARIABLES:
        env.pop(name, None)
    # The child imports this very appx and userpath, whatever sys.path found them through
    # (-I ignores PYTHONPATH, which clean_env drops anyway).
    roots = dict.fromkeys(str(_import_root(name)) for name in ("appx", "userpath"))
    argv = [sys.executable, "-I", "-c", _CHILD_BOOT, json.dumps(request), *roots]
    done = capture(argv, env=env, timeout=time_limit + _CHILD_GRACE)
    for line in reversed(done.stdout.splitlines()):
        with contextlib.suppress(ValueError):
            report = json.loads(line)
            if isinstance(report, dict) and "timed_out" in report:
                if isinstance(report.get("group"), int):
                    kill_group(report["group"])  # the child killed it; wait until it is gone
                return report
    reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    raise EnvironmentSetupError(
        f"could not run userpath to edit your shell's startup files: {reason}",
        f"add {request['location']} to PATH yourself in your shell's startup file",
    )


_CHILD_BOOT = (
    "import sys; sys.path[:0] = sys.argv[2:]; "
    "from appx.shellpath import main; sys.exit(main(sys.argv[1]))"
)
# The child keeps its own time; this is how much longer appx waits before giving up on it.
_CHILD_GRACE = 10.0


def _import_root(module: str) -> Path:
    import importlib.util  # only ensurepath's child needs it

    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    if origin is None:  # pragma: no cover -- both are installed with appx
        raise EnvironmentSetupError(f"cannot find the {module} package", "reinstall appx")
    return Path(origin).parent.parent
