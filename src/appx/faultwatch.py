"""The mutation watch of the crash tests (see ``appx.faults``): count appx's filesystem
mutations, trace them, and signal the process before the one it was asked to stop at.

It wraps the ``os``, ``io`` and ``shutil`` functions that write, in the process that
started it only (a forked child, such as the background deleter, is not watched).
Imported only when ``APPX_FAULT_AT=mutation:N`` or ``APPX_FAULT_TRACE`` is set.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import shutil
import threading
from collections.abc import Callable
from typing import Any

from appx.faults import MUTATION, signal_self

# os functions that change the filesystem whatever their arguments
_ALWAYS = ("replace", "rename", "symlink", "link", "unlink", "remove", "rmdir", "mkdir")
_ALSO = ("chmod", "utime", "truncate")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _Depth(threading.local):
    depth = 0  # this thread is inside a counted tree removal this deep


class _Watch:
    """Counts this process's mutations; signals it before the one it was asked to stop at."""

    def __init__(self, stop_at: int | None, trace: str | None) -> None:
        self.stop_at = stop_at
        self.trace = trace
        self.count = 0
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.inside = _Depth()  # a tree removal is one mutation, not one per file
        self.originals: dict[str, Callable[..., Any]] = {}

    def mutation(self, what: str, target: object) -> None:
        if os.getpid() != self.pid or self.inside.depth:
            return  # a forked child (the background deleter), or inside a counted removal
        with self.lock:
            self.count += 1
            number = self.count
            if self.trace:
                self._write_trace(f"{number} {what} {os.fsdecode(_path(target))}\n")
        if number == self.stop_at:
            signal_self()

    def _write_trace(self, line: str) -> None:
        opener = self.originals["open"]
        with self.originals["io.open"](opener(self.trace, _APPEND, 0o600), "a") as trace:
            trace.write(line)


_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def _path(target: object) -> str | bytes:
    if isinstance(target, int):
        return f"<fd {target}>"
    return os.fspath(target) if isinstance(target, (str, bytes, os.PathLike)) else repr(target)


def watch_mutations() -> None:
    """Start counting mutations if ``APPX_FAULT_AT=mutation:N`` or ``APPX_FAULT_TRACE`` asks."""
    point = os.environ.get("APPX_FAULT_AT", "")
    trace = os.environ.get("APPX_FAULT_TRACE") or None
    stop_at = int(point[len(MUTATION) :]) if point.startswith(MUTATION) else None
    if stop_at is None and trace is None:
        return
    watch = _Watch(stop_at, trace)
    watch.originals["open"] = os.open
    watch.originals["io.open"] = io.open
    for name in (*_ALWAYS, *_ALSO):
        original = getattr(os, name)
        setattr(os, name, _counted(watch, name, original))
    os.open = _counted_open(watch, os.open)
    io.open = builtins.open = _counted_file_open(watch, io.open)
    shutil.rmtree = _counted_tree(watch, shutil.rmtree)  # type: ignore[assignment]


def _counted(watch: _Watch, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # symlink(target, link) and link(src, dst) create their second argument
        watch.mutation(name, args[1] if name in {"symlink", "link"} and len(args) > 1 else args[0])
        return original(*args, **kwargs)

    return wrapper


def _counted_open(watch: _Watch, original: Callable[..., int]) -> Callable[..., int]:
    @functools.wraps(original)
    def wrapper(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        # /dev/null opened for a child's streams changes nothing
        if flags & _WRITE_FLAGS and not os.fsdecode(path).startswith("/dev/"):
            watch.mutation("open", path)
        return original(path, flags, *args, **kwargs)

    return wrapper


def _counted_file_open(watch: _Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not isinstance(file, int) and any(c in mode for c in "wax+"):
            watch.mutation(f"open-{mode}", file)
        return original(file, mode, *args, **kwargs)

    return wrapper


def _counted_tree(watch: _Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
        watch.mutation("rmtree", path)
        watch.inside.depth += 1
        try:
            return original(path, *args, **kwargs)
        finally:
            watch.inside.depth -= 1

    return wrapper
