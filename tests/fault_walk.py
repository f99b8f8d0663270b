"""Kill a command before each filesystem mutation it makes, and check what it leaves.

A walk first runs the command once with ``APPX_FAULT_TRACE`` to list its mutations (a
file written, a directory made, a rename, a symlink, an unlink...; see ``appx.faults``),
then, from the same starting state each time, runs it with ``APPX_FAULT_AT=mutation:N``
for each chosen N and checks the invariants: every app whole in its old state when the
kill came before its commit, in its new one after; the next command succeeds; after it
nothing is left to mend. Then the same with Ctrl-C (``APPX_FAULT_SIGNAL=INT``) instead of
SIGKILL. ``APPX_TEST_FAULT_POINTS=all`` walks every mutation (the ``stress`` session); by
default the walk takes the points around each commit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import factories
from crash_checks import KILLED, assert_app_dir_whole, assert_holds_exactly_its_records, listed
from factories import Env, ProcResult

# What the test session reports at its end: one line per walk (see conftest.py).
REPORT: list[str] = []
ABSENT = None
FLIP = r"replace \S*/venvs/{app}/\.pointer-current-\w+"
# The renames before the commit rename of a flip (previous's symlink and rename, current's
# symlink), inside one signals.deferred() block with it.
FLIP_RENAMES = 3
ANY_FLIP = r" replace \S*/\.pointer-current-\w+$"
DETACH = r"rename \S*/venvs/{app}"


@dataclass(frozen=True)
class Scenario:
    """One mutating command, the state it starts from, and what each app may be after it.

    ``apps`` maps an app to its state (see ``state_of``) before and after its commit;
    ``commit`` is the trace line of that commit, with ``{app}`` for the app's name.
    """

    id: str
    command: tuple[str, ...]
    apps: dict[str, tuple[str | None, str | None]]
    setup: tuple[tuple[str, ...], ...] = ()
    commit: str = FLIP
    commits: dict[str, str] = field(default_factory=dict)  # per app, where it differs
    then: tuple[str, ...] = ()  # the next command, which must succeed (default: the same again)
    run_output: str | None = None  # a run scenario: what the command prints when run again
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Env], None] | None = None  # breaks the home after the setup commands
    # the exit codes of a signal once every change committed
    code_after: frozenset[int] = frozenset({0})

    @property
    def next_command(self) -> tuple[str, ...]:
        return self.then or self.command


def state_of(entry: dict[str, Any] | None) -> str | None:
    """An app as `list --json` shows it: version, injected packages, pin (None: absent)."""
    if entry is None:
        return ABSENT
    state = str(entry["version"])
    if entry["injected"]:
        state += "+" + ",".join(sorted(entry["injected"]))
    return state + (" pinned" if entry["pinned"] else "")


class Home:
    """The test's appx directories, saved once and put back before each kill."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.dirs = [env.appx_home, env.bin_dir, env.man_dir, env.cache_dir]
        self.saved = env.tmp / "fault-walk-saved"

    def save(self) -> None:
        for directory in self.dirs:
            if directory.exists():
                shutil.copytree(directory, self.saved / directory.name, symlinks=True)

    def restore(self) -> None:
        for directory in self.dirs:
            _remove(directory)
            if (self.saved / directory.name).exists():
                shutil.copytree(self.saved / directory.name, directory, symlinks=True)


def _remove(directory: Path) -> None:
    # A killed uninstall's background deleter may still be removing files in there.
    for _ in range(5):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(directory)
        if not os.path.lexists(directory):
            return
    raise AssertionError(f"could not clear {directory}")


def trace_of(run: Callable[..., ProcResult], scenario: Scenario, trace: Path) -> list[str]:
    """The mutations one undisturbed run of the scenario's command makes, in order."""
    result = run(*scenario.command, measure=True, APPX_FAULT_TRACE=str(trace))
    assert result.code == 0, result
    lines = trace.read_text(encoding="utf-8").splitlines()
    trace.unlink()
    return lines


