"""Invariant 3 for every mutating command: a SIGKILL or a Ctrl-C before any filesystem
mutation it makes leaves every app whole in its old or its new state, and the next command
mends the rest.

See ``fault_walk``: by default six of the commands are walked, each killed just before and
just after each commit; the ``stress`` session (APPX_TEST_FAULT_POINTS=all) walks all of
them, stopping each before every one of its mutations, both ways. The counts are in the
session's summary.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fault_walk import DETACH, Scenario, every_point, runner, walk

if TYPE_CHECKING:
    from factories import Env, IndexServer

pytestmark = pytest.mark.slow

ONE = "cowsay-lite==1.0"
INSTALL_ONE = ("install", ONE)
TWO_APPS = (INSTALL_ONE, ("install", "multi-cmd==1.0"))
SERIAL = {"APPX_JOBS": "1"}  # one mutation order to walk


def break_apps(env: Env) -> None:
    """Remove dep-lib from app-with-dep's environment, every file of it, and multi-a's link."""
    generation = (env.appx_home / "venvs" / "app-with-dep" / "current").resolve()
    receipt = json.loads((generation / "appx-receipt.json").read_text(encoding="utf-8"))
    purelib = Path(receipt["venv"]["purelib"])
    (dist_info,) = purelib.glob("dep_lib-*.dist-info")
    with (dist_info / "RECORD").open(encoding="utf-8", newline="") as rows:
        for row in csv.reader(rows):
            (purelib / row[0]).unlink(missing_ok=True)
    shutil.rmtree(dist_info)
    shutil.rmtree(purelib / "dep_lib")  # its bytecode too, which no RECORD lists
    (env.bin_dir / "multi-a").unlink()


SCENARIOS = [
    Scenario("install", INSTALL_ONE, {"cowsay-lite": (None, "1.0")}),
    Scenario(
        "install-two",
        ("install", "cowsay-lite", "multi-cmd==1.0"),
        {"cowsay-lite": (None, "2.0"), "multi-cmd": (None, "1.0")},
        env=SERIAL,
    ),
    Scenario(
        "install-force",
        ("install", "--force", "cowsay-lite==2.0"),
        {"cowsay-lite": ("1.0", "2.0")},
        setup=(INSTALL_ONE,),
    ),
    Scenario(  # 2.0 has multi-a and multi-c, 1.0 multi-a and multi-b
        "upgrade",
        ("upgrade", "multi-cmd"),
        {"multi-cmd": ("1.0", "2.0")},
        setup=(("install", "multi-cmd==1.0"),),
    ),
    Scenario(
        "upgrade-all",
        ("upgrade-all",),
        {"cowsay-lite": ("1.0", "2.0"), "multi-cmd": ("1.0", "2.0")},
        setup=TWO_APPS,
        env=SERIAL,
    ),
    Scenario(
        "inject",
        ("inject", "cowsay-lite", "dep-lib"),
        {"cowsay-lite": ("1.0", "1.0+dep-lib")},
        setup=(INSTALL_ONE,),
    ),
    Scenario(
        "uninject",
        ("uninject", "cowsay-lite", "dep-lib"),
        {"cowsay-lite": ("1.0+dep-lib", "1.0")},
        setup=(INSTALL_ONE, ("inject", "cowsay-lite", "dep-lib")),
        then=("reinstall", "cowsay-lite"),
    ),
    Scenario(
        "rollback",
        ("rollback", "cowsay-lite"),
        {"cowsay-lite": ("2.0", "1.0")},
        setup=(INSTALL_ONE, ("install", "--force", "cowsay-lite==2.0")),
    ),
    Scenario(
        "reinstall",
        ("reinstall", "cowsay-lite"),
        {"cowsay-lite": ("1.0", "1.0")},
        setup=(INSTALL_ONE,),
    ),
    Scenario(
        "reinstall-all",
        ("reinstall-all",),
        {"cowsay-lite": ("1.0", "1.0"), "multi-cmd": ("1.0", "1.0")},
        setup=TWO_APPS,
        env=SERIAL,
    ),
    Scenario(
        "uninstall",
        ("uninstall", "cowsay-lite"),
        {"cowsay-lite": ("1.0", None), "multi-cmd": ("1.0", "1.0")},
        setup=TWO_APPS,
        commit=DETACH,
        then=INSTALL_ONE,
    ),
    Scenario(
        "uninstall-all",
        ("uninstall-all",),
        {"cowsay-lite": ("1.0", None), "multi-cmd": ("1.0", None)},
        setup=TWO_APPS,
        commit=DETACH,
        then=INSTALL_ONE,
    ),
    Scenario(
        "sync",
        ("sync", "apps.toml", "--prune"),
        {
            "cowsay-lite": ("2.0", "1.0"),
            "multi-cmd": ("1.0", "1.0"),
            "tool-with-man": ("1.0", None),
        },
        setup=(
            *TWO_APPS,
            ("export", "apps.toml"),
            ("upgrade", "cowsay-lite"),
            ("install", "tool-with-man"),
        ),
        commits={"tool-with-man": DETACH},
        env=SERIAL,
        # a batch: Ctrl-C after the last commit still leaves the steps after it (multi-cmd,
        # already as the file says) not started, and says so (130)
        code_after=frozenset({0, 130}),
    ),
    Scenario(
        "pin",
        ("pin", "cowsay-lite"),
        {"cowsay-lite": ("1.0", "1.0 pinned")},
        setup=(INSTALL_ONE,),
        commit=r"open \S*/venvs/{app}/pinned",
    ),
    Scenario(
        "unpin",
        ("unpin", "cowsay-lite"),
        {"cowsay-lite": ("1.0 pinned", "1.0")},
        setup=(INSTALL_ONE, ("pin", "cowsay-lite")),
        commit=r"unlink \S*/venvs/{app}/pinned",
    ),
    Scenario(  # the run env's own flip is its commit; the next run must work whatever N was
        "run",
        ("run", "cowsay-lite", "hi"),
        {},
        then=("install", "multi-cmd"),  # a mutating command clears what the run left
        run_output="cowsay-lite 2.0 hi",
        code_after=frozenset({130}),  # interrupted, it starts no app, even with its env committed
    ),
    Scenario(  # a rebuild (a dependency removed behind appx's back) and a link to recreate
        "doctor-fix",
        ("doctor", "--fix"),
        {"app-with-dep": ("1.0", "1.0"), "multi-cmd": ("1.0", "1.0")},
        setup=(("install", "app-with-dep"), ("install", "multi-cmd==1.0")),
        prepare=break_apps,
        # Ctrl-C stops doctor between fixes (those made stand: 130); one in the clean-up of a
        # committed rebuild lets it finish (0)
        code_after=frozenset({0, 130}),
    ),
]


# The default session walks these (one of each way a change commits: a fresh flip, a flip
# that changes commands, a flip back, a detach, a run env's flip, doctor's rebuild); the
# stress session walks every scenario, at every mutation.
EVERYDAY = {"install", "upgrade", "rollback", "uninstall", "run", "doctor-fix"}
WALKED = SCENARIOS if every_point() else [s for s in SCENARIOS if s.id in EVERYDAY]


@pytest.mark.parametrize("scenario", WALKED, ids=[s.id for s in WALKED])
def test_a_kill_or_ctrl_c_before_any_mutation_leaves_every_app_whole(
    scenario: Scenario, appx_env: Env, index_server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", index_server.url)
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    walk(scenario, appx_env, runner(appx_env))
