"""benchmarks/run_bench.py against fake tools: shell scripts that sleep a few ms.

No assertion on speed: the tests check which commands ran where, the table's rows and the
arithmetic of medians, ratios and goals on whatever was measured.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import run_bench

if TYPE_CHECKING:
    from factories import Env

KEY = "0123456789abcdef"
RUNS = 3
WARMUPS = 1

# Each fake logs "name|HOME|args" and sleeps; fake appx also builds the cached env's script.
LOGGED = 'echo "{name}|$HOME|$*" >> "$BENCH_LOG"\n'
FAKE_APPX = f"""\
if [ "$1" = --version ]; then echo "appx 0.0-fake"; exit 0; fi
bin="$APPX_CACHE_DIR/run/{KEY}/current/bin"
if [ ! -e "$bin/pycowsay" ]; then
    mkdir -p "$bin"
    printf '#!/bin/sh\\necho "direct|$HOME|$*" >> "$BENCH_LOG"\\nsleep 0.002\\necho "< $1 >"\\n' \\
        > "$bin/pycowsay"
    chmod +x "$bin/pycowsay"
fi
sleep 0.004
echo "< $3 >"
"""


def fake_tool(directory: Path, name: str, body: str = "sleep 0.003\necho '< hi >'\n") -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + LOGGED.format(name=name) + body, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    directory = tmp_path / "fakes"
    directory.mkdir()
    monkeypatch.setenv("BENCH_LOG", str(tmp_path / "bench.log"))
    return {
        "appx": fake_tool(directory, "appx", FAKE_APPX),
        "pipx": fake_tool(directory, "pipx"),
        "uvx": fake_tool(directory, "uvx"),
        "python": fake_tool(directory, "python"),
    }


def invocations(tmp_path: Path) -> list[list[str]]:
    """The fakes' log: one [name, HOME, args] per run."""
    lines = (tmp_path / "bench.log").read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines]


def bench(fakes: dict[str, Path], tmp_path: Path, *extra: str) -> int:
    tools = [] if "--only-appx" in extra else ["--pipx", str(fakes["pipx"])]
    tools += [] if "--only-appx" in extra else ["--uvx", str(fakes["uvx"])]
    return run_bench.main(
        [
            *("--appx", str(fakes["appx"]), *tools, "--python", str(fakes["python"])),
            *("--scratch", str(tmp_path / "scratch"), "--runs", str(RUNS)),
            *("--warmups", str(WARMUPS), "--json", str(tmp_path / "bench.json"), *extra),
        ]
    )


def check_arithmetic(doc: dict[str, Any]) -> dict[str, float]:
    """Medians of the samples, ratios against appx, and each goal's verdict; the medians."""
    medians = {}
    for result in doc["results"]:
        assert len(result["samples_ms"]) == RUNS
        assert result["median_ms"] == statistics.median(result["samples_ms"])
        medians[result["tool"]] = result["median_ms"]
    for result in doc["results"]:
        assert result["ratio"] == pytest.approx(medians["appx"] / result["median_ms"])
    direct = next(g for g in doc["goals"] if g["unit"] == "ms")
    assert direct["measured"] == pytest.approx(medians["appx"] - medians["direct"])
    assert direct["limit"] == pytest.approx(1.5 * medians["python"])
    for goal in doc["goals"]:
        if goal["measured"] is not None:
            passed = goal["measured"] <= goal["limit"]
            assert goal["status"] == ("pass" if passed else "fail")
    return medians


