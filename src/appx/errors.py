"""The one root exception of appx and its kinds, each with its own kind name and exit code.

The README's exit-code table is checked against these classes: a new kind of failure is a new
class here, with a ``kind`` (the name ``--json`` reports) and an ``exit_code`` of its own.
"""

from __future__ import annotations

import errno
from typing import ClassVar


class AppxError(Exception):
    """A failure the user can act on: one line of message, a hint, an exit code."""

    kind: ClassVar[str] = "internal"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, hint: str = "", *, log_path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.log_path = log_path


class InternalError(AppxError):
    """An unexpected failure: a bug in appx (rerun with --verbose and report it)."""

    kind = "internal"
    exit_code = 1


class UsageError(AppxError):
    """The command line is wrong: an unknown option, a missing argument, bad quoting."""

    kind = "usage"
    exit_code = 2


class SpecError(AppxError):
    """What the user typed is not a valid spec, name, suffix or path."""

    kind = "invalid-spec"
    exit_code = 3


class NotInstalledError(AppxError):
    """The named app is not installed."""

    kind = "not-installed"
    exit_code = 4


class ShimConflictError(AppxError):
    """A command or man page name is taken by something appx does not own."""

    kind = "conflict"
    exit_code = 5


class InstallerError(AppxError):
    """The installer (pip or uv) failed; its output is in a log file."""

    kind = "installer-failed"
    exit_code = 6


class PythonNotFoundError(AppxError):
    """No working interpreter matches what --python asked for."""

    kind = "python-not-found"
    exit_code = 7


class NoCommandsError(AppxError):
    """The package provides no command to expose."""

    kind = "no-commands"
    exit_code = 8


class ReceiptError(AppxError):
    """An app's receipt is missing, unreadable or corrupt."""

    kind = "bad-receipt"
    exit_code = 9


class NewerReceiptError(ReceiptError):
    """An app's receipt was written by a newer appx: read by none of this appx's commands
    but uninstall, and never overwritten (not even by `install --force`). Its kind and exit
    code are bad-receipt's: one code, one kind."""


class PartialFailureError(AppxError):
    """Some of several requested items failed; the message names which."""

    kind = "partial-failure"
    exit_code = 10


class EnvironmentSetupError(AppxError):
    """appx's own directories or settings are unusable (unwritable, bad variable)."""

    kind = "unusable-environment"
    exit_code = 11


class NotCachedError(AppxError):
    """`appx run --offline` asked for an environment that is not in the cache."""

    kind = "not-cached"
    exit_code = 12


class ProblemsFoundError(AppxError):
    """`appx doctor` found problems (with --fix: problems it could not fix); it names them."""

    kind = "problems-found"
    exit_code = 13


class InterruptedByUser(AppxError):  # noqa: N818 -- the name the shared interfaces use
    """Ctrl-C or SIGTERM stopped appx before the change committed; the change is discarded."""

    kind = "interrupted"
    exit_code = 130


def error_classes() -> list[type[AppxError]]:
    """AppxError and every subclass of it, wherever defined, parents before children."""
    found: list[type[AppxError]] = []
    pending: list[type[AppxError]] = [AppxError]
    while pending:
        cls = pending.pop(0)
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


# Derived from the classes, so a code cannot be documented here and forgotten there.
EXIT_CODES: dict[int, str] = {0: "success"} | {
    cls.exit_code: cls.kind for cls in error_classes() if cls is not AppxError
}


def as_appx_error(error: Exception | KeyboardInterrupt) -> AppxError:
    """Every way a command can fail, as one AppxError with its exit code (the CLI's funnel;
    the typer CLI adds its parser's own errors)."""
    if isinstance(error, AppxError):
        return error
    if isinstance(error, KeyboardInterrupt):
        return InterruptedByUser("interrupted", "the change in progress was discarded")
    return from_exception(error)  # a directory appx may not write (exit 11), or a bug (1)


def from_exception(error: Exception) -> AppxError:
    """An AppxError for a failure that was not one: a filesystem refusal, or a bug.

    A directory appx may not write (permissions, a read-only filesystem, a full
    disk) is the user's to fix (exit 11); anything else is a bug (exit 1).
    """
    if isinstance(error, OSError) and error.errno in _SETUP_ERRNOS:
        where = f" {error.filename}" if error.filename else " a directory"
        return EnvironmentSetupError(
            f"cannot use{where}: {error.strerror or error}",
            "check that appx's directories are writable and have room ('appx environment')",
        )
    return InternalError(
        f"unexpected {type(error).__name__}: {error}",
        "this is a bug in appx; rerun with --verbose and report it",
    )


_SETUP_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})
