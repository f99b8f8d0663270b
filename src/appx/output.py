"""The only module that prints: messages, a spinner for long steps, and JSON.

Two kinds of output: what the user asked for (``list``, ``environment``, ``--version``, a JSON
document), printed even with ``--quiet``, and chatter (progress, "installed X", warnings),
which ``--quiet`` silences. Errors are always printed. Every text leaves through
``credentials.redact``, a last safety net for secrets in URLs.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, Protocol, TextIO

from appx.credentials import redact
from appx.errors import AppxError

SCHEMA = 1


READER_GONE = 141  # 128 + SIGPIPE: what a shell reports of a tool whose reader went away


def reader_gone() -> int:
    """Standard output's reader went away (`appx list | head`): write nothing more to it,
    not even the exit's flush, and exit as a shell tool stopped by SIGPIPE would."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's): nothing will be flushed to it
        pass
    return READER_GONE


class Reporter(Protocol):
    """What operations may tell the user while they work (they never print)."""

    def step(self, message: str) -> Any: ...  # a context manager around a long step

    def warn(self, message: str) -> None: ...

    def note(self, message: str) -> None: ...

    def detail(self, message: str) -> None: ...


class Recorder:
    """A Reporter that keeps what is said, to say it later (`replay`), each line labelled:
    the messages of one app of a parallel batch, printed when its turn comes."""

    def __init__(self) -> None:
        self.lines: list[tuple[Literal["warn", "note", "detail"], str]] = []

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        self.lines.append(("detail", f"{message}..."))  # as a step off a terminal says it
        yield

    def warn(self, message: str) -> None:
        self.lines.append(("warn", message))

    def note(self, message: str) -> None:
        self.lines.append(("note", message))

    def detail(self, message: str) -> None:
        self.lines.append(("detail", message))

    def replay(self, reporter: Reporter, label: str) -> None:
        """Say everything kept to ``reporter``, each message after ``label: ``."""
        for kind, message in self.lines:
            getattr(reporter, kind)(f"{label}: {message}")


_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def error_json(error: AppxError) -> dict[str, Any]:
    """An error as ``--json`` reports it (redacted when the document is printed)."""
    return {
        "kind": error.kind,
        "message": error.message,
        "hint": error.hint,
        "exit_code": error.exit_code,
        "log": error.log_path,
    }


def _redacted(value: Any) -> Any:
    """Redact every string in a JSON value (not the serialised text, which could break it)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {_redacted(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


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
        self._json_skeleton: dict[str, Any] = {}
        self._document_printed = False
        self._lock = threading.Lock()
        self._live_shown = False

    def use_json(self, enabled: bool, skeleton: Mapping[str, Any] | None = None) -> None:
        """Print this call's outcome as one JSON document; ``skeleton`` holds the keys the
        command's document always has (``{"results": []}``), so a failure keeps its shape."""
        self.json_mode = enabled
        self._json_skeleton = dict(skeleton or {})

    def result(self, message: str) -> None:
        """Output the user asked for (a listing, a setting, the version): printed when quiet."""
        if not self.json_mode:
            self._print(self.out, message)

    def info(self, message: str) -> None:
        """Chatter about what was done, on stdout; silenced by --quiet and --json."""
        if not self.quiet and not self.json_mode:
            self._print(self.out, message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._print(self.err, f"warning: {message}")

    def note(self, message: str) -> None:
        """Something worth knowing that is not a problem, on stderr."""
        if not self.quiet:
            self._print(self.err, f"note: {message}")

    def detail(self, message: str) -> None:
        if self.verbose:
            self._print(self.err, message)

    def error(self, error: AppxError) -> None:
        """An error's lines on stderr: message, hint, log path."""
        lines = [f"error: {error.message}"]
        if error.hint:
            lines.append(f"  hint: {error.hint}")
        if error.log_path:
            lines.append(f"  log: {error.log_path}")
        self._print(self.err, "\n".join(lines))

    def fail(self, error: AppxError, origin: BaseException | None = None) -> None:
        """End a failed call: the error on stderr (and the traceback of ``origin`` when
        verbose); with --json also the error document, unless the call printed its own."""
        if self.verbose and origin is not None:
            import traceback

            self._print(self.err, "".join(traceback.format_exception(origin)).rstrip())
        self.error(error)
        if self.json_mode and not self._document_printed:
            self.emit_json({"schema": SCHEMA, **self._json_skeleton, "error": error_json(error)})

    def emit_json(self, payload: Mapping[str, Any]) -> None:
        """Print the call's JSON document on stdout: one per call, whatever happens."""
        if self._document_printed:
            raise RuntimeError("a second JSON document in one call")
        self._document_printed = True
        import json  # not on the path of --version and the plain listing

        text = json.dumps(_redacted(payload), indent=2, sort_keys=True)
        self._print(self.out, text)

    def _print(self, stream: TextIO, text: str) -> None:
        with self._lock:
            self._clear_live()
            print(redact(text), file=stream, flush=True)

    def _clear_live(self) -> None:
        """Erase the live line, if one is shown (the caller holds the lock); it comes back
        at its next refresh, below what was printed."""
        if self._live_shown:
            self.err.write("\r\033[K")
            self.err.flush()
            self._live_shown = False

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
        with self.live(lambda: message):
            yield

    @contextmanager
    def live(self, describe: Callable[[], str]) -> Iterator[None]:
        """Keep a spinner and ``describe()`` on one line of a terminal's stderr while the
        block runs (nothing otherwise); other output clears it first."""
        if self.quiet or self.json_mode or not self.err.isatty():
            yield
            return
        done = threading.Event()
        started = time.monotonic()

        import shutil  # for a terminal's width; it imports the compressors: not for --version

        def spin() -> None:
            frame = 0
            while not done.wait(0.1):
                elapsed = time.monotonic() - started
                width = shutil.get_terminal_size().columns - 12  # a wrapped line stays behind
                text = _cut(redact(describe()), max(width, 20))
                with self._lock:
                    self.err.write(f"\r{_FRAMES[frame % len(_FRAMES)]} {text} ({elapsed:.0f}s)")
                    self.err.write("\033[K")
                    self.err.flush()
                    self._live_shown = True
                frame += 1

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        try:
            yield
        finally:
            done.set()
            spinner.join()
            with self._lock:
                self._live_shown = True  # cleared even if it never showed: as before
                self._clear_live()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
