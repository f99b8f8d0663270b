"""Fixtures shared by every test: a hermetic environment, builders, a local index, appx itself."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

import pytest

import factories
from appx import signals
from appx.paths import AppxPaths
from factories import Env, IndexServer, ProcResult, ProjectOptions, WheelOptions

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """No PIP_*/UV_*/APPX_* from the shell, no pip or uv config, every home under tmp_path."""
    env = Env.under(tmp_path)
    target = factories.hermetic_environ(os.environ, env)
    for key in set(os.environ) - set(target):
        monkeypatch.delenv(key)
    for key, value in target.items():
        monkeypatch.setenv(key, value)
    env.home.mkdir()
    env.xdg_config_dirs.mkdir()
    return env


@pytest.fixture
def paths(tmp_path: Path) -> AppxPaths:
    """An AppxPaths under ``tmp_path``, for tests that call appx's modules directly."""
    root = tmp_path / "appx"
    root.mkdir()
    return AppxPaths(
        home=root / "home", bin_dir=root / "bin", man_dir=root / "man", cache_dir=root / "cache"
    )


@pytest.fixture
def appx_handlers() -> Iterator[None]:
    """appx's SIGINT/SIGTERM handlers (as its entry point installs them) for one test."""
    previous = signals.install_handlers()
    try:
        yield
    finally:
        signals.restore_handlers(previous)
        signals.clear_pending()


@pytest.fixture
def appx_env(hermetic_env: Env) -> Env:
    """The paths of this test's hermetic environment (APPX_HOME, bin and man dirs, ...)."""
    return hermetic_env


@pytest.fixture
def wheel_factory(tmp_path: Path) -> factories.WheelFactory:
    """Build wheels into ``tmp_path/"wheels"`` (usable as a ``--find-links`` dir)."""

    def build(name: str, version: str = "1.0", **options: Unpack[WheelOptions]) -> Path:
        return factories.build_wheel(tmp_path / "wheels", name, version, **options)

    return build


@pytest.fixture
def project_factory(tmp_path: Path) -> factories.ProjectFactory:
    """Write local projects into ``tmp_path/"projects"/p<N>`` (a dir name that tells nothing)."""
    numbers = itertools.count()

    def make(name: str, version: str = "1.0", **options: Unpack[ProjectOptions]) -> Path:
        dest = tmp_path / "projects" / f"p{next(numbers)}"
        return factories.make_project(dest, name, version, **options)

    return make


@pytest.fixture(scope="session")
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """pypiserver on 127.0.0.1 for the whole session, pre-filled with this catalogue of wheels.

    Every package's command prints ``"<package> <version>"`` and its arguments.

    - ``cowsay-lite`` 1.0 and 2.0: command ``cowsay-lite``.
    - ``tool-with-man`` 1.0: command ``tool-with-man`` and man page ``man1/tool-with-man.1``.
    - ``dep-lib`` 1.0: a library whose command is ``dep-tool`` (for ``--include-deps``).
    - ``app-with-dep`` 1.0: command ``app-with-dep``; requires ``dep-lib``.
    - ``no-commands`` 1.0: a library with no commands at all.
    - ``gui-app`` 1.0: GUI script ``gui-app``.
    - ``script-app`` 1.0: a plain script ``script-app`` (``.data/scripts``, ``#!python``) that
      prints ``script-app 1.0``; no entry points.
    - ``multi-cmd`` 1.0: commands ``multi-a`` and ``multi-b``; 2.0: ``multi-a`` and ``multi-c``
      (an upgrade drops a command and adds one).
    - ``future-python`` 1.0: command ``future-python``; ``Requires-Python: >=4``.

    ``index_server.add_wheel(name, version, **options)`` adds a wheel that pip sees at once;
    the index is shared by the session, so give added packages names unique to the test.
    """
    root = tmp_path_factory.mktemp("index")
    packages = root / "packages"
    factories.populate_catalogue(packages)
    server = factories.start_index_server(packages, root / "pypiserver.log")
    yield server
    server.stop()


@pytest.fixture
def run_appx(appx_env: Env) -> factories.RunAppx:
    """Run ``python -m appx *args`` in a process of its own, in this test's hermetic env."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 300.0) -> ProcResult:
        return factories.run(
            factories.appx_command(*args), cwd=cwd or appx_env.tmp, timeout=timeout
        )

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault-injection and stress counts, so a run says how much it proved."""
    import fault_walk

    if fault_walk.REPORT:
        terminalreporter.section("fault injection")
        for line in fault_walk.REPORT:
            terminalreporter.write_line(line)
