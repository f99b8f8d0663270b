"""Hostile wheels and sdists, end to end: bad command and man page names, files aimed outside
the venv, build backends that crash, hang or write elsewhere.

The rule (DESIGN invariant 6): a name appx reads from a package is validated before it is
exposed. A bad command name the installer accepted is refused with a warning and never
linked; the app installs with its other commands (exit 8, no-commands, if none is left).
Where the installer itself refuses the wheel, appx reports installer-failed (exit 6) with
its log, and writes nothing: no venv, no link, no receipt.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import factories
from appx_checks import dir_entries, healthy_versions
from factories import Env, ProjectFactory, RunAppx, WheelFactory
from hostile_checks import assert_clean_failure, hand_made_wheel, state

pytestmark = pytest.mark.slow

# Names appx sees and refuses itself, whichever installer wrote them.
REFUSED_BY_APPX = {
    "-rf": "starts with '-'",
    ".hidden": "starts with '.'",
    "esc\x1bname": "contains a control character",
    "del\x7fname": "contains a control character",
}


def test_bad_command_names_are_refused_with_a_warning_and_never_exposed(
    run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env, backend: str
) -> None:
    scripts = dict.fromkeys(["good-cmd", *REFUSED_BY_APPX], "m:main")
    wheel = wheel_factory(
        f"bad-names-{backend}", console_scripts=scripts, modules={"m.py": "def main(): pass\n"}
    )

    result = run_appx("install", str(wheel))

    assert result.code == 0, result
    assert "Traceback" not in result.stderr
    for name, problem in REFUSED_BY_APPX.items():
        assert f"refused command name {name!r} from package bad-names-{backend}: {problem}" in (
            result.stderr
        )
    assert dir_entries(appx_env.bin_dir) == {"good-cmd"}
    assert healthy_versions(run_appx) == {f"bad-names-{backend}": "1.0"}
    listing = json.loads(run_appx("list", "--json").stdout)
    assert [c["name"] for c in listing["apps"][0]["commands"]] == ["good-cmd"]


def test_an_app_whose_only_command_is_refused_is_not_installed(
    run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env
) -> None:
    wheel = wheel_factory("only-bad", console_scripts={"-rf": "only_bad:main"})
    result = run_appx("install", str(wheel))
    assert_clean_failure(result, 8)
    assert "refused command name '-rf'" in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


@pytest.mark.parametrize(
    ("backend", "bad"),
    [
        ("pip", "../escape"),
        ("uv", "../escape"),
        ("uv", "/abs/escape"),
        ("pip", "nul\x00name"),
        ("uv", "nul\x00name"),
        ("uv", "x" * 256),
    ],
    ids=["pip-dotdot", "uv-dotdot", "uv-abs", "pip-nul", "uv-nul", "uv-256"],
    indirect=["backend"],
)
def test_names_the_installer_refuses_fail_the_install_and_write_nothing(
    bad: str, run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env, backend: str
) -> None:
    wheel = wheel_factory(
        f"refused-{backend}",
        console_scripts={"fine-cmd": "m:main", bad: "m:main"},
        modules={"m.py": "def main(): pass\n"},
    )
    before = state(appx_env)

    result = run_appx("install", str(wheel))

    assert_clean_failure(result, 6)
    assert "log: " in result.stderr
    assert state(appx_env) == before
    assert not (appx_env.tmp / "escape").exists()
    assert not Path("/abs/escape").exists()


@pytest.mark.parametrize("bad", ["line\nbreak", " ", "trailing "], ids=["newline", "blank", "ws"])
def test_a_script_named_with_a_line_break_or_blanks_is_never_exposed(
    bad: str, run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env, backend: str
) -> None:
    """pip installs these plain scripts and appx refuses them; uv refuses some wheels whole."""
    wheel = wheel_factory(
        f"odd-script-{backend}",
        console_scripts={"plain-cmd": "m:main"},
        scripts={bad: "#!python\nprint('odd')\n"},
        modules={"m.py": "def main(): pass\n"},
    )
    before = state(appx_env)

    result = run_appx("install", str(wheel))

    assert "Traceback" not in result.stderr, result
    if result.code == 0:
        assert f"refused command name {bad!r}" in result.stderr
        assert dir_entries(appx_env.bin_dir) == {"plain-cmd"}
        assert healthy_versions(run_appx) == {f"odd-script-{backend}": "1.0"}
    else:
        assert backend == "uv", result  # pip installs these: appx must have refused the name
        assert_clean_failure(result, 6)
        assert state(appx_env) == before


OUT = "../" * 40  # from anywhere under /tmp, up to the root; the sentinel path follows


def _escaping_members(stem: str, sentinel: Path) -> list[tuple[str, bytes, int]]:
    """Members aimed at ``sentinel``: through purelib, an absolute name, .data dirs, a man dir."""
    target = OUT + str(sentinel).lstrip("/")
    members = [
        (f"{target}/purelib", 0o644),
        (f"{sentinel}/absolute", 0o644),
        (f"{stem}.data/data/{target}/data", 0o644),
        (f"{stem}.data/scripts/{target}/scripts", 0o755),
        (f"{stem}.data/data/share/man/man1/{target}/x.1", 0o644),
    ]
    return [(name, b"#!/bin/sh\necho pwned\n", mode) for name, mode in members]


def test_files_aimed_outside_the_venv_never_land_there(
    run_appx: RunAppx, appx_env: Env, backend: str
) -> None:
    """pip refuses such wheels; uv confines or skips their files. Either way nothing escapes."""
    sentinel = appx_env.tmp / "sentinel"
    sentinel.mkdir()
    app = f"escape-{backend}"
    stem = f"{factories.dist_name(app)}-1.0"
    wheel = hand_made_wheel(
        appx_env.tmp / "wheels", app, _escaping_members(stem, sentinel), command=app
    )
    before = state(appx_env)

    result = run_appx("install", str(wheel))

    assert "Traceback" not in result.stderr, result
    assert dir_entries(sentinel) == set()
    assert dir_entries(appx_env.man_dir) == set()
    if result.code == 0:
        assert backend == "uv", result
        assert dir_entries(appx_env.bin_dir) == {app}
        assert healthy_versions(run_appx) == {app: "1.0"}
    else:
        assert_clean_failure(result, 6)
        assert state(appx_env) == before


def test_a_man_page_named_with_dot_dots_is_never_linked(
    run_appx: RunAppx, appx_env: Env, backend: str
) -> None:
    """``man1/../../x.1`` stays inside the venv (at share/x.1), outside every man section."""
    app = f"man-dots-{backend}"
    stem = f"{factories.dist_name(app)}-1.0"
    member = (f"{stem}.data/data/share/man/man1/../../x.1", b".TH X 1\n", 0o644)
    wheel = hand_made_wheel(appx_env.tmp / "wheels", app, [member], command=app)
    before = state(appx_env)

    result = run_appx("install", str(wheel))

    assert "Traceback" not in result.stderr, result
    assert dir_entries(appx_env.man_dir) == set()
    if result.code == 0:
        assert backend == "pip", result  # uv finds RECORD and the wheel at odds
        assert healthy_versions(run_appx) == {app: "1.0"}
    else:
        assert_clean_failure(result, 6)
        assert state(appx_env) == before


# --- sdists whose build backend misbehaves ---------------------------------------------------

BACKEND_FILE = "_backend/appx_test_backend.py"


def _sdist_with_build_hook(
    project_factory: ProjectFactory, tmp: Path, name: str, hook: str
) -> Path:
    """An sdist of ``name`` whose build_wheel runs ``hook`` (Python source) before building."""
    project = project_factory(name, console_scripts={name: factories.main_entry(name)})
    sdist = factories.build_sdist(project, tmp / "sdists")
    # Patch the backend inside the sdist: rebuild it from a project whose backend differs
    # only in build_wheel (build_sdist above ran the sane one).
    backend = project / BACKEND_FILE
    source = backend.read_text()
    marker = "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
    assert marker in source
    backend.write_text(
        source.replace(marker, marker + "".join(f"    {line}\n" for line in hook.splitlines()))
    )
    sdist.unlink()
    return factories.build_sdist(project, tmp / "sdists")


def test_a_crashing_build_backend_is_an_installer_failure_with_its_log(
    run_appx: RunAppx, project_factory: ProjectFactory, appx_env: Env
) -> None:
    sdist = _sdist_with_build_hook(
        project_factory, appx_env.tmp, "crash-build", "raise RuntimeError('backend exploded')"
    )
    before = state(appx_env)

    result = run_appx("install", str(sdist))

    assert_clean_failure(result, 6)
    log = Path(result.stderr.split("log: ", 1)[1].split()[0])
    assert "backend exploded" in log.read_text()
    assert state(appx_env) == before


def _wait_for(path: Path, proc: subprocess.Popen[str], *, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _gone(pid: int, *, within: float = 60.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_hanging_build_backend_ends_with_ctrl_c_or_sigterm(
    sig: signal.Signals, project_factory: ProjectFactory, appx_env: Env
) -> None:
    started = appx_env.tmp / "builder.pid"
    hook = (
        "import os, time\n"
        f"open({str(started)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"os.replace({str(started)!r} + '.tmp', {str(started)!r})\n"
        "time.sleep(3600)"
    )
    sdist = _sdist_with_build_hook(project_factory, appx_env.tmp, "hang-build", hook)
    before = state(appx_env)
    proc = subprocess.Popen(
        factories.appx_command("install", str(sdist)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(started, proc)
        builder = int(started.read_text())
        proc.send_signal(sig)  # appx alone, as a terminal's Ctrl-C reaches only its group
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert _gone(builder), "the build backend outlived appx"
    assert state(appx_env) == before


def test_a_build_that_writes_outside_its_directory_is_not_stopped_but_harms_no_app(
    run_appx: RunAppx,
    project_factory: ProjectFactory,
    wheel_factory: WheelFactory,
    appx_env: Env,
) -> None:
    """appx is no sandbox: a build runs with the user's rights and may write where they may.

    What appx promises is its own state: the other apps, their links and receipts are
    as they were, and the new app is whole.
    """
    bystander = wheel_factory("bystander", console_scripts={"bystander": "bystander:main"})
    assert run_appx("install", str(bystander)).code == 0
    apps_before = state(appx_env)["home"]
    leak = appx_env.tmp / "outside" / "leak.txt"
    hook = (
        f"import os\nos.makedirs({str(leak.parent)!r}, exist_ok=True)\n"
        f"open({str(leak)!r}, 'w').write('x')"
    )
    sdist = _sdist_with_build_hook(project_factory, appx_env.tmp, "leaky-build", hook)

    result = run_appx("install", str(sdist))

    assert result.code == 0, result
    assert leak.read_text() == "x"  # honest: the write happened
    assert healthy_versions(run_appx) == {"bystander": "1.0", "leaky-build": "1.0"}
    after = state(appx_env)["home"]
    assert {k: v for k, v in after.items() if not k.startswith("venvs/leaky-build")} == (
        apps_before
    )
