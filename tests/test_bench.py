"""benchmarks/: the arithmetic (medians, ratios, goals, disk use), the table, and a whole run
against fake tools (shell scripts) that log where they ran.

No assertion on speed: the tests check which commands ran where, with which settings, and
what the report makes of whatever was measured.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

import pytest

import bench_measure
import bench_report
import bench_tools
import run_bench

# Each fake logs "tool|HOME|args|backend setting" and then acts out just enough of the tool.
LOG = 'echo "$(basename "$0")|$HOME|$*|$APPX_BACKEND$PIPX_DEFAULT_BACKEND" >> "$BENCH_LOG"\n'
MAKE_APP = """\
make_app() {  # $1 venv bin dir, $2 bin dir, $3 command
    mkdir -p "$1" "$2"
    printf '#!/bin/sh\\necho "< $1 >"\\n' > "$1/$3"; chmod +x "$1/$3"
    ln -sf "$1/$3" "$2/$3"
}
"""
FAKE_APPX = f"""{MAKE_APP}
case "$1" in
--version) echo "appx 0.0-fake";;
install) shift; for app; do
    make_app "$APPX_HOME/venvs/$app/current/bin" "$APPX_BIN_DIR" "$app"
    head -c 65536 /dev/zero > "$APPX_HOME/venvs/$app/copied"; done;;
list) if [ "$2" = --json ]; then echo '{{"apps": [{{"app": "black", "backend": "pip"}}]}}'; fi;;
run) echo "< hi >";;
esac
"""
FAKE_PIPX = f"""{MAKE_APP}
case "$1" in
--version) echo "9.9.9";;
install) make_app "$PIPX_HOME/venvs/$2/bin" "$PIPX_BIN_DIR" "$2";;
list) if [ "$2" = --json ]; then
    echo '{{"venvs": {{"black": {{"metadata": {{"backend": "'$PIPX_DEFAULT_BACKEND'"}}}}}}}}'; fi;;
esac
"""
FAKE_UV = f"""{MAKE_APP}
if [ "$1" = --version ]; then echo "uv 0.0-fake"; exit 0; fi
if [ "$1 $2" = "tool install" ]; then
    make_app "$UV_TOOL_DIR/$3/bin" "$UV_TOOL_BIN_DIR" "$3"
    mkdir -p "$UV_CACHE_DIR/archive-v0"
    [ -e "$UV_CACHE_DIR/archive-v0/$3" ] || head -c 65536 /dev/zero > "$UV_CACHE_DIR/archive-v0/$3"
    ln -f "$UV_CACHE_DIR/archive-v0/$3" "$UV_TOOL_DIR/$3/linked"
