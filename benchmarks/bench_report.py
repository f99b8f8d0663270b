"""The benchmark's arithmetic and its report: medians, the issue's goals, Markdown and JSON.

Pure functions over the samples: nothing here runs a tool.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bench_tools import COLUMNS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Status = Literal["pass", "fail", "n/a"]
# scenario -> column key -> samples (seconds, or MiB for the disk figure)
Samples = dict[str, dict[str, list[float]]]
JSON_SCHEMA = 2
MIB = 1024 * 1024
LINK_NOISE = 0.05  # two runs of the same script differ by a few per cent: the allowance


@dataclass(frozen=True)
class Scenario:
    """A row of the table."""

    key: str
    label: str
    unit: Literal["s", "MiB"]


SCENARIOS = (
    Scenario("version", "`--version`", "s"),
    Scenario("install-black", "install black into an empty home", "s"),
    Scenario("uninstall", "uninstall black", "s"),
    Scenario("install-10", "install 10 apps (appx: one command; others: one each)", "s"),
    Scenario("list", "list, 10 apps", "s"),
    Scenario("upgrade-all", "upgrade-all, nothing to upgrade", "s"),
    Scenario("run-first", "`run pycowsay hi`, first", "s"),
    Scenario("run-cached", "`run pycowsay hi`, cached", "s"),
    Scenario("link", "`pycowsay hi` through its link", "s"),
    Scenario("script", "`pycowsay hi`, the venv's own script", "s"),
    Scenario("disk", "home with 10 apps beyond the download cache (MiB)", "MiB"),
)
SCENARIO_KEYS = tuple(scenario.key for scenario in SCENARIOS)


@dataclass(frozen=True)
class GoalSpec:
    """``median(scenario, column) / median(scenario, column) <= limit``."""

    figure: str
    numerator: tuple[str, str]
    denominator: tuple[str, str]
    limit: float


def _pair(figure: str, scenario: str, limit: float) -> list[GoalSpec]:
    """A backend-neutral goal, held by each appx column against pipx on the same backend."""
    return [
        GoalSpec(
            f"{figure}, appx ({backend}) / pipx ({backend})",
            (scenario, f"appx-{backend}"),
            (scenario, f"pipx-{backend}"),
            limit,
        )
        for backend in ("uv", "pip")
    ]


GOALS = (
    GoalSpec(
        "install black, appx (uv) / uv tool with bytecode",
        ("install-black", "appx-uv"),
        ("install-black", "uv-compiled"),
        1.2,
    ),
    GoalSpec(
        "install black, appx (pip) / pipx (pip)",
        ("install-black", "appx-pip"),
        ("install-black", "pipx-pip"),
        0.75,
    ),
    GoalSpec(
        "install 10 apps, appx (uv) in one command / uv tool with bytecode, one by one",
        ("install-10", "appx-uv"),
        ("install-10", "uv-compiled"),
        0.8,
    ),
    *_pair("`--version`", "version", 0.5),
    *_pair("list 10 apps", "list", 0.5),
    *_pair("uninstall", "uninstall", 0.5),
    GoalSpec(
        "upgrade-all with nothing to do, appx (uv) / `uv tool upgrade --all`",
        ("upgrade-all", "appx-uv"),
        ("upgrade-all", "uv"),
        0.5,
    ),
    *(
        GoalSpec(
            f"cached run, appx ({b}) / uvx", ("run-cached", f"appx-{b}"), ("run-cached", "uv"), 0.5
        )
        for b in ("uv", "pip")
    ),
    *(
        GoalSpec(
            f"an app through its link / its venv script, appx ({b}) "
            f"(1.0 within {LINK_NOISE:.0%} noise)",
            ("link", f"appx-{b}"),
            ("script", f"appx-{b}"),
            1 + LINK_NOISE,
        )
        for b in ("uv", "pip")
    ),
    GoalSpec(
        "home beyond the download cache, appx (uv) / uv tool with bytecode",
        ("disk", "appx-uv"),
        ("disk", "uv-compiled"),
        1.1,
    ),
)


@dataclass(frozen=True)
class Goal:
    """A goal evaluated on one run's medians; ``measured`` is None when a side is missing."""

    spec: GoalSpec
    measured: float | None

    @property
    def status(self) -> Status:
        if self.measured is None:
            return "n/a"
        return "pass" if self.measured <= self.spec.limit else "fail"


