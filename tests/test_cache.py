"""The run cache's housekeeping: list, clear (skipping envs in use), and the daily sweep."""

from __future__ import annotations

import os
import time

from appx import cache
from appx.locks import share_run_lock
from appx.paths import AppxPaths
from test_run import Run, _age


def test_list_says_what_each_env_holds(paths: AppxPaths) -> None:
    run = Run(paths)
    run("cowsay", with_=("plugin",))
    (env,) = cache.cached_envs(paths, {})
    assert env.requirements == ("cowsay", "plugin")
    assert env.fresh
    assert env.built is not None
    assert env.last_use is not None
    assert env.size > 0


def test_clear_expired_keeps_fresh_envs_and_skips_envs_in_use(paths: AppxPaths) -> None:
    run = Run(paths)
    old = run("cowsay")
    run("cowsay==1.0")
    busy = run("multi-a", spec="multi")
    _age(paths, old, 8)
    _age(paths, busy, 8)
    (busy_env,) = [e for e in cache.cached_envs(paths, {}) if e.requirements == ("multi",)]
    lock = share_run_lock(paths, busy_env.key)  # an app of that env is running
    try:
        removed = cache.clear(paths, {}, expired_only=True)
    finally:
        assert lock is not None
        os.close(lock)
    left = {e.requirements for e in cache.cached_envs(paths, {})}
    assert left == {("cowsay==1.0",), ("multi",)}
    assert len(removed) == 1
    assert len(cache.clear(paths, {}, expired_only=False)) == 2
    assert cache.cached_envs(paths, {}) == []


def test_the_sweep_runs_once_a_day_and_never_removes_the_env_asked_for(
    paths: AppxPaths,
) -> None:
    run = Run(paths)
    first = run("cowsay")
    second = run("cowsay==1.0")
    _age(paths, first, 8)
    _age(paths, second, 8)
    keys = {e.requirements: e.key for e in cache.cached_envs(paths, {})}
    _last_sweep_a_day_ago(paths)  # the runs above swept (an empty cache) just now
    cache.sweep_expired(paths, {}, keep=keys[("cowsay",)])
    assert {e.requirements for e in cache.cached_envs(paths, {})} == {("cowsay",)}
    run("cowsay==1.0")
    _age(paths, run("cowsay==1.0"), 8)
    cache.sweep_expired(paths, {}, keep="none")  # swept less than a day ago: nothing
    assert len(cache.cached_envs(paths, {})) == 2
    _last_sweep_a_day_ago(paths)
    cache.sweep_expired(paths, {}, keep="none")
    assert cache.cached_envs(paths, {}) == []


def _last_sweep_a_day_ago(paths: AppxPaths) -> None:
    day_ago = time.time() - 86401
    os.utime(paths.runs.root / cache.SWEEP_STAMP, (day_ago, day_ago))
