#!/usr/bin/env python3
"""Time a cached ``appx run pycowsay hi`` against pipx, uvx, the app itself and a bare Python.

Every command is primed once (so each timed run is a cache hit), warmed up, then timed
``--runs`` times, interleaved; the table gives medians and the issue's three goals.
Standard library only: it runs on any Python 3.11+, with appx, pipx and uvx as executables.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

APP = "pycowsay"
APP_ARGS = ("hi",)
CALL = " ".join((APP, *APP_ARGS))  # what every tool is asked to run
TIMEOUT_S = 900  # a cold pipx or uvx build on a slow index; a timed run takes well under 1 s
PIPX_LIMIT = 0.25  # appx / pipx
UVX_LIMIT = 0.5  # appx / uvx
BARE_FACTOR = 1.5  # appx - direct <= this times a bare Python start-up
JSON_SCHEMA = 1

Status = Literal["pass", "fail", "skipped"]


class BenchError(Exception):
    """A command failed or the setup is unusable: no measurement is made."""


@dataclass(frozen=True)
class Subject:
    """One command to time, with the environment it runs in."""

    key: str  # appx, pipx, uvx, direct or python
    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str]


@dataclass(frozen=True)
class Timing:
    """The timed runs of one subject."""

    subject: Subject
    version: str | None
    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


@dataclass(frozen=True)
class Goal:
    """One of the issue's goals: ``measured <= limit``, or skipped when not measured."""

    name: str
    measured: float | None
    limit: float | None
    unit: Literal["ratio", "ms"]

    @property
    def status(self) -> Status:
        if self.measured is None or self.limit is None:
            return "skipped"
        return "pass" if self.measured <= self.limit else "fail"


def evaluate_goals(medians: Mapping[str, float]) -> list[Goal]:
    """The three goals from the medians of one run; pipx and uvx may be missing (skipped)."""
    appx = medians["appx"]
    goals = [
        Goal(
            f"appx / {tool} <= {limit}",
            appx / medians[tool] if tool in medians else None,
            limit,
            "ratio",
        )
        for tool, limit in (("pipx", PIPX_LIMIT), ("uvx", UVX_LIMIT))
    ]
    goals.append(
        Goal(
            f"appx - direct <= {BARE_FACTOR} x bare python",
            appx - medians["direct"],
            BARE_FACTOR * medians["python"],
            "ms",
        )
    )
    return goals


def tool_env(base: Mapping[str, str], root: Path, tool: str) -> dict[str, str]:
    """``base`` with a HOME and cache dirs of the tool's own under ``root``.

    Index settings (``PIP_*``, ``UV_INDEX_URL``, pip's and uv's config files) are the
    user's, kept on purpose: this is a real-world measurement. The config dir stays the
    user's for that reason; data and caches move under ``root``.
    """
    home = root / tool / "home"
    config = base.get("XDG_CONFIG_HOME") or str(
        Path(base.get("HOME", "~")).expanduser() / ".config"
    )
    env = {key: value for key, value in base.items() if key != "VIRTUAL_ENV"}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=config,
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
    )
    own = root / tool
    if tool == "appx":
        env.update(
            APPX_HOME=str(own / "appx-home"),
            APPX_CACHE_DIR=str(own / "cache"),
            APPX_BIN_DIR=str(own / "bin"),
            APPX_MAN_DIR=str(own / "man"),
        )
    elif tool == "pipx":
        env.update(PIPX_HOME=str(own / "pipx-home"), PIPX_BIN_DIR=str(own / "bin"))
        env.update(PIPX_MAN_DIR=str(own / "man"))
    elif tool == "uvx":
        env.update(UV_CACHE_DIR=str(own / "cache"), UV_TOOL_DIR=str(own / "tools"))
        env.update(UV_TOOL_BIN_DIR=str(own / "bin"))
    home.mkdir(parents=True, exist_ok=True)
    return env


def interpreter_of(script: Path) -> Path:
    """The Python a console script runs on, from its shebang (pip's ``/bin/sh`` form too)."""
    try:
        with script.open("rb") as file:
            head = [file.readline().decode("utf-8", "replace") for _ in range(2)]
    except OSError as error:
        raise BenchError(f"cannot read {script}: {error}") from error
    shebang = head[0].removeprefix("#!").strip()
    if shebang == "/bin/sh" and head[1].startswith("'''exec' "):
        # pip's form for interpreter paths too long for a shebang: '''exec' "PY" "$0" "$@"
        shebang = head[1].split('"')[1]
    interpreter = Path(shebang.split()[0]) if shebang else None
    if head[0].startswith("#!") and interpreter and interpreter.name.startswith("python"):
        return interpreter
    raise BenchError(f"cannot tell which Python {script} runs on; pass --python")


def find_direct_script(cache_dir: Path) -> Path:
    """The app's script in appx's cached run env (there must be exactly one such env)."""
    found = sorted((cache_dir / "run").glob(f"*/current/bin/{APP}"))
    if len(found) != 1:
        listed = ", ".join(map(str, found)) or "none"
        raise BenchError(
            f"expected one cached env with bin/{APP} under {cache_dir / 'run'}, found {listed}"
        )
    return found[0]


