"""The one root exception of appx and its kinds, each with its own exit code."""

from __future__ import annotations

import errno


class AppxError(Exception):
    """A failure the user can act on: one line of message, a hint, an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, log_path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.log_path = log_path


class SpecError(AppxError):
    """What the user typed is not a valid spec, name, suffix or path."""

    exit_code = 3


class NotInstalledError(AppxError):
    """The named app is not installed."""

    exit_code = 4


class ShimConflictError(AppxError):
    """A command or man page name is taken by something appx does not own."""

    exit_code = 5


class InstallerError(AppxError):
    """The installer (pip or uv) failed; its output is in a log file."""

    exit_code = 6


class PythonNotFoundError(AppxError):
    """No working interpreter matches what --python asked for."""

    exit_code = 7


class NoCommandsError(AppxError):
    """The package provides no command to expose."""

    exit_code = 8


class ReceiptError(AppxError):
    """An app's receipt is missing, unreadable or corrupt."""

    exit_code = 9


class PartialFailureError(AppxError):
    """Some of several requested items failed; the message names which."""

    exit_code = 10


class EnvironmentSetupError(AppxError):
    """appx's own directories or settings are unusable (unwritable, bad variable)."""

    exit_code = 11


EXIT_CODES: dict[int, str] = {
    0: "success (including 'already installed')",
    1: "unexpected internal error (a bug: please report it with --verbose output)",
    2: "usage error: unknown option or missing argument",
    SpecError.exit_code: "invalid spec, name, suffix or path",
    NotInstalledError.exit_code: "the app is not installed",
    ShimConflictError.exit_code: "a command or man page name is taken by something not appx's",
    InstallerError.exit_code: "the installer failed (its log path is printed)",
    PythonNotFoundError.exit_code: "no working Python matches --python",
    NoCommandsError.exit_code: "the package has no commands to expose",
    ReceiptError.exit_code: "an app's receipt is unreadable or corrupt",
    PartialFailureError.exit_code: "some of several apps failed (each is named)",
    EnvironmentSetupError.exit_code: "appx's directories or environment variables are unusable",
    130: "interrupted (Ctrl-C or SIGTERM); the change is discarded",
}


def from_exception(error: Exception) -> AppxError:
    """An AppxError for a failure that was not one: a filesystem refusal, or a bug.

    A directory appx may not write (permissions, a read-only filesystem, a full
    disk) is the user's to fix (exit 11); anything else is a bug (exit 1).
    """
    if isinstance(error, OSError) and error.errno in _SETUP_ERRNOS:
        where = f": {error.filename}" if error.filename else ""
        return EnvironmentSetupError(
            f"cannot write{where} ({error.strerror or error})",
            "check that appx's directories are writable and have room ('appx environment')",
        )
    return AppxError(
        f"unexpected {type(error).__name__}: {error}",
        "this is a bug in appx; rerun with --verbose and report it",
    )


_SETUP_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})
