#!/usr/bin/env python3
"""Time appx against uv tool and pipx: installs, list, upgrade-all, run, uninstall, launch, disk.

Each column (a tool in one configuration, see bench_tools.COLUMNS) has a download cache of
its own, warmed once (the 10 apps installed and pycowsay run in a throwaway home) and kept
for the whole run; every measured round starts from a fresh, empty home. Columns are
measured round-robin in each round, so the machine's other load falls on all alike; the
table gives medians. Standard library only, plus the tools as executables.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bench_tools as tools
from bench_measure import BenchError, disk_usage, fresh_dir, remove, run_checked, timed
from bench_report import SCENARIO_KEYS, Samples, build_doc, disk_beyond, render_markdown

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bench_tools import Column, Executables

QUICK_FACTOR = 4  # commands under a second that need no fresh home get this many samples a round
PHASES = {  # the scenarios measured together, in one set of homes
    "version": ("version",),
    "black": ("install-black", "uninstall"),
    "ten": ("install-10", "disk", "list", "upgrade-all", "link", "script"),
    "run": ("run-first", "run-cached"),
}


class Bench:
    """One benchmark run: the columns still in it, their samples and what went wrong."""

    def __init__(
        self,
        exe: Executables,
        scratch: Path,
        columns: Sequence[Column],
        scenarios: Sequence[str],
        runs: int,
    ) -> None:
        self.exe = exe
        self.scratch = scratch
        self.columns = list(columns)
        self.scenarios = set(scenarios)
        self.runs = runs
        self.samples: Samples = {key: {} for key in SCENARIO_KEYS if key in self.scenarios}
        self.failures: dict[str, str] = {}  # column key -> why it was left out
        self.errors: dict[tuple[str, str], list[str]] = {}  # (column, scenario) -> errors
        self.notes: list[str] = []

    def live(self) -> list[Column]:
        return [c for c in self.columns if c.key not in self.failures]

    def env(self, column: Column, home: Path) -> dict[str, str]:
        cache = tools.cache_dir(self.scratch, column)
        return tools.column_env(os.environ, column, home, cache, self.exe.python)

    def home(self, column: Column, tag: str) -> Path:
        return fresh_dir(self.scratch / column.key / "homes" / tag)

    def record(self, scenario: str, column: Column, value: float) -> None:
        if scenario in self.samples:
            self.samples[scenario].setdefault(column.key, []).append(value)

    def each(
        self, step: Callable[[Column], None], what: str, columns: Sequence[Column] | None = None
    ) -> list[Column]:
        """``step`` for each column (default: every live one); those it succeeded for.

        A failed warm-up takes the column out of the run; any other failure leaves that
        sample out and is reported, with how often it happened.
        """
        done = []
        for column in self.live() if columns is None else columns:
            try:
                step(column)
            except BenchError as error:
                print(f"run_bench: {column.label}: {what}: {error}", file=sys.stderr)
                if what == "warm-up":
                    self.failures[column.key] = f"{what}: {error}"
                else:
                    self.errors.setdefault((column.label, what), []).append(str(error))
            else:
                done.append(column)
        return done

    def error_notes(self) -> list[str]:
        return [
            f"{label}: {what} failed {len(errors)} time(s), those samples are left out: {errors[0]}"
            for (label, what), errors in self.errors.items()
        ]

    def warm_up(self, column: Column) -> None:
        """Fill the column's download cache; check the tool built with the backend asked for."""
        home = self.home(column, "warm-up")
        env = self.env(column, home)
        timed(tools.install_argvs(column, self.exe, tools.APPS), env, home)
        run_checked(tools.run_argv(column, self.exe), env, home)
        listing = tools.list_json_argv(column, self.exe)
        if listing and column.backend:
            backends = tools.recorded_backends(column.kind, run_checked(listing, env).stdout)
            other = {name: b for name, b in backends.items() if b != column.backend}
            if other:
                raise BenchError(
                    f"asked for the {column.backend} backend, apps were built with "
                    f"{', '.join(sorted(set(other.values())))}"
                )
        pip_http = tools.cache_dir(self.scratch, column) / "pip" / "http-v2"
        if column.backend == "pip" and disk_usage([pip_http]) < 1 << 20:
            self.notes.append(
                f"{column.label}: pip's HTTP cache stayed (nearly) empty after "
                "the warm-up, so pip downloaded the wheels again in every round "
                "(responses without cache headers are not cached)"
            )
        remove(home)

    def phase_version(self) -> None:
        for _ in range(self.runs * QUICK_FACTOR):
            self.each(
                lambda c: self.record(
                    "version",
                    c,
                    timed([tools.version_argv(c, self.exe)], self.env(c, self.home(c, "version"))),
                ),
                "--version",
            )

    def phase_black(self) -> None:
        def step(column: Column) -> None:
            home = self.home(column, "black")
            env = self.env(column, home)
            self.record(
                "install-black",
                column,
                timed(tools.install_argvs(column, self.exe, (tools.ONE_APP,)), env, home),
            )
            self.record(
                "uninstall",
                column,
                timed([tools.uninstall_argv(column, self.exe, tools.ONE_APP)], env, home),
            )
            remove(home)

        for _ in range(self.runs):
            self.each(step, "install black / uninstall")

    def phase_ten(self) -> None:
        for _ in range(self.runs):
            homes = {c.key: self.scratch / c.key / "homes" / "ten" for c in self.live()}

            def install(column: Column, homes: dict[str, Path] = homes) -> None:
                home = self.home(column, "ten")
                self.record(
                    "install-10",
                    column,
                    timed(
                        tools.install_argvs(column, self.exe, tools.APPS),
                        self.env(column, home),
                        home,
                    ),
                )
                cache = tools.cache_dir(self.scratch, column)
                self.record(
                    "disk", column, disk_beyond(disk_usage([cache, home]), disk_usage([cache]))
                )

            def quick(column: Column, homes: dict[str, Path] = homes) -> None:
                home = homes[column.key]
                env = self.env(column, home)
                self.record("list", column, timed([tools.list_argv(column, self.exe)], env, home))
                link = tools.link_path(home, tools.RUN_APP)
                script = tools.venv_script(column, home, tools.RUN_APP, tools.RUN_APP)
                self.record("link", column, timed([[str(link), *tools.RUN_ARGS]], env, home))
                self.record("script", column, timed([[str(script), *tools.RUN_ARGS]], env, home))

            def upgrade(column: Column, homes: dict[str, Path] = homes) -> None:
                home = homes[column.key]
                self.record(
                    "upgrade-all",
                    column,
                    timed([tools.upgrade_all_argv(column, self.exe)], self.env(column, home), home),
                )

            installed = self.each(install, "install 10 apps")
            for _ in range(QUICK_FACTOR):
                self.each(quick, "list, launch", installed)
            self.each(upgrade, "upgrade-all", installed)
            for home in homes.values():
                remove(home)

    def phase_run(self) -> None:
        for _ in range(self.runs):

            def first(column: Column) -> None:
                for environments in tools.uv_run_environments(
                    tools.cache_dir(self.scratch, column)
                ):
                    remove(environments)  # uvx's run envs: a first run must build one
                home = self.home(column, "run")
                self.record(
                    "run-first",
                    column,
                    timed([tools.run_argv(column, self.exe)], self.env(column, home), home),
                )

            def cached(column: Column) -> None:
                home = self.scratch / column.key / "homes" / "run"
                self.record(
                    "run-cached",
                    column,
                    timed([tools.run_argv(column, self.exe)], self.env(column, home), home),
                )

            ran = self.each(first, "first run")
            for _ in range(QUICK_FACTOR):
                self.each(cached, "cached run", ran)

    def measure(self) -> None:
        for column in self.columns:
            if not self.exe.of(column.kind).exists():
                self.failures[column.key] = f"{self.exe.of(column.kind)} not found"
        if self.scenarios - {"version"}:
            self.each(self.warm_up, "warm-up")
        for phase, scenarios in PHASES.items():
            if self.scenarios & set(scenarios):
                getattr(self, f"phase_{phase}")()


