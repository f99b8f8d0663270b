"""The rounds of a benchmark run: warm-up, then each phase, every column round-robin."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import bench_tools as tools
from bench_measure import BenchError, disk_usage, fresh_dir, remove, run_checked, timed
from bench_report import SCENARIO_KEYS, Samples, disk_beyond

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

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
        try:
            timed(tools.install_argvs(column, self.exe, tools.APPS), env, home)
            run_checked(tools.run_argv(column, self.exe), env, home)
            self.check_backend(column, env)
        finally:
            remove(home)
        pip_http = tools.cache_dir(self.scratch, column) / "pip" / "http-v2"
        if column.backend == "pip" and disk_usage([pip_http]) < 1 << 20:
            self.notes.append(
                f"{column.label}: pip's HTTP cache stayed (nearly) empty after "
                "the warm-up, so pip downloaded the wheels again in every round "
                "(responses without cache headers are not cached)"
            )

    def check_backend(self, column: Column, env: dict[str, str]) -> None:
        """The tool recorded the backend the column asks for (an older appx has no uv)."""
        listing = tools.list_json_argv(column, self.exe)
        if not listing or not column.backend:
            return
        output = run_checked(listing, env).stdout
        try:
            backends = tools.recorded_backends(column.kind, output)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BenchError(f"cannot read the backends from `{' '.join(listing)}`") from error
        other = {b for b in backends.values() if b != column.backend}
        if other:
            raise BenchError(
                f"asked for the {column.backend} backend, apps were built with "
                f"{', '.join(sorted(other))}"
            )

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
                pair = [("link", link), ("script", script)]
                # Alternated, so that neither always runs right after `list`.
                for scenario, path in (
                    pair
                    if len(self.samples.get("link", {}).get(column.key, [])) % 2
                    else pair[::-1]
                ):
                    self.record(scenario, column, timed([[str(path), *tools.RUN_ARGS]], env, home))

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
        for column in self.columns:
            remove(self.scratch / column.key / "homes" / "run")

    def measure(self) -> None:
        for column in self.columns:
            if not self.exe.of(column.kind).exists():
                self.failures[column.key] = f"{self.exe.of(column.kind)} not found"
        if self.scenarios - {"version"}:
            self.each(self.warm_up, "warm-up")
        for phase, scenarios in PHASES.items():
            if self.scenarios & set(scenarios):
                getattr(self, f"phase_{phase}")()
