"""The only module that prints: messages, a spinner for long steps, and JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

from appx.errors import AppxError


class Reporter(Protocol):
    """What operations may tell the user while they work (they never print)."""

    def step(self, message: str) -> Any: ...  # a context manager around a long step

    def warn(self, message: str) -> None: ...

    def detail(self, message: str) -> None: ...


_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Console:
    """Prints for the CLI: results on stdout, progress, warnings and errors on stderr."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        json_mode: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = json_mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def info(self, message: str) -> None:
        """A result line, on stdout."""
        if not self.quiet and not self.json_mode:
            print(message, file=self.out, flush=True)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if not self.quiet:
            with self._lock:
                print(f"warning: {message}", file=self.err, flush=True)

    def detail(self, message: str) -> None:
        if self.verbose:
            with self._lock:
                print(message, file=self.err, flush=True)

    def error(self, error: AppxError) -> None:
        lines = [f"error: {error.message}"]
        if error.hint:
            lines.append(f"  hint: {error.hint}")
        if error.log_path:
            lines.append(f"  log: {error.log_path}")
        print("\n".join(lines), file=self.err, flush=True)

    def emit_json(self, payload: Any) -> None:
        print(json.dumps(payload, indent=2, sort_keys=True), file=self.out, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        """Show a spinner on a terminal while a long step runs, or one line otherwise."""
        if self.quiet or self.json_mode:
            yield
            return
        if not self.err.isatty():
            self.detail(f"{message}...")
            yield
            return
        done = threading.Event()
        started = time.monotonic()

        def spin() -> None:
            frame = 0
            while not done.wait(0.1):
                with self._lock:
                    elapsed = time.monotonic() - started
                    self.err.write(f"\r{_FRAMES[frame % len(_FRAMES)]} {message} ({elapsed:.0f}s)")
                    self.err.flush()
                frame += 1

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        try:
            yield
        finally:
            done.set()
            spinner.join()
            with self._lock:
                self.err.write("\r\033[K")
                self.err.flush()