def commit_points(scenario: Scenario, trace: Sequence[str]) -> dict[str, int]:
    """app -> the number of its commit mutation in the trace."""
    found = {}
    for app in scenario.apps:
        commit = scenario.commits.get(app, scenario.commit)
        pattern = re.compile(r"(\d+) " + commit.format(app=re.escape(app)))
        numbers = [int(m.group(1)) for line in trace if (m := pattern.fullmatch(line))]
        if scenario.apps[app][0] != scenario.apps[app][1] or numbers:
            assert len(numbers) == 1, f"{app}: commit {commit!r} in {trace}"
            found[app] = numbers[0]
    return found


def every_point() -> bool:
    """Whether to walk every mutation (APPX_TEST_FAULT_POINTS=all: the stress session)."""
    return os.environ.get("APPX_TEST_FAULT_POINTS") == "all"


def chosen_points(total: int, commits: Sequence[int], near: Sequence[int]) -> list[int]:
    """Every mutation with APPX_TEST_FAULT_POINTS=all; else those at the offsets ``near``
    from each commit."""
    if every_point():
        return list(range(1, total + 1))
    return sorted({c + offset for c in commits for offset in near if 1 <= c + offset <= total})


# By default, SIGKILL just before and just after each commit (Ctrl-C at a named point of
# each command: test_interrupt_commands.py); the stress session: every mutation, both ways.
# APPX_TEST_FAULT_WAYS=INT walks Ctrl-C alone (KILL,INT: both), around each commit: just
# before the flip's renames (where it is not held yet) and just after the commit.
KILL_NEAR = (0, 1)
SIGNAL_NEAR = (-FLIP_RENAMES - 1, 1)


def walk(scenario: Scenario, env: Env, run: Callable[..., ProcResult]) -> None:
    """Set up and trace once; then, from the same start each time, SIGKILL the command
    before each chosen mutation, then send it Ctrl-C there, and check what it left."""
    for command in scenario.setup:
        done = run(*command, measure=True)
        assert done.code == 0, done
    if scenario.prepare is not None:
        scenario.prepare(env)
    home = Home(env)
    home.save()
    known = _problems(_list(run))  # what the setup broke on purpose (doctor's scenario)
    trace = trace_of(run, scenario, env.tmp / "fault-trace")
    commits = commit_points(scenario, trace)
    flips = [n for n, line in enumerate(trace, 1) if re.search(ANY_FLIP, line)]  # run envs too
    decided = [*commits.values(), *flips]
    default_ways = "KILL,INT" if every_point() else "KILL"
    ways = os.environ.get("APPX_TEST_FAULT_WAYS", default_ways).split(",")
    for signal, near in ((None, KILL_NEAR), ("INT", SIGNAL_NEAR)):
        if (signal or "KILL") not in ways:
            continue
        points = chosen_points(len(trace), decided, near)
        for point in points:
            home.restore()
            stop_at(scenario, env, run, trace, commits, point, signal, known)
        REPORT.append(
            f"{scenario.id}: SIG{signal or 'KILL'} before {len(points)} of its"
            f" {len(trace)} mutations"
        )


def stop_at(
    scenario: Scenario,
    env: Env,
    run: Callable[..., ProcResult],
    trace: Sequence[str],
    commits: dict[str, int],
    point: int,
    signal: str | None,
    known: set[str],
) -> None:
    """Stop the command before mutation ``point`` with SIGKILL (``signal`` None) or a signal
    it handles (``INT``), and check the exit code and what is left.

    A handled signal must end it with 130 while some app's change had not committed yet,
    and with ``scenario.code_after`` once all had (0; a run that is stopped starts no app:
    130 either way); and it leaves nothing to mend, even before the next command.
    """
    variables = {"APPX_FAULT_AT": f"mutation:{point}"}
    if signal is not None:
        variables["APPX_FAULT_SIGNAL"] = signal
    stopped = run(*scenario.command, **variables)
    where = f"SIG{signal or 'KILL'} before mutation {point}: {trace[point - 1]}"
    # A signal is held through a flip's renames (signals.deferred): one that arrives there
    # acts just after the commit. SIGKILL cannot be held.
    held = 0 if signal is None else FLIP_RENAMES
    committed = {app for app, c in commits.items() if c < point}
    undecided = {app for app, c in commits.items() if c - held <= point <= c}
    if signal is None:
        codes = {KILLED}
    elif len(committed) == len(commits):
        codes = set(scenario.code_after)
    elif len(committed | undecided) == len(commits):
        codes = {130, *scenario.code_after}
    else:
        codes = {130}
    assert stopped.code in codes, f"{where}\n{stopped}"
    assert "Traceback" not in stopped.stderr, f"{where}\n{stopped}"
    expected = {
        app: {after} if app in committed else {before, after} if app in undecided else {before}
        for app, (before, after) in scenario.apps.items()
    }
    check_after_kill(env, run, expected, where)
    if signal is not None:
        check_nothing_left(env, run, where, known)
    check_next_command(scenario, env, run, where)


