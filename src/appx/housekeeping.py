"""What interrupted changes left behind, cleared at the start of every mutating command.

A kill can leave scratch trees, half-built generations, a cut flip, and links that lag
behind `current` (they are made just before the flip and dropped just after it). Every
mutating command clears them first, taking only locks that are free at once: whatever
another process holds, that process is changing, and it clears it itself.
"""

from __future__ import annotations

from appx import store
from appx.locks import try_bin_lock, try_run_env_alone
from appx.paths import AppxPaths
from appx.reconcile import reconcile_links


def tidy(paths: AppxPaths, *, links: bool = True) -> None:
    """Sweep scratch and abandoned builds (of apps and run envs), then mend the links,
    skipping anything in use. ``links=False`` for a command that mends them itself, under
    the bin lock, whatever it does (install: at its commit, or for an installed app)."""
    paths.apps.sweep_tmp()
    store.sweep_abandoned(paths)
    sweep_runs(paths)
    if not links:
        return
    with try_bin_lock(paths) as free:
        if free:
            reconcile_links(paths)


def sweep_runs(paths: AppxPaths) -> None:
    """Clear what interrupted run-env builds left, in envs nobody builds now."""
    paths.runs.sweep_tmp()
    # an env nobody builds or runs: a running app may still use an older generation
    paths.runs.sweep_abandoned(lambda key: try_run_env_alone(paths, key))
