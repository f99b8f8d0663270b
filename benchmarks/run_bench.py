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
from bench_measure import BenchError, run_checked
from bench_report import SCENARIO_KEYS, build_doc, render_markdown
from bench_rounds import QUICK_FACTOR, Bench

if TYPE_CHECKING:
    from collections.abc import Sequence


def version_of(executable: Path) -> str:
    """The first line a tool prints for ``--version``, named (pipx prints a bare number)."""
    try:
        line = run_checked([str(executable), "--version"], tools.neutral_env(os.environ))
    except BenchError:
        return f"{executable.name} (no version)"
    first = (line.stdout.strip() or line.stderr.strip() or "?").splitlines()[0]
    first = first.split(" (")[0]  # uv adds its target triple
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
