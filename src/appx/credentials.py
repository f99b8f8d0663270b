"""Secrets in URLs: the one rule for hiding them, and the one file that keeps them.

A URL's user-info is a secret when it holds a password (``https://user:pw@host``:
the password is hidden) or a bare user name (``https://TOKEN@host``: index tokens
travel there, so the whole name is hidden). ``git@`` is the conventional SSH user,
not a secret, and stays visible.

Receipts keep only redacted text. What a rebuild needs in clear is kept beside the
receipt in ``appx-credentials.json`` (mode 0600), which nothing ever prints.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from appx.errors import ReceiptError

if TYPE_CHECKING:  # every line appx prints is redacted here: its import is kept small
    from collections.abc import Mapping
    from pathlib import Path

CREDENTIALS_NAME = "appx-credentials.json"
HIDDEN = "****"

# The user-info of a URL: everything up to the last '@' of its authority (a password
# may itself hold an '@'); the authority ends at '/', '?', '#', whitespace or a quote.
_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\s'\"<>]*)@")
_PUBLIC_USERS = frozenset({"git"})


def split_secrets(text: str) -> tuple[str, bool]:
    """Return ``text`` with every URL credential hidden, and whether there was one."""
    found = False

    def hide(match: re.Match[str]) -> str:
        nonlocal found
        user, colon, password = match["userinfo"].partition(":")
        if colon:
            shown = f"{user}:{HIDDEN}" if user else f":{HIDDEN}"
        elif user in _PUBLIC_USERS:
            return match[0]
        else:
            shown = HIDDEN
        if (password if colon else user) == HIDDEN:  # already redacted
            return match[0]
        found = True
        return f"{match['scheme']}{shown}@"

    return _USERINFO_RE.sub(hide, text), found


def redact(text: str) -> str:
    """Hide credentials in any URL of the text (``https://u:pw@h`` -> ``https://u:****@h``)."""
    return split_secrets(text)[0]


def has_secret(text: str) -> bool:
    """Whether the text holds a URL credential that :func:`redact` would hide."""
    return split_secrets(text)[1]


def credentials_path(generation: Path) -> Path:
    return generation / CREDENTIALS_NAME


def save_credentials(generation: Path, values: Mapping[str, str]) -> Path | None:
    """Keep the values that hold a secret in the generation's 0600 credentials file.

    Nothing is written when no value holds a secret. The write is atomic (temp
    file, fsync, rename); the file is never readable by others, not even briefly.
    """
    secrets = {key: value for key, value in values.items() if has_secret(value)}
    if not secrets:
        return None
    import json

    path = credentials_path(generation)
    write_private(path, json.dumps(secrets, indent=2, sort_keys=True) + "\n")
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, atomically: temp file (0600), fsync, rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


def load_credentials(generation: Path) -> dict[str, str]:
    """The secrets kept for a generation (empty when it needed none).

    A damaged file is a ReceiptError that names the file and never shows its content.
    """
    import json

    path = credentials_path(generation)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ReceiptError(
            f"credentials unreadable: {path}: {exc.strerror or exc}", "check its permissions"
        ) from None
    except ValueError:
        raise ReceiptError(
            f"credentials corrupt: {path}: not valid JSON", "reinstall the app with --force"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise ReceiptError(
            f"credentials corrupt: {path}: not an object of strings",
            "reinstall the app with --force",
        )
    return data


def drop_hidden(text: str) -> str:
    """Remove the user-info that :func:`redact` hid (``https://u:****@h`` -> ``https://h``).

    A placeholder is no credential: without it the installer can find the real one
    itself (netrc, a keyring, its own configuration) for a text read back from a file.
    """

    def drop(match: re.Match[str]) -> str:
        user, colon, password = match["userinfo"].partition(":")
        return match["scheme"] if (password if colon else user) == HIDDEN else match[0]

    return _USERINFO_RE.sub(drop, text)