def test_every_tool_is_timed_after_a_cache_hit_with_a_home_of_its_own(
    fakes: dict[str, Path], tmp_path: Path, appx_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench(fakes, tmp_path) == 0

    doc = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert [r["tool"] for r in doc["results"]] == ["appx", "pipx", "uvx", "direct", "python"]
    assert doc["runs"] == RUNS
    assert {"date", "platform", "cpu", "cores"} <= doc.keys()
    medians = check_arithmetic(doc)
    ratios = {g["goal"]: g["measured"] for g in doc["goals"] if g["unit"] == "ratio"}
    assert ratios == {
        "appx / pipx <= 0.25": pytest.approx(medians["appx"] / medians["pipx"]),
        "appx / uvx <= 0.5": pytest.approx(medians["appx"] / medians["uvx"]),
    }
    direct = f"{tmp_path}/scratch/appx/cache/run/{KEY}/current/bin/pycowsay"
    assert doc["results"][3]["command"] == [direct, "hi"]
    assert doc["results"][0]["version"] == "appx 0.0-fake"

    runs = invocations(tmp_path)
    scratch = tmp_path / "scratch"
    for name, tool in (("appx", "appx"), ("pipx", "pipx"), ("uvx", "uvx"), ("direct", "appx")):
        timed = [run for run in runs if run[0] == name and run[2] != "--version"]
        assert {run[1] for run in timed} == {str(scratch / tool / "home")}
        # appx: the run that builds its env, a prime, the warm-ups, then the timed runs.
        assert len(timed) == (name == "appx") + 1 + WARMUPS + RUNS
    assert [run[2] for run in runs if run[0] == "uvx"][-1] == "pycowsay hi"
    assert [run[2] for run in runs if run[0] == "pipx"][-1] == "run pycowsay hi"
    assert not appx_env.cache_dir.exists()  # the user's APPX_CACHE_DIR is left alone

    table = capsys.readouterr().out
    assert f"median of {RUNS} runs" in table
    assert "| tool | median ms | appx / tool |" in table
    for result in doc["results"]:
        assert f"| {result['label']} | {result['median_ms']:.1f} | {result['ratio']:.2f} |" in table
    for goal in doc["goals"]:
        assert f"| {goal['goal']} |" in table
        assert table.count(f"| {goal['status']} |") >= 1


def test_only_appx_runs_without_pipx_and_uvx_and_skips_their_goals(
    fakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench(fakes, tmp_path, "--only-appx") == 0

    doc = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert [r["tool"] for r in doc["results"]] == ["appx", "direct", "python"]
    check_arithmetic(doc)
    assert [g["status"] for g in doc["goals"]][:2] == ["skipped", "skipped"]
    assert {run[0] for run in invocations(tmp_path)} == {"appx", "direct", "python"}
    table = capsys.readouterr().out
    assert "| appx / pipx <= 0.25 | n/a | 0.25 | skipped |" in table


def test_a_failing_tool_stops_the_benchmark_and_is_named(
    fakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tool(fakes["uvx"].parent, "uvx", "echo 'no network' >&2\nexit 2\n")

    assert bench(fakes, tmp_path) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert f"{fakes['uvx']} pycowsay hi exited 2" in err
    assert "no network" in err
    assert not (tmp_path / "bench.json").exists()


def test_appx_without_a_cached_env_is_an_error(
    fakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tool(fakes["appx"].parent, "appx")

    assert bench(fakes, tmp_path, "--only-appx") == 1

    assert "expected one cached env with bin/pycowsay" in capsys.readouterr().err


def test_goals_hold_at_their_limits_and_fail_beyond() -> None:
    medians = {"appx": 25.0, "pipx": 100.0, "uvx": 49.0, "direct": 10.0, "python": 10.0}

    goals = run_bench.evaluate_goals(medians)

    assert [(g.measured, g.limit, g.status) for g in goals] == [
        (0.25, 0.25, "pass"),
        (pytest.approx(25 / 49), 0.5, "fail"),
        (15.0, 15.0, "pass"),
    ]
    del medians["pipx"], medians["uvx"]
    assert [g.status for g in run_bench.evaluate_goals(medians)] == ["skipped", "skipped", "pass"]


def test_each_tool_gets_its_own_dirs_and_keeps_the_users_index_settings(tmp_path: Path) -> None:
    user = {"HOME": "/home/me", "PIP_FIND_LINKS": "/wheels", "UV_INDEX_URL": "https://x/simple"}
    user |= {"VIRTUAL_ENV": "/venv", "APPX_CACHE_DIR": "/users/cache"}

    envs = {tool: run_bench.tool_env(user, tmp_path, tool) for tool in ("appx", "pipx", "uvx")}

    for tool, env in envs.items():
        assert env["HOME"] == str(tmp_path / tool / "home")
        assert env["XDG_CACHE_HOME"].startswith(str(tmp_path / tool))
        assert env["XDG_CONFIG_HOME"] == "/home/me/.config"  # pip's and uv's user config
        assert env["PIP_FIND_LINKS"] == "/wheels"
        assert env["UV_INDEX_URL"] == "https://x/simple"
        assert "VIRTUAL_ENV" not in env
    assert envs["appx"]["APPX_CACHE_DIR"] == str(tmp_path / "appx" / "cache")
    assert envs["pipx"]["PIPX_HOME"] == str(tmp_path / "pipx" / "pipx-home")
    assert envs["uvx"]["UV_CACHE_DIR"] == str(tmp_path / "uvx" / "cache")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("#!/opt/venv/bin/python\n", "/opt/venv/bin/python"),
        ("#!/opt/venv/bin/python3.12 -E\n", "/opt/venv/bin/python3.12"),
        (
            "#!/bin/sh\n'''exec' \"/very/long/bin/python\" \"$0\" \"$@\"\n' '''\n",
            "/very/long/bin/python",
        ),
    ],
)
def test_the_bare_python_is_the_one_in_appx_s_shebang(
    tmp_path: Path, head: str, expected: str
) -> None:
    script = tmp_path / "appx"
    script.write_text(head + "import sys\n", encoding="utf-8")

    assert run_bench.interpreter_of(script) == Path(expected)


def test_a_script_that_is_not_python_needs_python_named(tmp_path: Path) -> None:
    script = tmp_path / "appx"
    script.write_text("#!/bin/sh\nexec true\n", encoding="utf-8")

    with pytest.raises(run_bench.BenchError, match="pass --python"):
        run_bench.interpreter_of(script)
