"""`appx run` end to end: exec, arguments and exit codes passed through, the cached fast path,
--no-cache, offline-first reuse, concurrent cold runs, and builds killed half-way."""

from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries
from factories import Env, IndexServer, RunAppx

EXIT_APP = {"exit_app/__init__.py": "import sys\n\ndef main():\n    sys.exit(int(sys.argv[1]))\n"}

# Run appx's entry point where typer cannot be imported and no process can be started:
# only the fast path (which execs the app) can succeed.
FAST_ONLY = """
import os, subprocess, sys
sys.modules["typer"] = None
def refuse(*args, **kwargs):
    raise AssertionError("the cached run started a process")
subprocess.Popen.__init__ = refuse
os.fork = os.posix_spawn = os.system = refuse
sys.argv = ["appx", *sys.argv[1:]]
from appx.__main__ import main
main()
"""


def fast_only(*args: str) -> str:
    """`appx run ARGS` where only the fast path can succeed; what the app printed."""
    done = subprocess.run(
        [sys.executable, "-c", FAST_ONLY, "run", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def run_envs(env: Env) -> list[Path]:
    root = env.cache_dir / "run"
    return [p for p in root.iterdir() if p.is_dir()] if root.exists() else []


def generations(unit: Path) -> list[str]:
    return sorted(name for name in os.listdir(unit) if name.startswith("g"))


def test_run_execs_the_app_with_its_arguments_untouched(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    first = run_appx("run", "cowsay-lite", "hi", "--help", "--no-cache", "-q")
    assert first.code == 0, first
    assert first.stdout.strip() == "cowsay-lite 2.0 hi --help --no-cache -q"
    (unit,) = run_envs(appx_env)
    launch = unit / "current" / "appx-launch"
    built = launch.stat().st_mtime_ns
    again = run_appx("run", "--", "cowsay-lite==2.0", "x")
    assert again.stdout.strip() == "cowsay-lite 2.0 x"
    assert run_appx("run", "cowsay-lite", "y").stdout.strip() == "cowsay-lite 2.0 y"
    assert launch.stat().st_mtime_ns == built  # a hit: nothing rebuilt
    assert dir_entries(appx_env.bin_dir) == set()
    assert dir_entries(appx_env.man_dir) == set()


def test_the_apps_exit_code_is_appxs(run_appx: RunAppx, index: IndexServer) -> None:
    index.add_wheel("exit-app", modules=EXIT_APP, console_scripts={"exit-app": "exit_app:main"})
    assert run_appx("run", "exit-app", "7").code == 7  # built, then exec'd
    assert run_appx("run", "exit-app", "9").code == 9  # the fast path
    assert run_appx("run", "--no-cache", "exit-app", "5").code == 5  # a child, then cleaned up


def test_a_cached_run_imports_no_cli_and_starts_no_process(
    run_appx: RunAppx, index: IndexServer
) -> None:
    assert run_appx("run", "gui-app").code == 0
    assert fast_only("gui-app", "fast") == "gui-app 1.0 fast"


@pytest.mark.parametrize(
    "form",
    [
        ["--with", "dep-lib", "gui-app"],
        ["--with=dep-lib", "--offline", "gui-app"],
        ["--spec", "gui-app==1.0", "gui-app"],
        ["--spec=gui-app", "gui-app"],
        ["gui-app@1.0"],
        ["GUI_App"],
        ["-i", "{index}", "gui-app"],
        ["--python", "{python}", "gui-app"],
    ],
)
def test_the_fast_path_finds_the_env_the_full_path_built(
    form: list[str],
    run_appx: RunAppx,
    index: IndexServer,
    backend: str,
) -> None:
    python = ".".join(map(str, sys.version_info[:2]))
    args = [arg.format(index=index.url, python=python) for arg in form]
    build = [arg for arg in args if arg != "--offline"]
    assert run_appx("run", *build, "x").code == 0  # builds through the full path
    assert fast_only(*args, "fast") == "gui-app 1.0 fast"


def test_no_cache_leaves_nothing_behind(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("run", "--no-cache", "cowsay-lite==1.0", "once")
    assert result.code == 0, result
    assert result.stdout.strip() == "cowsay-lite 1.0 once"
    assert run_envs(appx_env) == []


def test_spec_runs_a_wheel_file(
    run_appx: RunAppx, wheel_factory: factories.WheelFactory, appx_env: Env
) -> None:
    wheel = wheel_factory("wheel-runner", "3.0", console_scripts={"wr": "wheel_runner:main"})
    result = run_appx("run", "--spec", str(wheel), "wr", "ok")
    assert result.code == 0, result
    assert result.stdout.strip() == "wheel-runner 3.0 ok"


def test_an_expired_env_is_used_when_the_index_is_gone(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_appx("run", "cowsay-lite", "a").code == 0
    (unit,) = run_envs(appx_env)
    week_ago = time.time() - 8 * 86400
    os.utime(unit / "current" / "appx-launch", (week_ago, week_ago))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # nothing listens there
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    result = run_appx("run", "cowsay-lite", "b")
    assert result.code == 0, result
    assert result.stdout.strip() == "cowsay-lite 2.0 b"
    assert "built 8 days ago" in result.stderr
    assert "could not be rebuilt" in result.stderr
    fresh = run_appx("run", "--no-cache", "cowsay-lite")
    assert fresh.code == 6, fresh  # nothing to fall back on: the installer's failure


def test_offline_miss_is_an_error(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("run", "--offline", "cowsay-lite")
    assert result.code == 12, result
    assert "not in the run cache" in result.stderr


def test_two_cold_runs_of_one_request_build_it_once(index: IndexServer, appx_env: Env) -> None:
    argv = factories.appx_command("run", "app-with-dep", "both")
    racers = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=300) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["app-with-dep 1.0 both"] * 2
    (unit,) = run_envs(appx_env)
    assert len(generations(unit)) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "point", ["after-marker", "after-venv", "after-install", "after-receipt", "after-links"]
)
def test_a_run_build_killed_half_way_is_never_used(
    point: str,
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        patch.setenv("APPX_FAULT_AT", point)
        killed = run_appx("run", "cowsay-lite", "x")
    assert killed.code == -9, killed
    result = run_appx("run", "cowsay-lite", "y")
    assert result.code == 0, result
    assert result.stdout.strip() == "cowsay-lite 2.0 y"
    (unit,) = run_envs(appx_env)
    assert len(generations(unit)) == 1
    assert not [name for name in os.listdir(unit) if name.endswith(".building")]


SCRIPT = """\
# /// script
# dependencies = ["cowsay-lite==1.0"]
# ///
import cowsay_lite
cowsay_lite.main()
"""


def test_a_script_runs_with_its_dependencies(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    (appx_env.tmp / "hello.py").write_text(SCRIPT)
    result = run_appx("run", "hello.py", "a", "--b")
    assert result.code == 0, result
    assert result.stdout.strip() == "cowsay-lite 1.0 a --b"
    assert run_appx("run", "hello.py", "c").stdout.strip() == "cowsay-lite 1.0 c"
    (unit,) = run_envs(appx_env)
    assert len(generations(unit)) == 1


def test_a_script_picks_a_python_its_requires_python_accepts(
    run_appx: RunAppx, appx_env: Env
) -> None:
    (appx_env.tmp / "old.py").write_text(
        "# /// script\n# requires-python = '==3.12.*'\n# ///\n"
        "import sys\nprint('%d.%d' % sys.version_info[:2])\n"
    )
    (appx_env.tmp / "future.py").write_text("# /// script\n# requires-python = '>=3.99'\n# ///\n")
    result = run_appx("run", "old.py")
    if result.code == 7:
        pytest.skip(f"no Python 3.12 on this machine: {result.stderr.strip()}")
    assert result.code == 0, result
    assert result.stdout.strip() == "3.12"
    refused = run_appx("run", "future.py")
    assert refused.code == 7, refused
    assert ">=3.99" in refused.stderr


def test_a_malformed_script_block_is_refused_with_its_line(
    run_appx: RunAppx, appx_env: Env
) -> None:
    (appx_env.tmp / "bad.py").write_text("x = 1\n# /// script\n# dependencies = 'no'\n# ///\n")
    result = run_appx("run", "bad.py")
    assert result.code == 3, result
    assert "line 2" in result.stderr


def test_a_script_from_a_url(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "remote.py").write_text(SCRIPT)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/remote.py"
    try:
        result = run_appx("run", url, "from-afar")
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 0, result
    assert result.stdout.strip() == "cowsay-lite 1.0 from-afar"
    offline = run_appx("run", "--offline", url, "cached")  # the server is gone now
    assert offline.stdout.strip() == "cowsay-lite 1.0 cached", offline
    unreachable = run_appx("run", url, "copy")
    assert unreachable.stdout.strip() == "cowsay-lite 1.0 copy", unreachable
    assert "using the copy of" in unreachable.stderr


SIGNAL_APP = {
    "signal_app/__init__.py": (
        "import signal, sys, time\n\n"
        "def main():\n"
        "    signal.signal(signal.SIGTERM, lambda *_: sys.exit(print('got TERM', flush=True)))\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
}


def test_signals_reach_the_app_itself(run_appx: RunAppx, index: IndexServer) -> None:
    index.add_wheel(
        "signal-app", modules=SIGNAL_APP, console_scripts={"signal-app": "signal_app:main"}
    )
    app = subprocess.Popen(
        factories.appx_command("run", "signal-app"), stdout=subprocess.PIPE, text=True
    )
    assert app.stdout is not None
    assert app.stdout.readline().strip() == "ready"
    app.send_signal(signal.SIGTERM)  # appx exec'd the app: this pid is the app's now
    out, _ = app.communicate(timeout=30)
    assert out.strip() == "got TERM"
    assert app.returncode == 0


def test_the_cache_commands(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    assert run_appx("run", "cowsay-lite", "x").code == 0
    assert run_appx("run", "--with", "dep-lib", "gui-app").code == 0
    listed = json.loads(run_appx("cache", "list", "--json").stdout)
    assert sorted(tuple(e["requirements"]) for e in listed["envs"]) == [
        ("cowsay-lite",),
        ("gui-app", "dep-lib"),
    ]
    assert run_appx("cache", "dir").stdout.strip() == str(appx_env.cache_dir / "run")
    cleared = run_appx("cache", "clear")
    assert cleared.code == 0, cleared
    assert run_envs(appx_env) == []
    assert "the run cache is empty" in run_appx("cache", "list").stdout


def test_spec_runs_a_project_directory_whose_name_must_be_built(
    run_appx: RunAppx, project_factory: factories.ProjectFactory
) -> None:
    project = project_factory(
        "hidden-runner", console_scripts={"hr": "hidden_runner:main"}, static_name=False
    )
    result = run_appx("run", "--spec", str(project), "hr", "dir")
    assert result.code == 0, result
    assert result.stdout.strip() == "hidden-runner 1.0 dir"
    again = run_appx("run", "--spec", str(project), "hr", "again")
    assert again.stdout.strip() == "hidden-runner 1.0 again"
