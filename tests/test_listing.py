"""Tests for appx.listing: list takes no lock, so an app may go while it is being listed."""

from __future__ import annotations

import os
import shutil

import pytest

from appx.listing import list_apps
from appx.paths import AppxPaths
from appx.receipt import save_receipt
from appx.store import Generation, Store
from link_factories import make_generation, receipt_for


def _installed(paths: AppxPaths, app: str) -> None:
    receipt = receipt_for(app, app)
    save_receipt(make_generation(paths, app, f"bin/{app}"), receipt)


def test_an_app_uninstalled_after_the_listing_began_is_left_out(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(paths, "stays")
    _installed(paths, "goes")
    seen = Store.installed(paths.apps)
    shutil.rmtree(paths.venvs / "goes")  # uninstalled between the two reads
    monkeypatch.setattr(Store, "installed", lambda _self: seen)

    listing = list_apps(paths)

    assert [status.app for status in listing.apps] == ["stays"]


def test_an_app_whose_generation_goes_while_its_receipt_is_read_is_left_out(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(paths, "goes")
    real_read = Store.read_current
    calls: list[str] = []

    def read_then_uninstall(self: Store, unit: str) -> Generation | None:
        found = real_read(self, unit)
        calls.append(unit)
        if len(calls) == 1:  # the uninstall lands just after list found the generation
            os.rename(paths.venvs / "goes", paths.home / "detached")
        return found

    monkeypatch.setattr(Store, "read_current", read_then_uninstall)

    assert list_apps(paths).apps == ()
