"""Fixtures for end-to-end tests that run appx as a real process."""

from __future__ import annotations

import pytest

from factories import IndexServer


@pytest.fixture
def index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> IndexServer:
    """Point every installer at the local index through PIP_INDEX_URL (appx keeps it)."""
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)
    return index_server


@pytest.fixture(params=["pip", "uv"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with each installer backend, chosen through APPX_BACKEND."""
    name: str = request.param
    monkeypatch.setenv("APPX_BACKEND", name)
    return name


@pytest.fixture
def pip_backend(monkeypatch: pytest.MonkeyPatch) -> str:
    """For tests of the pip backend itself: APPX_BACKEND=pip."""
    monkeypatch.setenv("APPX_BACKEND", "pip")
    return "pip"
