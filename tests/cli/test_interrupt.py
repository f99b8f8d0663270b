"""Exit 130 means "discarded": Ctrl-C or SIGTERM before the commit point discards the change;
after it, the change stands, its clean-up finishes and appx exits 0 with the normal result.

``APPX_FAULT_AT=<point>`` with ``APPX_FAULT_SIGNAL`` makes appx send itself the signal
(``INT``, ``TERM``, or ``INT,INT`` for Ctrl-C pressed twice) at that step.
"""

from __future__ import annotations

import json
import os

import pytest

import factories
from appx_checks import dir_entries, healthy_versions, output_of
from crash_checks import interrupted_at
from factories import Env, IndexServer

pytestmark = pytest.mark.slow

BEFORE_COMMIT = ("after-marker", "after-venv", "after-install", "after-receipt", "after-links")


@pytest.fixture(autouse=True)
def local_index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)


def no_build_left(env: Env, app: str) -> bool:
    app_dir = env.appx_home / "venvs" / app
    return not any(name.endswith(".building") for name in dir_entries(app_dir))


@pytest.mark.parametrize("point", BEFORE_COMMIT)
def test_ctrl_c_before_the_commit_discards_the_install(
    point: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    result = interrupted_at(point, "INT", run_appx, monkeypatch, "install", "cowsay-lite")
    assert result.code == 130, result
    assert "interrupted" in result.stderr
    assert healthy_versions(run_appx) == {}
    assert not os.path.lexists(appx_env.bin_dir / "cowsay-lite")
    assert dir_entries(appx_env.appx_home / "venvs" / "cowsay-lite") == set()


@pytest.mark.parametrize("signals", ["INT", "TERM", "INT,INT"])
def test_a_signal_after_the_commit_keeps_the_change_and_exits_zero(
    signals: str, run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    result = interrupted_at(
        "after-flip", signals, run_appx, monkeypatch, "install", "cowsay-lite==1.0"
    )
    assert result.code == 0, result
    assert "installed cowsay-lite 1.0" in result.stdout
    if signals == "INT,INT":  # the second one cut the clean-up short, and says so
        assert "finishes its clean-up" in result.stderr
    else:
        assert no_build_left(appx_env, "cowsay-lite")
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
    assert run_appx("install", "gui-app").code == 0  # the next command finishes any clean-up
    assert no_build_left(appx_env, "cowsay-lite")
    assert healthy_versions(run_appx) == {"cowsay-lite": "1.0", "gui-app": "1.0"}


def test_a_forced_reinstall_interrupted_after_its_commit_is_the_new_version(
    run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    result = interrupted_at(
        "after-flip", "TERM", run_appx, monkeypatch, "install", "--force", "cowsay-lite==2.0"
    )
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"
    assert healthy_versions(run_appx) == {"cowsay-lite": "2.0"}


def test_ctrl_c_after_one_app_of_a_batch_is_committed_starts_no_other(
    run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    result = interrupted_at(
        "after-flip", "INT", run_appx, monkeypatch, "install", "--json", "gui-app", "cowsay-lite"
    )
    assert result.code == 130, result
    document = json.loads(result.stdout)
    assert [r["status"] for r in document["results"]] == ["installed", "failed"]
    assert document["results"][1]["error"]["kind"] == "interrupted"
    assert document["error"]["exit_code"] == 130
    assert healthy_versions(run_appx) == {"gui-app": "1.0"}


def test_ctrl_c_after_an_uninstall_is_committed_finishes_it(
    run_appx: factories.RunAppx, monkeypatch: pytest.MonkeyPatch, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    result = interrupted_at(
        "after-detach", "INT", run_appx, monkeypatch, "uninstall", "tool-with-man"
    )
    assert result.code == 0, result
    assert "uninstalled tool-with-man" in result.stdout
    assert not os.path.lexists(appx_env.bin_dir / "tool-with-man")
    assert not os.path.lexists(appx_env.man_dir / "man1" / "tool-with-man.1")
    assert healthy_versions(run_appx) == {}
