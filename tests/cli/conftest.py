"""Fixtures for end-to-end tests that run appx as a real process."""

from __future__ import annotations

import pytest

from factories import IndexServer


@pytest.fixture
def index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> IndexServer:
    """Point every installer at the local index through PIP_INDEX_URL (appx keeps it)."""
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)
    return index_server
