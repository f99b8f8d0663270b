"""One change to an app: build a new generation from a request and commit it.

Install, upgrade and reinstall all go through `build_and_commit`; the caller
holds the app's lock. Before the flip, any failure or signal discards the new
generation; from the flip on, the change stands: the caller's ``after_commit``
stack holds `signals.committed()` until the change has been reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from appx import signals, store
from appx.build import BuildContext, BuildRequest, build_generation
from appx.commit import expose_and_flip
from appx.displaced import DisplacedFile
from appx.errors import AppxError
from appx.faults import checkpoint
from appx.output import Reporter
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


def rebuild(
    paths: AppxPaths,
    request: BuildRequest,
    tools: BuildContext,
    *,
    unless_same_as: Receipt | None = None,
) -> Receipt | None:
    """A change to an installed app (caller holds its lock): build, commit, collect garbage.

    Returns the new receipt, or None when ``unless_same_as`` found nothing to change. A
    signal after the commit cuts the clean-up short, not the change. The log goes unless
    the installer's failure names it.
    """
    change = Change()
    try:
        with contextlib.ExitStack() as after_commit, clean_up_cut(tools.reporter, request.app):
            build_and_commit(
                paths,
                request,
                tools,
                change,
                after_commit,
                force=False,
                unless_same_as=unless_same_as,
            )
            paths.apps.collect_garbage(request.app)
            tools.log.unlink(missing_ok=True)  # inside: after a commit, a signal here keeps it
    except AppxError as error:
        if error.log_path is None:
            tools.log.unlink(missing_ok=True)
        raise
    return change.receipt


@contextlib.contextmanager
def clean_up_cut(reporter: Reporter, app: str) -> Iterator[None]:
    """Around a change and its clean-up: a second signal after the commit point
    (`signals.CleanupCut`) ends the block, and the user is told that the change stands."""
    try:
        yield
    except signals.CleanupCut:
        reporter.warn(
            f"interrupted after the change to {app} was committed: it stands, and the next"
            " appx command finishes its clean-up"
        )


def _same_build(new: Receipt, old: Receipt) -> bool:
    """Whether two builds hold the same distributions, from the same sources (a VCS commit,
    an archive's hash), with the same commands. A local directory's code may change under
    one version number: its build is never the same."""
    if new.spec_kind == "directory":
        return False
    return (new.distributions, new.direct_urls, new.commands, new.man_pages) == (
        old.distributions,
        old.direct_urls,
        old.commands,
        old.man_pages,
    )
