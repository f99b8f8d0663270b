"""Sessions: tests (hermetic, the default), stress (long fault and load runs), smoke (real PyPI),
lint, types; bench (by hand)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


@nox.session(python=None)
def tests(session: nox.Session) -> None:
    """The hermetic suite: local wheels, a local index on 127.0.0.1, a temp home per test."""
    session.install(".[uv]", *nox.project.dependency_groups(PYPROJECT, "test"))  # both backends
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *(session.posargs or ["tests"]))
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


STRESS = {
    "APPX_TEST_FAULT_POINTS": "all",  # kill every mutating command before each mutation
    "APPX_TEST_STRESS_PROCESSES": "6",
    "APPX_TEST_STRESS_COMMANDS": "25",
    "APPX_TEST_STRESS_KILLS": "40",
}


@nox.session(python=None)
def stress(session: nox.Session) -> None:
    """The long fault and load runs: a kill before every mutation of every mutating command,
    processes at once, random SIGKILLs. Counts and seeds are in the summary at the end;
    APPX_TEST_STRESS_SEED=N repeats a round."""
    session.install(".[uv]", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run(
        "pytest",
        *(session.posargs or ["tests/cli/test_faults.py", "tests/cli/test_stress.py"]),
        env={**STRESS, **{k: v for k, v in os.environ.items() if k.startswith("APPX_TEST_")}},
    )


@nox.session(python=None)
def smoke(session: nox.Session) -> None:
    """The README's quickstart from a fresh clone, against real PyPI, through the console script."""
    quickstart = _readme_block("quickstart")
    with tempfile.TemporaryDirectory(prefix="appx-smoke-") as scratch:
        home = Path(scratch) / "home"
        clone = Path(scratch) / "appx"
        home.mkdir()
        session.run("git", "clone", "--quiet", str(ROOT), str(clone), external=True)
        env = _smoke_env(home)
        session.log("quickstart: %s", quickstart)
        session.chdir(clone)
        session.run("bash", "-euo", "pipefail", "-c", quickstart, env=env, external=True)
        appx = home / ".local" / "bin" / "appx"
        _smoke_backend(session, appx, env)
        session.run(str(appx), "install", "black", env=env, external=True)
        for command in (["black", "--version"], ["pycowsay", "hello from appx"]):
            session.run(
                str(home / ".local" / "bin" / command[0]), *command[1:], env=env, external=True
            )
        _smoke_run(session, appx, env)
        session.run(str(appx), "upgrade-all", env=env, external=True)
        session.run(str(appx), "list", env=env, external=True)
        session.run(str(appx), "uninstall", "black", "pycowsay", env=env, external=True)
        for gone in ("black", "blackd", "pycowsay"):
            if os.path.lexists(home / ".local" / "bin" / gone):
                session.error(f"{gone} is still in the bin dir after uninstall")
        session.run(str(appx), "uninstall", "appx", env=env, external=True)


@nox.session(python=None)
def bench(session: nox.Session) -> None:
    """appx (uv and pip backends) against uv tool and pipx, every scenario: the README's table.

    Not in CI; takes about 15 minutes. pipx and uv are installed beside appx (the bench
    group); every tool gets PyPI alone, a download cache of its own warmed once, and a fresh
    home each round, all in a temp dir. Arguments after `--` go to
    benchmarks/run_bench.py: `--runs N`, `--only SCENARIO,...`, `--tools COLUMN,...`,
    `--json FILE`, `--markdown FILE`.
    """
    session.install(".[uv]", *nox.project.dependency_groups(PYPROJECT, "bench"))
    bin_dir = Path(session.bin)
    tools = [
        arg for name in ("appx", "uv", "uvx", "pipx") for arg in (f"--{name}", str(bin_dir / name))
    ]
    with tempfile.TemporaryDirectory(prefix="appx-bench-") as scratch:
        session.run(
            "python",
            str(ROOT / "benchmarks" / "run_bench.py"),
            *tools,
            *("--scratch", scratch),
            *session.posargs,
        )


@nox.session(python=None)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session(python=None)
def types(session: nox.Session) -> None:
    """mypy, strict, over src, tests and benchmarks."""
    session.install(".[uv]", *nox.project.dependency_groups(PYPROJECT, "types"))
    session.run("mypy")


def _readme_block(name: str) -> str:
    """The shell command the README marks with <!-- NAME -->, so the README stays true."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\s*```sh\n(.*?)```", text, re.DOTALL)
    if match is None:
        raise RuntimeError(f"README.md has no <!-- {name} --> block")
    return " ".join(line.strip().removesuffix("\\") for line in match.group(1).splitlines()).strip()


def _smoke_run(session: nox.Session, appx: Path, env: dict[str, str]) -> None:
    """`appx run pycowsay hi` against PyPI: built on the first run, exec'd from the cache next."""
    for _ in range(2):
        output = session.run(
            str(appx), "run", "pycowsay", "hi", env=env, external=True, silent=True
        )
        if not isinstance(output, str) or "< hi >" not in output:
            session.error(f"`appx run pycowsay hi` did not print the cow: {output!r}")


def _smoke_backend(session: nox.Session, appx: Path, env: dict[str, str]) -> None:
    """The quickstart's appx carries uv (its `uv` extra) and builds with it."""
    output = session.run(str(appx), "environment", "--json", env=env, external=True, silent=True)
    backend = json.loads(output)["backend"]["value"] if isinstance(output, str) else ""
    if not backend.startswith("uv "):
        session.error(f"the quickstart's appx does not build with uv: backend {backend!r}")


def _smoke_env(home: Path) -> dict[str, str]:
    env = {"HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "", "XDG_CACHE_HOME": ""}
    for name in ("APPX_HOME", "APPX_BIN_DIR", "APPX_MAN_DIR", "APPX_CACHE_DIR", "VIRTUAL_ENV"):
        env[name] = ""
    env["PATH"] = os.pathsep.join([str(home / ".local" / "bin"), os.environ.get("PATH", "")])
    return env