def medians(samples: Samples) -> dict[str, dict[str, float]]:
    """The median of every scenario and column that has samples."""
    return {
        scenario: {column: statistics.median(values) for column, values in row.items() if values}
        for scenario, row in samples.items()
    }


def ratio(
    table: Mapping[str, Mapping[str, float]], num: tuple[str, str], den: tuple[str, str]
) -> float | None:
    """``num / den`` from a table of medians; None if either is missing or den is 0."""
    top = table.get(num[0], {}).get(num[1])
    bottom = table.get(den[0], {}).get(den[1])
    if top is None or not bottom:
        return None
    return top / bottom


def evaluate_goals(
    table: Mapping[str, Mapping[str, float]], specs: Sequence[GoalSpec] = GOALS
) -> list[Goal]:
    return [Goal(spec, ratio(table, spec.numerator, spec.denominator)) for spec in specs]


def disk_beyond(together: int, cache_alone: int) -> float:
    """MiB a home adds to its download cache: du of both (each inode once) less du of the cache.

    A file the home hardlinks from the cache is counted once, under the cache, so it
    adds nothing; a copied or compiled file adds its size.
    """
    return (together - cache_alone) / MIB


def format_value(value: float, unit: str) -> str:
    """Seconds as the issue gives them (0.069, 1.36, 13.2, 120), MiB to one decimal."""
    if unit == "MiB":
        return f"{value:.1f}"
    decimals = 3 if value < 1 else 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{decimals}f}"


def build_doc(
    samples: Samples, info: Mapping[str, Any], failures: Mapping[str, str], notes: Sequence[str]
) -> dict[str, Any]:
    """The JSON document: the machine and settings, every sample and median, the goals."""
    table = medians(samples)
    measured = [s for s in SCENARIOS if s.key in samples]
    return {
        "schema": JSON_SCHEMA,
        **info,
        "columns": [
            {
                "key": c.key,
                "label": c.label,
                "settings": dict(c.settings),
                "failure": failures.get(c.key),
            }
            for c in COLUMNS
        ],
        "scenarios": [
            {
                "key": s.key,
                "label": s.label,
                "unit": s.unit,
                "median": table[s.key],
                "samples": {col: list(values) for col, values in samples[s.key].items()},
            }
            for s in measured
        ],
        "goals": [
            {
                "figure": g.spec.figure,
                "measured": g.measured,
                "limit": g.spec.limit,
                "status": g.status,
            }
            for g in evaluate_goals(table)
            if g.spec.numerator[0] in samples and g.spec.denominator[0] in samples
        ],
        "notes": list(notes),
    }


def render_markdown(doc: Mapping[str, Any]) -> str:
    """The report as Markdown: a caption, the table of medians, the goals, the notes."""
    columns = [c for c in doc["columns"] if c["key"] in doc["selected_columns"]]
    versions = ", ".join(doc["versions"].values())
    lines = [
        f"{doc['date']} · {doc['os']} · {doc['cpus']} CPUs · Python {doc['python']} · "
        f"{versions} · medians of {doc['runs']} runs ({doc['quick_runs']} for commands "
        "under a second that need no fresh home) · seconds unless stated",
        "",
        "| | " + " | ".join(c["label"] for c in columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    for scenario in doc["scenarios"]:
        cells = [
            format_value(scenario["median"][c["key"]], scenario["unit"])
            if c["key"] in scenario["median"]
            else "n/a"
            for c in columns
        ]
        lines.append(f"| {scenario['label']} | " + " | ".join(cells) + " |")
    lines += ["", "| goal | measured | limit | result |", "| --- | ---: | ---: | --- |"]
    for goal in doc["goals"]:
        measured = "n/a" if goal["measured"] is None else f"{goal['measured']:.2f}"
        lines.append(f"| {goal['figure']} | {measured} | {goal['limit']:.2f} | {goal['status']} |")
    failed = [c for c in columns if c["failure"]]
    extra = [f"n/a in {c['label']}: {c['failure']}" for c in failed] + list(doc["notes"])
    if extra:
        lines += ["", *(f"- {line}" for line in extra)]
    return "\n".join(lines) + "\n"
