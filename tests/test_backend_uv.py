"""The uv backend: the argv it gives uv, the environment uv runs in, reading uv's output."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from appx.backends.base import VenvLayout
from appx.backends.uv import UvBackend
from appx.backends.uv_env import uv_environment
from appx.backends.uv_locate import parse_version, uv_version
from appx.backends.uv_output import last_error_line, parse_compiled, parse_dry_run
from appx.errors import InstallerError, SpecError
from appx.indexes import IndexOptions
from appx.interpreters import Interpreter
from appx.paths import AppxPaths

# A stand-in for uv: records each call (argv, environment, and the files -c names), says
# what $FAKE_UV_SAY holds, exits with $FAKE_UV_EXIT.
FAKE_UV = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
here = Path(__file__).parent
args = sys.argv[1:]
held = [Path(args[i + 1]).read_text() for i, a in enumerate(args) if a == "--constraint"
        and Path(args[i + 1]).is_file()]
with open(here / "calls.jsonl", "a") as f:
    f.write(json.dumps({{"argv": args, "env": dict(os.environ), "held": held}}) + "\\n")
if "--version" in args:
    print("uv 0.9.99 (abc 2025-01-01)")
print(os.environ.get("FAKE_UV_SAY", ""), file=sys.stderr)
sys.exit(int(os.environ.get("FAKE_UV_EXIT", "0")))
"""


@pytest.fixture
def fake_uv(tmp_path: Path) -> Path:
    place = tmp_path / "fake-uv"
    place.mkdir()
    uv = place / "uv"
    uv.write_text(FAKE_UV)
    uv.chmod(0o755)
    return uv


