"""Installer backends behind one small interface (see base.Backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appx.backends.base import Backend
    from appx.paths import AppxPaths


def get_backend(name: str, paths: AppxPaths) -> Backend:
    """The backend called ``name``; only pip exists yet."""
    from appx.backends.pip import PipBackend

    if name != "pip":
        from appx.errors import SpecError

        raise SpecError(f"unknown installer backend: {name!r}", "the available backend is 'pip'")
    return PipBackend(paths)
