"""One change to an app: build a new generation from a request and commit it.

Install, upgrade and reinstall all go through `build_and_commit`; the caller
holds the app's lock. Before the flip, any failure or signal discards the new
generation; from the flip on, the change stands: the caller's ``after_commit``
stack holds `signals.committed()` until the change has been reported.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from appx import signals, store
from appx.build import BuildContext, BuildRequest, build_generation
from appx.commit import expose_and_flip
from appx.displaced import DisplacedFile
from appx.faults import checkpoint
from appx.paths import AppxPaths
from appx.receipt import Receipt


@dataclass
class Change:
    """What a change committed: its receipt and the foreign files it moved aside.

    ``receipt`` is set just before the flip, so a handler of `signals.CleanupCut`
    can report a change that committed while its clean-up was cut short.
    """

    receipt: Receipt | None = None
    displaced: list[DisplacedFile] = field(default_factory=list)


def build_and_commit(
    paths: AppxPaths,
    request: BuildRequest,
    tools: BuildContext,
    change: Change,
    after_commit: contextlib.ExitStack,
    *,
    force: bool,
    unless_same_as: Receipt | None = None,
) -> bool:
    """Build and commit a new generation of ``request.app``; False when nothing changed.

    With ``unless_same_as``, a build that holds exactly the distributions of that
    receipt is discarded instead of committed (an upgrade that found nothing newer).
    """
    apps = paths.apps
    generation: store.Generation | None = None

    def on_commit(displaced: list[DisplacedFile]) -> None:
        change.receipt, change.displaced = receipt, displaced
        after_commit.enter_context(signals.committed())

    try:
        with signals.deferred():  # the marker exists only with the name that owns it
            generation = apps.begin_generation(request.app)
        checkpoint("after-marker")
        receipt = build_generation(tools, generation, request)
        if unless_same_as is not None and _same_build(receipt, unless_same_as):
            apps.discard(generation)
            return False
        expose_and_flip(
            paths, generation, receipt, tools.reporter, force=force, on_commit=on_commit
        )
    except BaseException:
        if generation is not None and apps.read_current(request.app) != generation:
            change.receipt = None
            apps.discard(generation)
        raise
    return True


def _same_build(new: Receipt, old: Receipt) -> bool:
    """Whether two builds hold the same distributions at the same versions, and commands."""
    return (new.distributions, new.commands, new.man_pages) == (
        old.distributions,
        old.commands,
        old.man_pages,
    )
