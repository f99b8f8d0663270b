"""Committing a built generation: expose its links, then flip `current`, under the bin lock.

The flip is the commit point of every change to an app. Before it, any failure
or signal undoes the links this change made; after it, the change stands, and a
signal only cuts the remaining clean-up short.
"""

from __future__ import annotations

from collections.abc import Callable

from appx import shims, signals, store
from appx.displaced import DisplacedFile
from appx.faults import checkpoint
from appx.links import receipt_links
from appx.locks import bin_lock
from appx.output import Reporter
from appx.paths import AppxPaths
from appx.receipt import Receipt
from appx.reconcile import reconcile_links


def expose_and_flip(
    paths: AppxPaths,
    generation: store.Generation,
    receipt: Receipt,
    reporter: Reporter,
    *,
    force: bool,
    on_commit: Callable[[list[DisplacedFile]], None],
) -> list[DisplacedFile]:
    """Plan and create the app's links, then make `generation` current.

    ``on_commit`` is called just before the flip, with the foreign files moved
    aside: from then on a signal no longer discards the change (the caller enters
    ``signals.committed()`` there, for everything up to the end of the change).
    """
    with bin_lock(paths, reporter.warn):
        reconcile_links(paths)
        desired = receipt_links(paths, receipt)
        plan = shims.plan_shims(paths, receipt.app, desired, force=force)
        if plan.conflicts:
            raise shims.conflict_error(plan, paths)
        displaced = shims.apply_before_flip(paths, plan, generation.name)
        try:
            checkpoint("after-links")
            on_commit(displaced)
            with signals.deferred():  # the two renames of the flip are never split
                paths.apps.flip(generation)
        except BaseException:
            if paths.apps.read_current(receipt.app) != generation:
                shims.undo_before_flip(paths, plan, displaced)
            raise
        checkpoint("after-flip")
        store.finish_generation(generation)
        shims.apply_after_flip(paths, receipt.app, plan, displaced)
    return displaced