def run_checked(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured; a failure ends the benchmark."""
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BenchError(f"{' '.join(argv)}: {error}") from error
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}:\n{tail}")
    return done


def time_once(subject: Subject) -> float:
    """Milliseconds of wall time for one run of the subject."""
    start = time.perf_counter()
    run_checked(subject.argv, subject.env)
    return (time.perf_counter() - start) * 1000


def version_of(executable: str, env: Mapping[str, str]) -> str | None:
    """The first line a tool prints for ``--version``; None when it prints none."""
    try:
        done = run_checked([executable, "--version"], env)
    except BenchError:
        return None  # a version is a caption, not a measurement
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    if not lines:
        return None
    # pipx prints a bare number: name it, as the others name themselves.
    return f"{Path(executable).name} {lines[0]}" if lines[0][:1].isdigit() else lines[0]


def measure(subjects: Sequence[Subject], runs: int, warmups: int) -> dict[str, list[float]]:
    """Prime and warm up every subject, then time them round-robin."""
    for subject in subjects:
        for _ in range(1 + warmups):
            run_checked(subject.argv, subject.env)
    samples: dict[str, list[float]] = {subject.key: [] for subject in subjects}
    # Interleaved, so that load from the machine's other users falls on every tool alike.
    for _ in range(runs):
        for subject in subjects:
            samples[subject.key].append(time_once(subject))
    return samples


def machine() -> dict[str, Any]:
    """Date, platform, CPU model and core count, for the table's caption."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass  # not Linux: platform.processor() is what there is
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
    }


def build_subjects(args: argparse.Namespace, scratch: Path) -> list[Subject]:
    """Prime appx (which builds its cached env), then name every command to time."""
    appx_env = tool_env(os.environ, scratch, "appx")
    appx = Subject(
        "appx", f"`appx run {CALL}` (cached)", (str(args.appx), "run", APP, *APP_ARGS), appx_env
    )
    run_checked(appx.argv, appx.env)
    direct = find_direct_script(Path(appx_env["APPX_CACHE_DIR"]))
    python = args.python or interpreter_of(args.appx)
    subjects = [appx]
    if not args.only_appx:
        subjects += [
            Subject(
                "pipx",
                f"`pipx run {CALL}`",
                (str(args.pipx), "run", APP, *APP_ARGS),
                tool_env(os.environ, scratch, "pipx"),
            ),
            Subject(
                "uvx",
                f"`uvx {CALL}`",
                (str(args.uvx), APP, *APP_ARGS),
                tool_env(os.environ, scratch, "uvx"),
            ),
        ]
    subjects += [
        Subject(
            "direct", f"`{CALL}` (the cached env's script)", (str(direct), *APP_ARGS), appx_env
        ),
        Subject(
            "python", "`python -c pass` (appx's Python)", (str(python), "-c", "pass"), appx_env
        ),
    ]
    return subjects


def report(timings: Sequence[Timing], runs: int, info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document: the machine, every timing with its ratio, and the goals."""
    medians = {timing.subject.key: timing.median_ms for timing in timings}
    return {
        "schema": JSON_SCHEMA,
        **info,
        "runs": runs,
        "results": [
            {
                "tool": timing.subject.key,
                "label": timing.subject.label,
                "command": list(timing.subject.argv),
                "version": timing.version,
                "median_ms": timing.median_ms,
                "samples_ms": list(timing.samples_ms),
                "ratio": medians["appx"] / timing.median_ms,
            }
            for timing in timings
        ],
        "goals": [
            {
                "goal": g.name,
                "measured": g.measured,
                "limit": g.limit,
                "unit": g.unit,
                "status": g.status,
            }
            for g in evaluate_goals(medians)
        ],
    }


def render_markdown(doc: Mapping[str, Any]) -> str:
    """The report as Markdown: a caption, the timings table and the goals table."""
    versions = ", ".join(r["version"] for r in doc["results"] if r["version"])
    lines = [
        f"{doc['date']} · {doc['platform']} · {doc['cpu']} · {doc['cores']} cores · "
        f"median of {doc['runs']} runs · {versions}",
        "",
        "| tool | median ms | appx / tool |",
        "| --- | ---: | ---: |",
        *(f"| {r['label']} | {r['median_ms']:.1f} | {r['ratio']:.2f} |" for r in doc["results"]),
        "",
        "| goal | measured | limit | result |",
        "| --- | ---: | ---: | --- |",
    ]
    for goal in doc["goals"]:
        unit = " ms" if goal["unit"] == "ms" else ""
        measured = "n/a" if goal["measured"] is None else f"{goal['measured']:.2f}{unit}"
        lines.append(
            f"| {goal['goal']} | {measured} | {goal['limit']:.2f}{unit} | {goal['status']} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--appx", type=Path, required=True, help="the appx executable")
    parser.add_argument("--pipx", type=Path, help="the pipx executable")
    parser.add_argument("--uvx", type=Path, help="the uvx executable")
    parser.add_argument("--scratch", type=Path, required=True, help="a dir for homes and caches")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per tool (default 15)")
    parser.add_argument("--warmups", type=int, default=1, help="untimed runs after priming")
    parser.add_argument("--python", type=Path, help="the bare Python (default: appx's own)")
    parser.add_argument("--only-appx", action="store_true", help="no pipx or uvx")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if not args.only_appx and (args.pipx is None or args.uvx is None):
        parser.error("--pipx and --uvx are required unless --only-appx is given")
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be at least 1 and --warmups at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = args.scratch.resolve()
    try:
        subjects = build_subjects(args, scratch)
        versions = {s.key: version_of(s.argv[0], s.env) for s in subjects if s.key != "direct"}
        samples = measure(subjects, args.runs, args.warmups)
    except BenchError as error:
        print(f"run_bench: error: {error}", file=sys.stderr)
        return 1
    timings = [Timing(s, versions.get(s.key), tuple(samples[s.key])) for s in subjects]
    doc = report(timings, args.runs, machine())
    print(render_markdown(doc), end="")
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