def version_of(executable: Path) -> str:
    """The first line a tool prints for ``--version``, named (pipx prints a bare number)."""
    try:
        line = run_checked([str(executable), "--version"], tools.neutral_env(os.environ))
    except BenchError:
        return f"{executable.name} (no version)"
    first = (line.stdout.strip() or line.stderr.strip() or "?").splitlines()[0]
    return f"{executable.name} {first}" if first[:1].isdigit() else first


def machine(python: Path) -> dict[str, Any]:
    """Date, OS, CPU count and the Python the apps are built with, for the caption."""
    version = run_checked(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        tools.neutral_env(os.environ),
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "python": version,
    }


def split_list(text: str, allowed: Sequence[str], what: str) -> list[str]:
    """A comma-separated choice, checked against ``allowed``."""
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or '(none)'}; choose from {', '.join(allowed)}"
        )
    return chosen


def beside(name: str) -> Path:
    """A tool installed beside this Python (the bench session's venv), else on PATH."""
    here = Path(sys.executable).parent / name
    return here if here.exists() else Path(shutil.which(name) or here)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--scratch", type=Path, required=True, help="a dir for homes and caches")
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--only",
        type=lambda t: split_list(t, SCENARIO_KEYS, "scenario"),
        default=list(SCENARIO_KEYS),
        help="scenarios, comma-separated",
    )
    parser.add_argument(
        "--tools",
        type=lambda t: split_list(t, tools.COLUMN_KEYS, "column"),
        default=list(tools.COLUMN_KEYS),
        help="columns, comma-separated",
    )
    for name in ("appx", "uv", "uvx", "pipx"):
        parser.add_argument(
            f"--{name}",
            type=Path,
            default=beside(name),
            help=f"the {name} executable (default: beside this Python, else on PATH)",
        )
    base = Path(getattr(sys, "_base_executable", sys.executable))
    parser.add_argument(
        "--python",
        type=Path,
        default=base,
        help="the Python every tool builds apps with (default: this one's base)",
    )
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    exe = tools.Executables(args.appx, args.uv, args.uvx, args.pipx, args.python)
    columns = [c for c in tools.COLUMNS if c.key in args.tools]
    bench = Bench(exe, args.scratch.resolve(), columns, args.only, args.runs)
    try:
        info = machine(exe.python)
    except BenchError as error:
        print(f"run_bench: error: {error}", file=sys.stderr)
        return 1
    kinds = dict.fromkeys(c.kind for c in columns)
    info |= {
        "runs": args.runs,
        "quick_runs": args.runs * QUICK_FACTOR,
        "selected_columns": [c.key for c in columns],
        "versions": {kind: version_of(exe.of(kind)) for kind in kinds},
    }
    bench.measure()
    doc = build_doc(bench.samples, info, bench.failures, bench.notes + bench.error_notes())
    text = render_markdown(doc)
    print(text, end="")
    if args.markdown is not None:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if len(bench.failures) == len(columns) else 0


if __name__ == "__main__":
    sys.exit(main())
