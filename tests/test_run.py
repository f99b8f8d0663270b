"""The run decisions, in-process with the fake backend: hit and miss, keys, TTL, offline-first."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from appx import cache, runkey
from appx.errors import InstallerError, NotCachedError, SpecError
from appx.locks import share_run_lock
from appx.paths import AppxPaths
from appx.run import Launch, RunOptions, prepare_run
from appx.runenv import find_env
from fake_backend import FakeBackend, FakePackage, this_interpreter

CATALOGUE = {
    "cowsay": FakePackage("cowsay", "1.0", commands=["cowsay"]),
    "multi": FakePackage("multi", "1.0", commands=["multi-a", "multi-b"]),
    "oddpkg": FakePackage("oddpkg", "1.0", commands=["oddcmd"]),
    "plugin": FakePackage("plugin", "0.1"),
}


class Run:
    """Calls prepare_run with the fake backend; counts the builds; closes the lock it returns."""

    def __init__(self, paths: AppxPaths) -> None:
        self.paths = paths
        self.backend = FakeBackend(CATALOGUE)
        self.err = io.StringIO()
        self.environ: dict[str, str] = {}

    def __call__(self, target: str, *args: str, **options: object) -> Launch:
        from appx.output import Console

        launch = prepare_run(
            self.paths,
            target,
            args,
            RunOptions(**options),  # type: ignore[arg-type]
            Console(out=io.StringIO(), err=self.err),
            cwd=self.paths.home.parent,
            environ=self.environ,
            backend=self.backend,
            interpreter=this_interpreter(),
        )
        if launch.lock_fd is not None:
            os.close(launch.lock_fd)
        return launch

    @property
    def builds(self) -> int:
        return len(self.backend.installs)


@pytest.fixture
def run(paths: AppxPaths) -> Run:
    return Run(paths)


def _age(paths: AppxPaths, launch: Launch, days: float) -> None:
    """Make the env that runs ``launch`` look built ``days`` ago."""
    generation = Path(launch.argv[0]).parent.parent
    then = time.time() - days * 86400
    os.utime(generation / runkey.LAUNCH_NAME, (then, then))


def test_a_first_run_builds_and_a_second_one_hits(run: Run, paths: AppxPaths) -> None:
    first = run("cowsay", "hi", "--help")
    assert Path(first.argv[0]).name == "cowsay"
    assert first.argv[1:] == ("hi", "--help")
    assert run.builds == 1
    assert run("cowsay", "again").argv[0] == first.argv[0]
    assert run.builds == 1
    assert not paths.bin_dir.exists()  # run never touches the bin dir
    assert (paths.cache_dir / "run" / "CACHEDIR.TAG").is_file()


def test_different_requests_get_different_envs(run: Run) -> None:
    plain = run("cowsay").argv[0]
    assert run("cowsay==1.0").argv[0] != plain
    assert run("cowsay@1.0").argv[0] == run("cowsay==1.0").argv[0]
    assert run("Cowsay").argv[0] == plain  # one project, however it is spelled
    assert run("cowsay", with_=("plugin",)).argv[0] != plain
    assert run("cowsay", python="3.12").argv[0] != plain
    assert run("cowsay", spec="cowsay").argv[0] == plain
    assert run.builds == 4


def test_an_expired_env_is_rebuilt(run: Run, paths: AppxPaths) -> None:
    first = run("cowsay")
    _age(paths, first, 8)
    run("cowsay")
    assert run.builds == 2
    run.environ["APPX_RUN_TTL_DAYS"] = "30"
    _age(paths, run("cowsay"), 8)
    run("cowsay")
    assert run.builds == 2


def test_an_expired_env_that_cannot_be_rebuilt_is_used_with_a_warning(
    run: Run, paths: AppxPaths
) -> None:
    first = run("cowsay")
    _age(paths, first, 9)

    def index_down() -> None:
        raise InstallerError("pip failed to install cowsay", "the index cannot be reached")

    run.backend.hooks["install"] = index_down
    again = run("cowsay")
    assert again.argv[0] == first.argv[0]
    assert "built 9 days ago" in run.err.getvalue()
    assert "could not be rebuilt (pip failed to install cowsay)" in run.err.getvalue()
    with pytest.raises(InstallerError):  # nothing cached: the failure is the user's to see
        run("cowsay==1.0")


def test_offline_uses_the_cache_only(run: Run, paths: AppxPaths) -> None:
    with pytest.raises(NotCachedError) as missed:
        run("cowsay", offline=True)
    assert missed.value.exit_code == 12
    first = run("cowsay")
    _age(paths, first, 20)
    assert run("cowsay", offline=True).argv[0] == first.argv[0]
    assert run.builds == 1


def test_refresh_rebuilds_now(run: Run) -> None:
    run("cowsay")
    run("cowsay", refresh=True)
    assert run.builds == 2


def test_no_cache_builds_a_fresh_env_to_discard(run: Run, paths: AppxPaths) -> None:
    cached = run("cowsay")
    once = run("cowsay", no_cache=True)
    assert once.discard is not None
    assert once.lock_fd is not None  # held by appx while the app runs, then the env goes
    assert once.argv[0] != cached.argv[0]
    assert run.builds == 2


def test_the_command_named_runs_else_the_only_one_else_an_error(run: Run) -> None:
    assert Path(run("multi-a", spec="multi").argv[0]).name == "multi-a"
    assert Path(run("oddpkg").argv[0]).name == "oddcmd"
    assert "oddpkg has no command oddpkg; running oddcmd" in run.err.getvalue()
    with pytest.raises(SpecError) as ambiguous:
        run("multi")
    assert "its commands: multi-a, multi-b" in ambiguous.value.message
    assert "appx run --spec multi multi-a" in ambiguous.value.hint


def test_a_path_needs_spec(run: Run) -> None:
    with pytest.raises(SpecError) as refused:
        run("./some/dir")
    assert "--spec" in refused.value.hint


def test_a_killed_build_is_never_used(run: Run, paths: AppxPaths) -> None:
    def killed() -> None:
        raise KeyboardInterrupt

    run.backend.hooks["install"] = killed
    with pytest.raises(KeyboardInterrupt):
        run("cowsay")
    del run.backend.hooks["install"]
    assert [unit for unit in paths.runs.units() if find_env(paths, unit)] == []
    assert Path(run("cowsay").argv[0]).is_file()


def test_the_fast_path_finds_the_dirs_appx_uses(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    cases: list[dict[str, str]] = [
        {"HOME": home},
        {"HOME": home, "XDG_DATA_HOME": f"{home}/d", "XDG_CACHE_HOME": f"{home}/c"},
        {"HOME": home, "APPX_HOME": f"{home}/ah", "APPX_CACHE_DIR": f"{home}/ac"},
        {"HOME": home, "XDG_DATA_HOME": " ", "XDG_CACHE_HOME": ""},
    ]
    for environ in cases:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "APPX_HOME", "APPX_CACHE_DIR"):
                patch.delenv(name, raising=False)
            for name, value in environ.items():
                patch.setenv(name, value)
            paths = AppxPaths.from_env(environ)
            assert runkey.run_dirs(environ) == (str(paths.home), str(paths.cache_dir)), environ


def test_app_requirements_as_users_type_them() -> None:
    assert runkey.app_requirement("black") == ("black", "black")
    assert runkey.app_requirement("Black==24.1.0") == ("black==24.1.0", "Black")
    assert runkey.app_requirement("black@24.1.0") == ("black==24.1.0", "black")
    assert runkey.app_requirement("black[D, jupyter]") == ("black[d,jupyter]", "black")
    for not_plain in ("./black", "black>=24", "git+https://x/y", "", "-x", "a b"):
        assert runkey.app_requirement(not_plain) is None, not_plain


SCRIPT = """\
# /// script
# dependencies = ["cowsay", "plugin"]
# requires-python = ">=3.9"
# ///
print("hi")
"""


def test_a_scripts_dependencies_go_into_a_cached_env(run: Run, paths: AppxPaths) -> None:
    script = paths.home.parent / "tool.py"
    script.write_text(SCRIPT)
    first = run("tool.py", "a", "-b")
    assert first.argv[1:] == (str(script), "a", "-b")
    assert Path(first.argv[0]).name == "python"
    assert run.backend.installs == [["cowsay", "plugin"]]
    assert run("tool.py").argv[0] == first.argv[0]  # a hit
    other = paths.home.parent / "other.py"
    other.write_text(SCRIPT)
    assert run("other.py").argv[0] == first.argv[0]  # the same dependencies: the same env
    assert run.builds == 1


def test_a_script_without_dependencies_runs_on_its_python_with_no_env(
    run: Run, paths: AppxPaths
) -> None:
    script = paths.home.parent / "plain.py"
    script.write_text("print('plain')\n")
    launch = run("plain.py", "x")
    assert launch.argv == (str(this_interpreter().executable), str(script), "x")
    assert run.builds == 0


def test_a_malformed_block_names_its_line(run: Run, paths: AppxPaths) -> None:
    (paths.home.parent / "bad.py").write_text("import os\n\n# /// script\n# dependencies = [\n")
    with pytest.raises(SpecError) as refused:
        run("bad.py")
    assert "line 3" in refused.value.message


def test_a_scripts_env_never_stands_for_a_packages(run: Run, paths: AppxPaths) -> None:
    script = paths.home.parent / "only.py"
    script.write_text('# /// script\n# dependencies = ["cowsay"]\n# ///\n')
    as_script = run("only.py")
    as_package = run("cowsay")
    assert Path(as_script.argv[0]).name == "python"
    assert Path(as_package.argv[0]).name == "cowsay"
    assert run.builds == 2


def test_a_rebuild_keeps_the_generation_a_running_app_uses(run: Run, paths: AppxPaths) -> None:
    first = run("cowsay")
    (env,) = cache.cached_envs(paths, {})
    running = share_run_lock(paths, env.key)  # the app of the first run is still running
    try:
        for _ in range(3):
            run("cowsay", refresh=True)
        assert Path(first.argv[0]).is_file()
    finally:
        assert running is not None
        os.close(running)
    run("cowsay", refresh=True)  # nobody runs it now: old generations go
    assert not Path(first.argv[0]).exists()


def test_a_no_cache_env_is_held_while_its_app_runs_then_goes(run: Run, paths: AppxPaths) -> None:
    launch = prepare_once(run)
    assert launch.lock_fd is not None
    assert launch.discard is not None
    assert cache.clear(paths, {}, expired_only=False) == []  # in use: skipped
    cache.discard_once(paths, launch.discard, launch.lock_fd)
    assert paths.runs.units() == []
    assert not list((paths.locks / "run").glob(f"{launch.discard}*"))


def prepare_once(run: Run) -> Launch:
    from appx.output import Console

    return prepare_run(
        run.paths,
        "cowsay",
        (),
        RunOptions(no_cache=True),
        Console(out=io.StringIO(), err=run.err),
        cwd=run.paths.home.parent,
        environ=run.environ,
        backend=run.backend,
        interpreter=this_interpreter(),
    )


def test_a_damaged_env_is_rebuilt(run: Run) -> None:
    first = run("cowsay")
    Path(first.argv[0]).unlink()
    assert Path(run("cowsay").argv[0]).is_file()
    assert run.builds == 2


def test_an_odd_ttl_is_refused_with_a_warning(run: Run, paths: AppxPaths) -> None:
    run.environ["APPX_RUN_TTL_DAYS"] = "nan"
    run("cowsay")
    run("cowsay")
    assert run.builds == 1  # the default week, not a rebuild every time
    assert "APPX_RUN_TTL_DAYS='nan' is not a number of days" in run.err.getvalue()
    run.environ["APPX_RUN_TTL_DAYS"] = "0"  # zero is a choice: always rebuild
    run("cowsay")
    assert run.builds == 2
