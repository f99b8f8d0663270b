"""Reads are cheap: list, environment, --version and --help start no process, create nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from factories import Env, IndexServer, RunAppx

# Run appx in a Python where starting any process raises, and report what was created.
GUARDED = """
import os, subprocess, sys, _posixsubprocess
def refuse(*args, **kwargs):
    raise AssertionError("a read-only command started a process")
subprocess.Popen.__init__ = refuse
_posixsubprocess.fork_exec = refuse
for name in dir(os):
    if name.startswith(("exec", "spawn", "posix_spawn", "fork")) or name in {"system", "popen"}:
        setattr(os, name, refuse)
sys.argv = ["appx", *sys.argv[1:]]
from appx.__main__ import main  # the lean path for most of them, the full CLI for --help
main()
"""


def snapshot(env: Env) -> dict[str, tuple[int, int, int]]:
    """Every path under the test's directories, with its mode, size and modification time."""
    found: dict[str, tuple[int, int, int]] = {}
    for root in (env.appx_home, env.bin_dir, env.man_dir, env.cache_dir, env.home):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                info = os.lstat(path)
                found[path] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.parametrize(
    "args",
    [["list"], ["list", "--json"], ["list", "--short"], ["environment"], ["--version"], ["--help"]],
)
def test_read_commands_start_no_process_and_write_nothing(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, args: list[str]
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    before = snapshot(appx_env)
    done = subprocess.run(
        [sys.executable, "-c", GUARDED, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "started a process" not in done.stderr
    assert snapshot(appx_env) == before


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("list",),
        ("environment", "--json"),
        ("cache", "dir"),
        ("list", "--outdated"),
    ],
)
def test_a_reader_that_goes_away_ends_appx_quietly_as_sigpipe_would(
    args: tuple[str, ...], appx_env: Env
) -> None:
    from factories import appx_command

    read_end, write_end = os.pipe()
    os.close(read_end)  # `appx list | head -0`: the reader is gone before appx writes
    try:
        done = subprocess.run(
            appx_command(*args),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")
