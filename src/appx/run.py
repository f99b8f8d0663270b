"""The run operation: find or build the run env a request names, and say what to exec.

It returns a `Launch`; the CLI execs it (or, with --no-cache, runs it and then
deletes the env). Nothing here touches the bin dir, the man dir or installed apps.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appx import runkey
from appx.backends import get_backend
from appx.backends.base import Backend
from appx.backends.pip_isolation import check_pip_args
from appx.build import BuildContext, BuildRequest
from appx.cache import sweep_expired
from appx.credentials import redact
from appx.errors import AppxError, EnvironmentSetupError, NotCachedError, SpecError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter, find_python
from appx.locks import share_run_lock
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.runenv import RunEnv, build_env, find_env, mark_used
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
    backend: str = "pip"


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
    spec: AppSpec
    package: str
    command: str
    with_: tuple[str, ...]


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
    wanted = _wanted(paths, target, options, cwd)
    paths.runs.sweep_tmp()
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
        env = _build(paths, wanted, options, reporter, env, environ, backend, interpreter)
    script = _chosen(env, wanted, reporter)
    if options.no_cache:
        return Launch((script, *args), discard=env.key)
    lock = share_run_lock(paths, env.key)
    if lock is None:
        raise EnvironmentSetupError(
            f"the cached environment of {target} is being removed",
            "run the command again in a moment",
        )
    mark_used(paths, env.key)
    return Launch((script, *args), lock_fd=lock)


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
    if spec.name is None:
        raise SpecError(
            f"cannot tell the package name of {redact(spec.raw)!r} without building it",
            "give a project with a static [project].name, a wheel or sdist file name,"
            " or NAME @ URL",
        )
    index = options.index
    key = runkey.run_key(
        [requirement, *options.with_],
        options.python or paths.default_python or "",
        options.backend,
        redact(index.index_url) if index.index_url else None,
        [redact(arg) for arg in index.pip_args],
    )
    if options.no_cache:
        key = f"once-{os.getpid()}-{secrets.token_hex(4)}"
    return _Wanted(key, spec, spec.name, command, options.with_)


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
    log = paths.new_log(f"run-{wanted.package}")
    try:
        if interpreter is None:
            with reporter.step("Finding Python"):
                interpreter = find_python(
                    options.python, environ=environ, default=paths.default_python
                )
        request = BuildRequest(
            wanted.key, wanted.package, wanted.spec, "", False, options.index, wanted.with_
        )
        tools = BuildContext(
            backend or get_backend(options.backend, paths), interpreter, reporter, log
        )
        env = build_env(paths, request, tools, asked=asked)
    except AppxError as error:
        if stale is None or options.refresh:
            raise
        reporter.warn(
            f"using the cached environment of {wanted.package} built"
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


def _chosen(env: RunEnv, wanted: _Wanted, reporter: Reporter) -> str:
    """The script of the command named as asked; else the package's only command."""
    commands = env.commands()
    if wanted.command in commands:
        return commands[wanted.command]
    folded = {name.lower().replace("_", "-"): name for name in commands}
    name = folded.get(wanted.command.lower().replace("_", "-"))
    if name is not None:
        return commands[name]
    if len(commands) == 1:
        (name, script), *_ = commands.items()
        reporter.note(f"{wanted.package} has no command {wanted.command}; running {name}")
        return script
    listed = ", ".join(sorted(commands))
    raise SpecError(
        f"{wanted.package} has no command named {wanted.command!r}; its commands: {listed}",
        f"run one of them with: appx run --spec {redact(wanted.spec.raw)} {min(commands)}",
    )
