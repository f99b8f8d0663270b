"""Render `appx cache list`: a line per env, or one JSON document."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appx.cache import CachedEnv
    from appx.output import Console

CACHE_SCHEMA = 1


def render_cache_list(console: Console, envs: Sequence[CachedEnv]) -> None:
    if console.json_mode:
        console.emit_json(
            {
                "schema": CACHE_SCHEMA,
                "envs": [
                    {
                        "key": env.key,
                        "requirements": list(env.requirements),
                        "python": env.python,
                        "built": env.built,
                        "last_use": env.last_use,
                        "size": env.size,
                        "fresh": env.fresh,
                    }
                    for env in envs
                ],
            }
        )
        return
    if not envs:
        console.result("the run cache is empty")
    now = time.time()
    for env in envs:
        what = ", ".join(env.requirements) or "(unfinished build)"
        age = f"built {_ago(now, env.built)}" if env.built is not None else "never built"
        used = f"used {_ago(now, env.last_use)}" if env.last_use is not None else "never used"
        state = "" if env.fresh else ", expired"
        console.result(
            f"{env.key}  {what}  (Python {env.python or '?'}, {age}, {used},"
            f" {env.size / 1e6:.1f} MB{state})"
        )


def _ago(now: float, then: float) -> str:
    seconds = max(now - then, 0)
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