def calls(uv: Path) -> list[dict[str, object]]:
    lines = (uv.parent / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def interpreter() -> Interpreter:
    return Interpreter("3", Path(sys.executable), sys.version_info[:3], "cpython")


def layout(tmp_path: Path) -> VenvLayout:
    gen = tmp_path / "venvs" / "tool" / "g1-x"
    return VenvLayout(gen / "bin" / "python", gen / "lib", gen / "bin")


def test_a_venv_is_made_by_uv_venv_with_the_interpreter_and_no_seed(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    UvBackend(paths, fake_uv, "0.9").create_venv(
        interpreter(), tmp_path / "g1", log=log, on_start=lambda _: None
    )
    (call,) = calls(fake_uv)
    assert call["argv"] == [
        *("--no-config", "--color", "never", "venv", "--no-project"),
        *("--python", sys.executable, str(tmp_path / "g1")),
    ]
    assert "--seed" not in call["argv"]


def test_install_runs_uv_pip_for_the_generations_python_with_bytecode_compiled(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path
) -> None:
    index = IndexOptions(index_url="https://pypi.example.org/simple", pre=True)
    UvBackend(paths, fake_uv, "0.9").install(
        layout(tmp_path),
        interpreter(),
        ["/src/tool", "helper==1.0"],
        editable=True,
        index=index,
        log=tmp_path / "log",
        on_start=lambda _: None,
        constraints=["click==8.1.7", "rich==13.0"],
    )
    (call,) = calls(fake_uv)
    argv = call["argv"]
    assert isinstance(argv, list)
    python = str(layout(tmp_path).python)
    assert argv[:7] == ["--no-config", "--color", "never", "pip", "install", "--python", python]
    assert "--compile-bytecode" in argv
    assert argv[argv.index("--default-index") + 1] == "https://pypi.example.org/simple"
    assert argv[argv.index("--prerelease") + 1] == "allow"
    assert argv[argv.index("-e") + 1] == "/src/tool"
    assert "helper==1.0" in argv
    assert call["held"] == ["click==8.1.7\nrich==13.0\n"]
    assert not list(paths.apps.scratch.iterdir())  # the constraints file is gone


def test_a_failed_install_is_an_installer_error_with_uvs_cause_and_the_log(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UV_EXIT", "2")
    monkeypatch.setenv(
        "FAKE_UV_SAY",
        "error: Failed to fetch: `https://bob:s3cret@idx/simple/x/`\n"
        "  Caused by: HTTP status client error (404 Not Found)",
    )
    log = tmp_path / "log"
    with pytest.raises(InstallerError) as raised:
        UvBackend(paths, fake_uv, "0.9").install(
            layout(tmp_path),
            interpreter(),
            ["x"],
            editable=False,
            index=IndexOptions(index_url="https://bob:s3cret@idx/simple"),
            log=log,
            on_start=lambda _: None,
        )
    assert raised.value.message == "uv failed to install x"
    assert raised.value.hint == "HTTP status client error (404 Not Found)"
    assert raised.value.log_path == str(log)
    assert "s3cret" not in log.read_text()  # neither in the command line nor uv's output
    assert "bob:****@idx" in log.read_text()


def test_an_option_line_is_never_written_as_a_constraint(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path
) -> None:
    with pytest.raises(SpecError):
        UvBackend(paths, fake_uv, "0.9").install(
            layout(tmp_path),
            interpreter(),
            ["x"],
            editable=False,
            index=IndexOptions(),
            log=tmp_path / "log",
            on_start=lambda _: None,
            constraints=["--index-url=https://evil/simple"],
        )


def test_untranslatable_pip_args_never_reach_uv(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path
) -> None:
    with pytest.raises(InstallerError, match="prefer-binary"):
        UvBackend(paths, fake_uv, "0.9").install(
            layout(tmp_path),
            interpreter(),
            ["x"],
            editable=False,
            index=IndexOptions(pip_args=("--prefer-binary",)),
            log=tmp_path / "log",
            on_start=lambda _: None,
        )


def test_the_name_comes_from_a_dry_run_of_the_spec_alone(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UV_SAY", "Would install 1 package\n + Hidden_Name @ file:///src/p")
    name = UvBackend(paths, fake_uv, "0.9").resolve_name(
        interpreter(), "/src/p", index=IndexOptions(), log=tmp_path / "log"
    )
    assert name == "hidden-name"
    venv_call, dry_run = calls(fake_uv)
    assert "venv" in venv_call["argv"]  # type: ignore[operator]
    assert dry_run["argv"][3:5] == ["pip", "install"]  # type: ignore[index]
    assert "--dry-run" in dry_run["argv"]  # type: ignore[operator]
    assert "--no-deps" in dry_run["argv"]  # type: ignore[operator]
    assert not list(paths.apps.scratch.iterdir())


def test_uv_runs_with_a_cleaned_environment(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_PYTHON", "/elsewhere/python")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    UvBackend(paths, fake_uv, "0.9").create_venv(
        interpreter(), tmp_path / "g1", log=tmp_path / "log", on_start=lambda _: None
    )
    env = calls(fake_uv)[0]["env"]
    assert isinstance(env, dict)
    assert "UV_PYTHON" not in env
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["UV_CACHE_DIR"] == str(tmp_path / "uv-cache")
    assert env["UV_NO_CONFIG"] == "1"


@pytest.mark.parametrize(
    "variable",
    [
        "UV_PYTHON",
        "UV_SYSTEM_PYTHON",
        "UV_BREAK_SYSTEM_PACKAGES",
        "UV_TARGET",
        "UV_PREFIX",
        "UV_PROJECT_ENVIRONMENT",
        "UV_WORKING_DIR",
        "UV_CONFIG_FILE",
        "UV_NO_BUILD_ISOLATION",
        "UV_NO_INSTALLER_METADATA",
        "UV_VENV_SEED",
        "UV_COMPILE_BYTECODE",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
    ],
)
def test_variables_that_would_move_or_reshape_an_install_are_dropped(variable: str) -> None:
    assert variable not in uv_environment({variable: "1", "PIP_CONFIG_FILE": os.devnull})


@pytest.mark.parametrize(
    "variable",
    [
        "UV_CACHE_DIR",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_FIND_LINKS",
        "UV_NATIVE_TLS",
        "UV_OFFLINE",
        "UV_HTTP_TIMEOUT",
        "UV_KEYRING_PROVIDER",
        "UV_INDEX_STRATEGY",
        "HTTPS_PROXY",
        "SSL_CERT_FILE",
    ],
)
def test_harmless_variables_are_kept(variable: str) -> None:
    env = uv_environment({variable: "x", "PIP_CONFIG_FILE": os.devnull})
    assert env[variable] == "x"


def test_a_symlink_link_mode_is_dropped_other_link_modes_kept() -> None:
    assert "UV_LINK_MODE" not in uv_environment({"UV_LINK_MODE": "symlink"})
    assert uv_environment({"UV_LINK_MODE": "copy"})["UV_LINK_MODE"] == "copy"


def test_pips_index_settings_reach_uv_from_variables_and_config_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nextra-index-url = https://extra/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))  # pip finds its files in os.environ
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror/simple")
    env = uv_environment()
    assert env["UV_DEFAULT_INDEX"] == "https://mirror/simple"
    assert env["UV_INDEX"] == "https://extra/simple"


def test_uvs_own_index_variable_beats_pips() -> None:
    env = uv_environment(
        {
            "PIP_INDEX_URL": "https://pip/simple",
            "UV_INDEX_URL": "https://uv/simple",
            "PIP_CONFIG_FILE": os.devnull,
        }
    )
    assert "UV_DEFAULT_INDEX" not in env
    assert env["UV_INDEX_URL"] == "https://uv/simple"


def test_the_version_comes_from_uv_version_once_per_process(fake_uv: Path) -> None:
    assert uv_version(fake_uv) == "0.9.99"
    assert uv_version(fake_uv) == "0.9.99"
    assert len(calls(fake_uv)) == 1


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("uv 0.9.5 (d5f39331a 2025-10-21)\n", "0.9.5"),
        ("uv 0.5.0\n", "0.5.0"),
        ("", None),
        ("something else 1.0", None),
        ("uv", None),
    ],
)
def test_parse_version(text: str, version: str | None) -> None:
    assert parse_version(text) == version


def test_a_dry_run_says_names_and_versions() -> None:
    text = textwrap.dedent(
        """\
        Using Python 3.12.1 environment at: /tmp/x
        Resolved 3 packages in 12ms
        Would download 2 packages
        Would install 3 packages
         + Black==24.1.0
         + click==8.1.7
         + tool @ file:///src/tool
        warning: + not a line of the list
        """
    )
    assert parse_dry_run(text) == {"black": "24.1.0", "click": "8.1.7", "tool": ""}


def test_the_hint_is_uvs_last_cause_of_the_last_command(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text(
        "$ uv venv\nerror: an older failure\n"
        "$ uv pip install x\nResolved 1 package\n"
        "  \u00d7 No solution found when resolving dependencies:\n"
        "  ╰─▶ Because x was not found in the package registry, we can conclude that"
        " your requirements are unsatisfiable.\n"
    )
    assert last_error_line(log).startswith("Because x was not found in the package registry")
    log.write_text("$ uv pip install x\nerror: Distribution not found at: file:///nowhere\n")
    assert last_error_line(log) == "Distribution not found at: file:///nowhere"
    log.write_text(  # uv 0.13's plain shape
        "$ uv pip install x\nerror: No solution found when resolving dependencies\n"
        "  cause: Because x was not found in the package registry, we can conclude ...\n"
    )
    assert last_error_line(log).startswith("Because x was not found in the package registry")
    log.write_text("$ uv pip install x\nall good\n")
    assert last_error_line(log) == ""
    assert last_error_line(tmp_path / "missing") == ""


def test_requirements_by_name_are_resolved_by_uv_pip_compile_without_a_venv(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UV_SAY", "Resolved 2 packages in 5ms\nblack==24.1.0\nclick==8.1.7")
    found = UvBackend(paths, fake_uv, "0.9").resolve(
        interpreter(), ["black[d]>=24"], index=IndexOptions(), log=tmp_path / "log"
    )
    assert found == {"black": "24.1.0", "click": "8.1.7"}
    (call,) = calls(fake_uv)  # no `uv venv`: one process
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[3:7] == ["pip", "compile", "--python", sys.executable]
    assert os.listdir(paths.apps.scratch) == []  # its requirements file is gone


@pytest.mark.parametrize("ahead", [False, True])
def test_the_newest_of_many_names_is_one_compile_without_dependencies_or_builds(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ahead: bool
) -> None:
    monkeypatch.setenv("FAKE_UV_SAY", "black==26.1\nIsort==6.0\n")
    found = UvBackend(paths, fake_uv, "0.9").latest(
        interpreter(), ["black", "isort"], index=IndexOptions(), log=tmp_path / "log", ahead=ahead
    )
    assert found == {"black": "26.1", "isort": "6.0"}
    (call,) = calls(fake_uv)
    argv = call["argv"]
    assert isinstance(argv, list)
    assert {"--no-deps", "--no-build"} <= set(argv)
    assert ("--python-version" in argv) is ahead
    if ahead:
        assert argv[argv.index("--python-version") + 1] == "3.99"


def test_newest_no_newer_than_installed_needs_one_compile(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UV_SAY", "black==26.1")
    newest = UvBackend(paths, fake_uv, "0.9").newest(
        interpreter(), "black", index=IndexOptions(), log=tmp_path / "log", installed="26.1"
    )
    assert newest == ("26.1", "")  # nothing held back: the specifier is not needed
    assert len(calls(fake_uv)) == 1


def test_a_failed_compile_is_an_installer_error_with_uvs_cause(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_UV_EXIT", "1")
    monkeypatch.setenv("FAKE_UV_SAY", "error: No solution found\n  Caused by: nothing named nosuch")
    with pytest.raises(InstallerError) as raised:
        UvBackend(paths, fake_uv, "0.9").latest(
            interpreter(), ["nosuch"], index=IndexOptions(), log=tmp_path / "log"
        )
    assert "nosuch" in raised.value.message
    assert "nothing named nosuch" in raised.value.hint


def test_compiled_lines_say_names_and_versions() -> None:
    text = textwrap.dedent(
        """\
        Resolved 3 packages in 12ms
        # This file was autogenerated by uv
        Black[d]==24.1.0
        click==8.1.7 ; sys_platform != 'win32'
        colorama==0.4.6 \\
        warning: something
        """
    )
    assert parse_compiled(text) == {"black": "24.1.0", "click": "8.1.7", "colorama": "0.4.6"}


def test_apps_choosing_in_threads_run_uv_version_once(fake_uv: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda _: uv_version(fake_uv), range(8)))
    assert versions == ["0.9.99"] * 8
    assert len(calls(fake_uv)) == 1


@pytest.mark.parametrize("implementation", ["cpython", "pypy"])
def test_a_cpython_venv_uv_made_is_read_from_disk_anything_else_probed(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path, implementation: str
) -> None:
    backend = UvBackend(paths, fake_uv, "0.9")
    made = Interpreter("3", Path(sys.executable), (3, 12, 1), implementation)
    venv = tmp_path / "g1"
    backend.create_venv(made, venv, log=tmp_path / "log", on_start=lambda _: None)
    purelib = venv / "lib" / "python3.12" / "site-packages"
    purelib.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    if implementation == "cpython":
        assert backend.probe(venv) == VenvLayout(venv / "bin" / "python", purelib, venv / "bin")
    else:  # probed: the real Python's own answer, not a layout made up for it
        assert backend.probe(venv).purelib != purelib


def test_a_venv_without_the_expected_layout_is_probed(
    paths: AppxPaths, fake_uv: Path, tmp_path: Path
) -> None:
    backend = UvBackend(paths, fake_uv, "0.9")
    venv = tmp_path / "g1"
    backend.create_venv(interpreter(), venv, log=tmp_path / "log", on_start=lambda _: None)
    with pytest.raises(InstallerError, match="does not run"):
        backend.probe(venv)  # nothing there: the probe says so
