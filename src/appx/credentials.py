"""Secrets in URLs: the one rule for hiding them wherever text leaves appx."""

from __future__ import annotations

import re

_CREDENTIALS_RE = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(?::[^/@\s]*)?@"
)


def redact(text: str) -> str:
    """Hide credentials in any URL of the text: ``https://user:token@host`` -> ``https://user:****@host``."""

    def hide(match: re.Match[str]) -> str:
        user = match.group("user")
        return f"{match.group('scheme')}{user + ':' if user else ''}****@"

    return _CREDENTIALS_RE.sub(hide, text)
