"""The run operation: find or build the run env a request names, and say what to exec.

It returns a `Launch`; the CLI execs it (or, with --no-cache, runs it and then
deletes the env). Nothing here touches the bin dir, the man dir or installed apps.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from packaging.specifiers import SpecifierSet

from appx import runkey
from appx.backends import BackendChoice, choose_backend, get_backend, settle_backend
from appx.backends.base import Backend
from appx.backends.pip_isolation import check_pip_args
from appx.build import BuildContext, BuildRequest
from appx.cache import discard_once, sweep_expired
from appx.credentials import redact
from appx.errors import (
    AppxError,
    EnvironmentSetupError,
    NotCachedError,
    PythonNotFoundError,
    SpecError,
)
from appx.housekeeping import sweep_runs
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter, find_python, find_python_for
from appx.locks import share_run_lock
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.runenv import RunEnv, build_env, built_unless_stopped, find_env, mark_used
from appx.scripts import (
    fetch_script,
    fetched_script_path,
    is_http_url,
    is_script,
    read_script_metadata,
)
from appx.specs import AppSpec, parse_spec


@dataclass(frozen=True)
class RunOptions:
    spec: str | None = None
    with_: tuple[str, ...] = ()
    python: str | None = None
    index: IndexOptions = field(default_factory=IndexOptions)
    no_cache: bool = False
    refresh: bool = False
    offline: bool = False
    keep_log: bool = False
    backend: str | None = None  # --backend; None: APPX_BACKEND, else automatic


@dataclass(frozen=True)
class Launch:
    """What to exec: ``argv[0]`` is the program. ``lock_fd`` stays open across the exec
    (the running app's share of its env); ``discard`` is a --no-cache env to delete after."""

    argv: tuple[str, ...]
    lock_fd: int | None = None
    discard: str | None = None


@dataclass(frozen=True)
class _Wanted:
    """A run request: what to install, the key it is cached under, the command to run."""

    key: str
    spec: AppSpec | None  # None for a script's env
    package: str  # "" for a script's env
    command: str
    injected: tuple[str, ...]  # --with, and a script's dependencies
    script: Path | None = None
    requires_python: str | None = None


def prepare_run(
    paths: AppxPaths,
    target: str,
    args: Sequence[str],
    options: RunOptions,
    reporter: Reporter,
    *,
    cwd: Path,
    environ: Mapping[str, str],
    backend: Backend | None = None,
    interpreter: Interpreter | None = None,
) -> Launch:
    """Find or build the env of ``target`` and return what runs its command with ``args``."""
    paths.check_usable(write=True)
    check_pip_args(options.index.pip_args)
    choice = (
        BackendChoice(backend.name, "given")
        if backend is not None
        else choose_backend(options.backend, environ)
    )
    settled = settle_backend(choice, options.index)
    options = replace(options, backend=settled.name)  # the env's key names its backend
    ttl_problem = runkey.ttl_problem(environ)
    if ttl_problem:
        reporter.warn(ttl_problem)
    if options.spec is None and is_script(target, cwd):
        wanted = _script_wanted(paths, target, options, cwd, reporter)
        if not wanted.injected:  # nothing to install: the script runs on its Python as it is
            python = interpreter or _python_for(paths, wanted, options, reporter, environ)
            return Launch((str(python.executable), str(wanted.script), *args))
    else:
        wanted = _wanted(paths, target, options, cwd)
    sweep_runs(paths)
    sweep_expired(paths, environ, keep=wanted.key)
    env = None if options.no_cache or options.refresh else find_env(paths, wanted.key)
    if options.offline:
        env = find_env(paths, wanted.key)
        if env is None:
            raise NotCachedError(
                f"{target} is not in the run cache",
                "run it once without --offline, with the index reachable",
            )
    elif env is None or not runkey.is_fresh(env.built, environ):
        if settled != choice:
            reporter.note(settled.reason)
        stale = env
        env = built_unless_stopped(
            lambda: _build(paths, wanted, options, reporter, stale, environ, backend, interpreter),
            wanted.package or (wanted.script.name if wanted.script else "the app"),
            discard=(lambda: discard_once(paths, wanted.key, None)) if options.no_cache else None,
        )
    if wanted.script is not None:
        argv = (env.commands()["python"], str(wanted.script), *args)
    else:
        argv = (_chosen(env, wanted, reporter), *args)
    lock = share_run_lock(paths, env.key)
    if lock is None or find_env(paths, env.key) is None:  # removed since it was found
        raise EnvironmentSetupError(
            f"the cached environment of {target} is being removed",
            "run the command again in a moment",
        )
    if options.no_cache:
        return Launch(argv, lock_fd=lock, discard=env.key)
    mark_used(paths, env.key)
    return Launch(argv, lock_fd=lock)


def _wanted(paths: AppxPaths, target: str, options: RunOptions, cwd: Path) -> _Wanted:
    """What the request asks for, and the key it is cached under."""
    if options.spec is not None:
        spec = parse_spec(options.spec, cwd=cwd)
        plain = runkey.app_requirement(options.spec) if spec.kind == "name" else None
        requirement, command = (plain[0] if plain else spec.requirement), target
    else:
        plain = runkey.app_requirement(target)
        if plain is None:
            raise SpecError(
                f"not a package name: {target!r}",
                f"to run a package from a path or URL, name it with --spec: "
                f"appx run --spec {target} COMMAND",
            )
        requirement, command = plain
        spec = parse_spec(requirement, cwd=cwd)
    key = _cache_key(
        "package",
        [requirement, *options.with_],
        options.python or paths.default_python or "",
        options,
    )
    # a project whose name is only known by building it: learned when its env is built
    return _Wanted(key, spec, spec.name or "", command, options.with_)


def _script_wanted(
    paths: AppxPaths, target: str, options: RunOptions, cwd: Path, reporter: Reporter
) -> _Wanted:
    """A script's request: its PEP 723 dependencies (and --with) in an env keyed by them."""
    script = _script_file(paths, target, cwd, options, reporter)
    metadata = read_script_metadata(script.read_text(encoding="utf-8"), target)
    requirements = (*metadata.dependencies, *options.with_)
    python = options.python or paths.default_python or ""
    if not options.python and metadata.requires_python:
        python = f"requires-python {metadata.requires_python}"
    key = _cache_key("script", requirements, python, options)
    return _Wanted(key, None, "", "python", requirements, script, metadata.requires_python)


def _script_file(
    paths: AppxPaths, target: str, cwd: Path, options: RunOptions, reporter: Reporter
) -> Path:
    """A local script as it is; a URL's script fetched, or its copy when offline or unreachable."""
    if not is_http_url(target):
        return cwd / target
    copies = paths.cache_dir / "scripts"
    copy = fetched_script_path(target, copies)
    if options.offline:
        if not copy.is_file():
            raise NotCachedError(
                f"{redact(target)} was never fetched", "run it once without --offline"
            )
        return copy
    try:
        return fetch_script(target, copies)
    except AppxError as error:
        if not copy.is_file():
            raise
        reporter.warn(f"using the copy of {redact(target)} fetched before: {error.message}")
        return copy  # offline-first, like an expired env


def _cache_key(
    kind: Literal["package", "script"],
    requirements: Sequence[str],
    python: str,
    options: RunOptions,
) -> str:
    """The env's key (index texts redacted); a --no-cache run gets a unit of its own."""
    if options.no_cache:
        return f"once-{os.getpid()}-{secrets.token_hex(4)}"
    index = options.index
    return runkey.run_key(
        kind,
        requirements,
        python,
        options.backend or "pip",  # prepare_run settled it
        redact(index.index_url) if index.index_url else None,
        [redact(arg) for arg in index.pip_args],
    )


def _build(
    paths: AppxPaths,
    wanted: _Wanted,
    options: RunOptions,
    reporter: Reporter,
    stale: RunEnv | None,
    environ: Mapping[str, str],
    backend: Backend | None,
    interpreter: Interpreter | None,
) -> RunEnv:
    """Build the env; when an expired one exists and the rebuild fails, use it (offline-first)."""
    asked = time.time()
    log = paths.new_log(f"run-{wanted.package or 'script'}")
    try:
        if interpreter is None:
            interpreter = _python_for(paths, wanted, options, reporter, environ)
        installer = backend or get_backend(options.backend or "pip", paths, environ)
        package = wanted.package
        if wanted.spec is not None and not package:
            with reporter.step(f"Finding the name of {redact(wanted.spec.raw)}"):
                package = installer.resolve_name(
                    interpreter, wanted.spec.requirement, index=options.index, log=log
                )
        request = BuildRequest(
            wanted.key, package, wanted.spec, "", False, options.index, wanted.injected
        )
        tools = BuildContext(installer, interpreter, reporter, log)
        env = build_env(paths, request, tools, asked=asked)
    except AppxError as error:
        if stale is None or options.refresh:
            raise
        reporter.warn(
            f"using the cached environment of {stale.receipt.package or wanted.script} built"
            f" {stale.age_days:.0f} days ago: it could not be rebuilt ({error.message})"
        )
        return stale
    except BaseException as error:
        if not isinstance(error, KeyboardInterrupt) and not options.keep_log:
            log.unlink(missing_ok=True)
        raise
    if not options.keep_log:
        log.unlink(missing_ok=True)
    return env


def _python_for(
    paths: AppxPaths,
    wanted: _Wanted,
    options: RunOptions,
    reporter: Reporter,
    environ: Mapping[str, str],
) -> Interpreter:
    """The Python to build with: --python, else one a script's requires-python accepts."""
    needed = SpecifierSet(wanted.requires_python or "")
    with reporter.step("Finding Python"):
        if wanted.requires_python and not options.python:
            return find_python_for(needed, environ=environ, default=paths.default_python)
        python = find_python(options.python, environ=environ, default=paths.default_python)
    if python.version_str not in needed:
        raise PythonNotFoundError(
            f"Python {python.version_str} ({python.executable}) does not satisfy the"
            f" script's requires-python {wanted.requires_python!r}",
            "choose another with --python, or leave it out to let appx find one",
        )
    return python


def _chosen(env: RunEnv, wanted: _Wanted, reporter: Reporter) -> str:
    """The script of the command named as asked; else the package's only command."""
    commands = env.commands()
    name = runkey.named_command(commands, wanted.command)
    if name is not None:
        return commands[name]
    if len(commands) == 1:
        (name, script), *_ = commands.items()
        reporter.note(f"{env.receipt.package} has no command {wanted.command}; running {name}")
        return script
    listed = ", ".join(sorted(commands))
    raise SpecError(
        f"{env.receipt.package} has no command named {wanted.command!r}; its commands: {listed}",
        f"run one of them with: appx run --spec {_spec_text(wanted)} {min(commands)}",
    )


def _spec_text(wanted: _Wanted) -> str:
    return redact(wanted.spec.raw) if wanted.spec is not None else wanted.package