def check_nothing_left(
    env: Env, run: Callable[..., ProcResult], where: str, known: set[str]
) -> None:
    """An interrupted command cleans up after itself: every app whole, no new problem."""
    listing = _list(run)
    assert _problems(listing) <= known, f"{where}\n{listing}"
    for entry in listing["apps"]:
        assert_app_dir_whole(env, entry["app"])


def _problems(listing: dict[str, Any]) -> set[str]:
    """Every problem `list` reports, orphan links included."""
    found = set(listing["orphan_links"])
    for entry in listing["apps"]:
        found.update(f"{entry['app']}: {problem}" for problem in entry["problems"])
    return found


def check_after_kill(
    env: Env, run: Callable[..., ProcResult], expected: dict[str, set[str | None]], where: str
) -> None:
    """Each app in the state its commit decides, its current generation exact; links may lag."""
    listing = _list(run)
    found = {app: state_of(listed(listing, app)) for app in expected}
    assert all(found[app] in expected[app] for app in expected), f"{where}\n{found}\n{listing}"
    for app, state in found.items():
        if state is not ABSENT:
            assert_holds_exactly_its_records((env.appx_home / "venvs" / app / "current").resolve())
    reported = json.dumps(listing)
    for link in dangling_links(env):
        assert json.dumps(str(link))[1:-1] in reported, f"{where}: list hides {link}\n{listing}"


def dangling_links(env: Env) -> list[Path]:
    """Links in the bin and man dirs that point into APPX_HOME at nothing."""
    found = []
    for root in (env.bin_dir, env.man_dir):
        for directory, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames]:
                path = Path(directory, name)
                ours = path.is_symlink() and os.readlink(path).startswith(str(env.appx_home))
                if ours and not path.exists():
                    found.append(path)
    return found


def check_next_command(
    scenario: Scenario, env: Env, run: Callable[..., ProcResult], where: str
) -> None:
    """The next command succeeds; then every app is whole, its links right, nothing to mend."""
    after = run(*scenario.next_command)
    assert after.code == 0, f"{where}\n{after}"
    if scenario.run_output is not None:
        again = run(*scenario.command)
        assert again.stdout.strip() == scenario.run_output, f"{where}\n{again}"
    listing = _list(run)
    assert listing["orphan_links"] == [], f"{where}\n{listing}"
    for entry in listing["apps"]:
        assert entry["problems"] == [], f"{where}\n{entry}"
        assert_app_dir_whole(env, entry["app"])
        for command in entry["commands"]:
            shim = factories.run([env.bin_dir / command["name"]], timeout=60)
            assert shim.stdout.split()[:2] == [entry["package"], entry["version"]], shim
    doctor = run("doctor", "--json")
    assert doctor.code == 0, f"{where}: doctor found something to mend\n{doctor}"


def _list(run: Callable[..., ProcResult]) -> dict[str, Any]:
    result = run("list", "--json")
    assert result.code == 0, result
    listing: dict[str, Any] = json.loads(result.stdout)
    return listing


# Set by coverage (patch = subprocess) to measure child processes as well.
COVERAGE_CHILDREN = "COVERAGE_PROCESS_CONFIG"


def runner(env: Env) -> Callable[..., ProcResult]:
    """``run(*args, measure=False, **variables)``: appx in this test's environment, plus
    ``variables``. Only a ``measure`` run is measured by coverage: the walks and the stress
    runs repeat the same commands hundreds of times, and measuring each would double the
    session's time for no line it does not already cover."""

    def run(*args: str, measure: bool = False, **variables: str) -> ProcResult:
        command = factories.appx_command(*args)
        environ = {**os.environ, **variables}
        if not measure:
            environ.pop(COVERAGE_CHILDREN, None)
        done = subprocess.run(
            command,
            cwd=env.tmp,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return ProcResult(command, done.returncode, done.stdout, done.stderr)

    return run