fi
"""
FAKE_UVX = """\
state=first; [ -d "$UV_CACHE_DIR/environments-v2" ] && state=cached
echo $state >> "$BENCH_LOG.uvx"
mkdir -p "$UV_CACHE_DIR/environments-v2/x"
echo "< hi >"
"""


def fake(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + LOG + body, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    directory = tmp_path / "fakes"
    directory.mkdir()
    monkeypatch.setenv("BENCH_LOG", str(tmp_path / "bench.log"))
    monkeypatch.setenv("PIP_FIND_LINKS", "/wheels")  # the user's index settings
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    paths = {
        "appx": fake(directory, "appx", FAKE_APPX),
        "pipx": fake(directory, "pipx", FAKE_PIPX),
        "uv": fake(directory, "uv", FAKE_UV),
        "uvx": fake(directory, "uvx", FAKE_UVX),
        "python": fake(directory, "python", 'echo "3.99.0"\n'),
    }
    return [arg for name, path in paths.items() for arg in (f"--{name}", str(path))]


def log(tmp_path: Path) -> list[list[str]]:
    lines = (tmp_path / "bench.log").read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines]


def bench(tmp_path: Path, fakes: list[str], *extra: str) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    scratch = ["--scratch", str(tmp_path / "scratch")]
    assert run_bench.main([*fakes, *scratch, "--runs", "2", "--json", str(out), *extra]) == 0
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def test_a_whole_run_measures_every_scenario_of_every_column_in_fresh_homes(
    tmp_path: Path, fakes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    doc = bench(tmp_path, fakes)

    assert [s["key"] for s in doc["scenarios"]] == list(bench_report.SCENARIO_KEYS)
    failures = {c["key"]: c["failure"] for c in doc["columns"]}
    # The fake appx builds with pip whatever APPX_BACKEND says: its uv column is n/a.
    assert "asked for the uv backend, apps were built with pip" in failures.pop("appx-uv")
    assert set(failures.values()) == {None}
    scenarios = {s["key"]: s for s in doc["scenarios"]}
    for scenario in doc["scenarios"]:
        assert set(scenario["median"]) == set(failures), scenario["key"]
        for column, samples in scenario["samples"].items():
            quick = scenario["key"] in {"version", "list", "link", "script", "run-cached"}
            assert len(samples) == (8 if quick else 2)
            assert scenario["median"][column] == statistics.median(samples)
    disk = scenarios["disk"]["median"]
    assert disk["appx-pip"] >= 10 * 65536 / bench_report.MIB  # copied: counted
    assert disk["uv"] < 10 * 65536 / bench_report.MIB  # hardlinked from the cache: not

    runs = log(tmp_path)
    scratch = tmp_path / "scratch"
    for tool, home, args, backend in runs:
        if args == "--version" or tool == "python":
            continue
        column = home.removeprefix(f"{scratch}/").split("/")[0]
        assert home.startswith(f"{scratch}/{column}/homes/"), (tool, home)
        assert backend == {"appx-pip": "pip", "appx-uv": "uv", "pipx-uv": "uv"}.get(
            column, "pip" if column == "pipx-pip" else ""
        )
    installs = [args for tool, home, args, _ in runs if tool == "appx" and "install" in args]
    assert " ".join(bench_tools.APPS) in installs[0]  # appx: one command for the 10 apps
    assert sum(args == "tool install black" for tool, _, args, _ in runs if tool == "uv") == 2 * (
        1 + 2 + 2
    )  # two columns: the warm-up, two rounds of "install black", two of "install 10 apps"

    table = capsys.readouterr().out
    assert (
        "| | appx (uv) | appx (pip) | uv tool | uv tool, bytecode | pipx (uv) | pipx (pip) |"
        in (table)
    )
    assert "Python 3.99.0" in table
    assert "appx 0.0-fake, uv 0.0-fake, pipx 9.9.9" in table
    assert "- n/a in appx (uv): warm-up: asked for the uv backend" in table
    assert "| `--version`, appx (pip) / pipx (pip) |" in table
    assert "| install black, appx (uv) / uv tool with bytecode | n/a | 1.20 | n/a |" in table


def test_only_and_tools_measure_a_part(tmp_path: Path, fakes: list[str]) -> None:
    doc = bench(tmp_path, fakes, "--only", "version,uninstall", "--tools", "appx-pip,pipx-pip")

    assert [s["key"] for s in doc["scenarios"]] == ["version", "uninstall"]
    assert doc["selected_columns"] == ["appx-pip", "pipx-pip"]
    assert {g["figure"] for g in doc["goals"]} == {
        f"{what}, appx ({b}) / pipx ({b})"
        for what in ("`--version`", "uninstall")
        for b in ("uv", "pip")
    }
    assert {tool for tool, *_ in log(tmp_path)} == {"appx", "pipx", "python"}


def test_a_failing_command_leaves_its_samples_out_and_is_named(
    tmp_path: Path, fakes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    pipx = Path(fakes[fakes.index("--pipx") + 1])
    pipx.write_text(
        pipx.read_text(encoding="utf-8").replace(
            'case "$1" in', 'case "$1" in\nuninstall) echo "broken" >&2; exit 2;;'
        ),
        encoding="utf-8",
    )

    doc = bench(
        tmp_path, fakes, "--only", "install-black,uninstall", "--tools", "appx-pip,pipx-pip"
    )

    scenarios = {s["key"]: s for s in doc["scenarios"]}
    assert set(scenarios["install-black"]["median"]) == {"appx-pip", "pipx-pip"}
    assert set(scenarios["uninstall"]["median"]) == {"appx-pip"}
    assert any(
        "pipx (pip): install black / uninstall failed 2 time(s)" in note and "broken" in note
        for note in doc["notes"]
    )
    assert "| uninstall, appx (pip) / pipx (pip) | n/a | 0.50 | n/a |" in capsys.readouterr().out


def test_a_missing_tool_is_a_column_of_n_a(tmp_path: Path, fakes: list[str]) -> None:
    fakes[fakes.index("--pipx") + 1] = str(tmp_path / "no-pipx")

    doc = bench(tmp_path, fakes, "--only", "version", "--tools", "appx-pip,pipx-pip")

    failures = {c["key"]: c["failure"] for c in doc["columns"]}
    assert failures["pipx-pip"] == f"{tmp_path / 'no-pipx'} not found"
    assert set(doc["scenarios"][0]["median"]) == {"appx-pip"}


def test_every_tool_sees_pypi_alone_and_writes_under_its_own_home_and_cache(tmp_path: Path) -> None:
    user = {"HOME": "/home/me", "PATH": "/usr/bin", "PIP_FIND_LINKS": "/wheels"}
    user |= {"PIP_INDEX_URL": "https://x/simple", "PIP_CERT": "/ca.pem", "UV_INDEX_URL": "u"}
    user |= {"VIRTUAL_ENV": "/venv", "APPX_HOME": "/mine", "PIPX_HOME": "/p"}
    user |= {"PYTHONDONTWRITEBYTECODE": "1"}
    python = Path("/py/bin/python3")

    for column in bench_tools.COLUMNS:
        home, cache = tmp_path / column.key / "home", tmp_path / column.key / "cache"
        env = bench_tools.column_env(user, column, home, cache, python)

        assert env["PIP_CONFIG_FILE"] == os.devnull
        assert env["UV_NO_CONFIG"] == "1"
        assert env["PIP_CERT"] == "/ca.pem"  # how to reach the network is kept
        for gone in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "UV_INDEX_URL", "VIRTUAL_ENV"):
            assert gone not in env
        assert "PYTHONDONTWRITEBYTECODE" not in env
        assert env["HOME"] == str(home)
        assert env["UV_CACHE_DIR"] == str(cache / "uv")
        assert env["PIP_CACHE_DIR"] == str(cache / "pip")
        for key, value in env.items():
            if key.endswith(("_HOME", "_DIR")) and key.startswith(("APPX", "PIPX", "UV_TOOL")):
                assert value.startswith(str(home)), key
        assert dict(column.settings).items() <= env.items()
    appx = bench_tools.column_env(user, bench_tools.COLUMNS[0], tmp_path, tmp_path / "c", python)
    assert appx["APPX_CACHE_DIR"].startswith(str(tmp_path))  # appx's run cache: part of the home
    assert appx["APPX_DEFAULT_PYTHON"] == str(python)


def test_disk_use_counts_a_file_hardlinked_from_the_cache_once(tmp_path: Path) -> None:
    cache, home = tmp_path / "du" / "cache", tmp_path / "du" / "home"
    cache.mkdir(parents=True)
    home.mkdir()
    (cache / "wheel").write_bytes(b"x" * 200_000)
    os.link(cache / "wheel", home / "linked")
    (home / "copied").write_bytes(b"y" * 100_000)
    (home / "symlink").symlink_to(cache / "wheel")

    together = bench_measure.disk_usage([cache, home])
    alone = bench_measure.disk_usage([cache])
    home_only = bench_measure.disk_usage([home])

    assert alone >= 200_000
    assert home_only >= 300_000  # on its own, the home holds the linked file too
    beyond = bench_report.disk_beyond(together, alone)
    assert 100_000 / bench_report.MIB <= beyond < 200_000 / bench_report.MIB
    assert beyond == (together - alone) / (1024 * 1024)
    assert bench_measure.disk_usage([tmp_path / "missing"]) == 0


def test_medians_ratios_and_goals_hold_at_their_limits_and_fail_beyond() -> None:
    samples = {
        "install-black": {"appx-uv": [0.5, 0.3, 0.36], "uv-compiled": [0.3, 0.2, 0.4]},
        "version": {"appx-uv": [0.05, 0.04], "pipx-uv": [0.1, 0.08], "appx-pip": [0.05]},
    }

    table = bench_report.medians(samples)
    goals = {g.spec.figure: g for g in bench_report.evaluate_goals(table)}

    assert table["install-black"] == {"appx-uv": 0.36, "uv-compiled": 0.3}
    assert table["version"]["appx-uv"] == pytest.approx(0.045)
    black = goals["install black, appx (uv) / uv tool with bytecode"]
    assert black.measured == pytest.approx(1.2)
    assert black.status == "pass"  # at the limit
    assert goals["`--version`, appx (uv) / pipx (uv)"].measured == pytest.approx(0.5)
    assert goals["`--version`, appx (uv) / pipx (uv)"].status == "pass"
    assert goals["`--version`, appx (pip) / pipx (pip)"].status == "n/a"  # no pipx (pip)
    assert (
        goals[
            "install 10 apps, appx (uv) in one command / uv tool with bytecode, one by one"
        ].status
        == "n/a"
    )
    over = bench_report.evaluate_goals({"disk": {"appx-uv": 3.4, "uv-compiled": 3.0}})
    assert [g.status for g in over if g.measured is not None] == ["fail"]
    assert bench_report.ratio({"s": {"a": 1.0, "b": 0.0}}, ("s", "a"), ("s", "b")) is None


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0691, "s", "0.069"),
        (0.0049, "s", "0.005"),
        (1.357, "s", "1.36"),
        (13.24, "s", "13.2"),
        (131.6, "s", "132"),
        (119.46, "MiB", "119.5"),
    ],
)
def test_values_are_printed_as_the_issue_gives_them(value: float, unit: str, text: str) -> None:
    assert bench_report.format_value(value, unit) == text


def test_the_table_has_a_row_per_scenario_a_column_per_tool_and_n_a_for_the_missing() -> None:
    samples = {"list": {"appx-pip": [0.2, 0.1, 0.15], "pipx-pip": [0.5]}}
    info = {
        "date": "2026-12-04",
        "os": "Linux 6 x86_64",
        "cpus": 2,
        "python": "3.11.7",
        "runs": 3,
        "quick_runs": 12,
        "selected_columns": ["appx-uv", "appx-pip", "pipx-pip"],
        "versions": {"appx": "appx 0.1.0", "pipx": "pipx 1.18.4"},
    }

    doc = bench_report.build_doc(samples, info, {"appx-uv": "no uv backend"}, ["a note"])
    text = bench_report.render_markdown(doc)

    assert text.splitlines()[0].startswith(
        "2026-12-04 · Linux 6 x86_64 · 2 CPUs · Python 3.11.7 · appx 0.1.0, pipx 1.18.4 · "
        "medians of 3 runs (12 for"
    )
    assert "| | appx (uv) | appx (pip) | pipx (pip) |\n| --- | ---: | ---: | ---: |" in text
    assert "| list, 10 apps | n/a | 0.150 | 0.500 |" in text
    assert "| list 10 apps, appx (pip) / pipx (pip) | 0.30 | 0.50 | pass |" in text
    assert "- n/a in appx (uv): no uv backend\n- a note\n" in text
    assert doc["scenarios"][0]["samples"] == samples["list"]
    assert json.loads(json.dumps(doc)) == doc


def test_backends_are_read_from_each_tools_listing() -> None:
    appx = json.dumps({"apps": [{"app": "black", "backend": "uv"}, {"app": "isort"}]})
    pipx = json.dumps(
        {"venvs": {"black": {"metadata": {"backend": "uv"}}, "isort": {"metadata": {}}}}
    )

    assert bench_tools.recorded_backends("appx", appx) == {"black": "uv", "isort": "None"}
    assert bench_tools.recorded_backends("pipx", pipx) == {"black": "uv", "isort": "pip"}


def test_unknown_scenarios_or_columns_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run_bench.main(["--scratch", str(tmp_path), "--only", "install-11"])
    assert "unknown scenario install-11" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_bench.main(["--scratch", str(tmp_path), "--tools", "poetry"])
    assert "unknown column poetry" in capsys.readouterr().err
