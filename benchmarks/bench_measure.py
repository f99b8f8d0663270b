"""Running the tools: checked commands, wall-clock timing, fresh homes and disk use."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

TIMEOUT_S = 900  # a cold install of 10 apps through pip on a slow network


class BenchError(Exception):
    """A command failed or the setup is unusable: that column is not measured further."""


def run_checked(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured; a failure raises, with its last lines."""
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BenchError(f"{' '.join(argv)}: {error}") from error
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        tail = " / ".join(line.strip() for line in output[-3:])
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}: {tail}")
    return done


def timed(argvs: Sequence[Sequence[str]], env: Mapping[str, str], cwd: Path | None = None) -> float:
    """Seconds of wall time for the commands, run one after another."""
    start = time.perf_counter()
    for argv in argvs:
        run_checked(argv, env, cwd)
    return time.perf_counter() - start


def fresh_dir(path: Path) -> Path:
    """An empty directory at ``path`` (whatever was there is removed)."""
    remove(path)
    path.mkdir(parents=True)
    return path


def remove(path: Path) -> None:
    """Remove a tree; what a tool's background clean-up removed first is no error."""
    shutil.rmtree(path, ignore_errors=True)


def disk_usage(paths: Iterable[Path]) -> int:
    """Bytes allocated under ``paths`` together, each inode once (as one ``du`` call counts).

    A file hardlinked from one tree into another is counted once, so
    ``disk_usage([cache, home]) - disk_usage([cache])`` is what the home adds.
    """
    seen: set[tuple[int, int]] = set()
    total = 0
    for root in paths:
        if not root.exists():
            continue
        for entry in _walk(root):
            stat = os.lstat(entry)
            key = (stat.st_dev, stat.st_ino)
            if key not in seen:
                seen.add(key)
                total += stat.st_blocks * 512
    return total


def _walk(root: Path) -> Iterable[str]:
    """Every path under ``root``, itself included; symlinks are not followed."""
    yield str(root)
    for directory, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield os.path.join(directory, name)
