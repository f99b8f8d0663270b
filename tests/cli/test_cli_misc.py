"""uninstall, uninstall-all, environment, ensurepath, --version, --help, the error funnel.

Tests of the error funnel, --json on failure and --quiet run ``appx.cli.run`` in-process
(``in_process``) where no install is needed; the others run appx as a real process.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

import appx.listing
from appx import __version__, cli
from appx.output import Console
from appx_checks import dir_entries, eventually_empty, json_of
from factories import Env, IndexServer, RunAppx

README = Path(__file__).parents[2] / "README.md"


def test_uninstall_removes_the_app_and_its_commands(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "tool-with-man", "cowsay-lite").code == 0
    result = run_appx("uninstall", "Tool_With.Man")  # any spelling of the name
    assert result.code == 0, result
    assert "uninstalled tool-with-man" in result.stdout
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite"}
    assert dir_entries(appx_env.man_dir / "man1") == set()
    assert dir_entries(appx_env.appx_home / "venvs") == {"cowsay-lite"}
    assert eventually_empty(appx_env.appx_home / "tmp") == set()  # deleted in the background


def test_uninstall_of_an_app_not_installed(run_appx: RunAppx) -> None:
    result = run_appx("uninstall", "nothing-here")
    assert result.code == 4, result
    assert "nothing-here is not installed" in result.stderr


def test_uninstall_refuses_names_that_are_paths(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("uninstall", "../../etc")
    assert result.code == 3, result


def test_uninstall_several_with_one_missing_is_partial(
    run_appx: RunAppx, index: IndexServer
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    result = run_appx("uninstall", "cowsay-lite", "nothing-here")
    assert result.code == 10, result
    assert "nothing-here" in result.stderr
    assert "uninstalled cowsay-lite" in result.stdout


def test_uninstall_all(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    assert run_appx("install", "cowsay-lite", "gui-app", "tool-with-man").code == 0
    result = run_appx("uninstall-all")
    assert result.code == 0, result
    assert dir_entries(appx_env.bin_dir) == set()
    assert dir_entries(appx_env.appx_home / "venvs") == set()
    assert "no apps are installed" in run_appx("list").stdout


def test_environment_names_every_setting_and_its_source(run_appx: RunAppx, appx_env: Env) -> None:
    result = run_appx("environment")
    assert result.code == 0, result
    assert f"APPX_HOME            {appx_env.appx_home}  (environment)" in result.stdout
    data = json_of(run_appx("environment", "--json"))
    assert data["APPX_BIN_DIR"] == {"value": str(appx_env.bin_dir), "source": "environment"}
    assert data["APPX_DEFAULT_PYTHON"]["source"] == "default"
    assert not appx_env.appx_home.exists()


def test_relative_home_is_refused(run_appx: RunAppx, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPX_HOME", "relative/home")
    result = run_appx("list")
    assert result.code == 11, result
    assert "APPX_HOME must be an absolute path" in result.stderr


def test_ensurepath_edits_the_shell_startup_file(
    run_appx: RunAppx, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    (appx_env.home / ".bashrc").write_text("# mine\n")
    result = run_appx("ensurepath")
    assert result.code == 0, result
    assert "new shell" in result.stdout
    assert f"changed {appx_env.home / '.bashrc'}" in result.stdout
    assert not (appx_env.home / ".zshrc").exists(), "only the user's own shell is edited"
    assert str(appx_env.bin_dir) in (appx_env.home / ".bashrc").read_text()
    assert (appx_env.home / ".bashrc").read_text().startswith("# mine\n")
    again = run_appx("ensurepath")
    assert again.code == 0, again
    assert "already" in again.stdout


def test_version_and_help(run_appx: RunAppx) -> None:
    assert run_appx("--version").stdout.strip() == f"appx {__version__}"
    helped = run_appx("--help")
    assert helped.code == 0
    assert "appx install black" in helped.stdout
    install_help = run_appx("install", "--help").stdout
    for option in ("--python", "--force", "--suffix", "--include-deps", "--index-url"):
        assert option in install_help
    assert "Examples:" in install_help


def test_usage_errors_exit_2(run_appx: RunAppx) -> None:
    missing = run_appx("install")
    assert missing.code == 2, missing
    assert "error: Missing argument 'SPEC'" in missing.stderr
    unknown = run_appx("frobnicate")
    assert unknown.code == 2, unknown
    assert "error: No such command 'frobnicate'" in unknown.stderr
    assert "run 'appx --help' to see the commands" in unknown.stderr
    bogus = run_appx("install", "--bogus", "x")
    assert bogus.code == 2, bogus
    assert bogus.stderr.splitlines() == [
        "error: No such option: --bogus",
        "  hint: run 'appx install --help' to see its options",
    ]
    assert bogus.stdout == ""


def test_quiet_prints_only_errors(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    result = run_appx("--quiet", "install", "cowsay-lite")
    assert result.code == 0, result
    assert result.stdout == ""
    assert result.stderr == ""  # not even the PATH warning
    failed = run_appx("-q", "install", "./nowhere")
    assert failed.code == 3
    assert "error: no such file or directory: ./nowhere" in failed.stderr


def test_verbose_shows_steps_and_the_traceback_of_an_error(
    run_appx: RunAppx, index: IndexServer
) -> None:
    result = run_appx("--verbose", "install", "cowsay-lite")
    assert result.code == 0, result
    assert "Installing cowsay-lite..." in result.stderr
    failed = run_appx("--verbose", "install", "./nowhere")
    assert failed.code == 3
    assert "Traceback" in failed.stderr
    assert "Traceback" not in run_appx("install", "./nowhere").stderr


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    block = re.search(r"<!-- tests -->\s*```sh\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert block is not None
    ci_script = (README.parent / ".ci" / "run").read_text().splitlines()
    assert block.group(1).strip() in ci_script


def test_uninstall_all_clears_an_interrupted_first_install(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_appx("install", "cowsay-lite").code == 0
    monkeypatch.setenv("APPX_FAULT_AT", "after-venv")
    assert run_appx("install", "gui-app").code == -9
    monkeypatch.delenv("APPX_FAULT_AT")
    assert dir_entries(appx_env.appx_home / "venvs") == {"cowsay-lite", "gui-app"}
    result = run_appx("uninstall-all")
    assert result.code == 0, result
    assert "uninstalled cowsay-lite" in result.stdout
    assert dir_entries(appx_env.appx_home / "venvs") == set()


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def document(self) -> dict[str, Any]:
        """The one JSON document on stdout (json.loads fails on anything more)."""
        data = json.loads(self.stdout)
        assert isinstance(data, dict)
        return data


def in_process(*argv: str) -> Ran:
    """Run ``appx ARGV`` through cli.run in this process, with a Console on StringIO."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), Console(out=out, err=err))
    return Ran(code, out.getvalue(), err.getvalue())


def test_an_unknown_option_is_a_usage_error_printed_by_appx() -> None:
    ran = in_process("install", "--bogus", "x")
    assert ran.code == 2
    assert "error: No such option: --bogus" in ran.stderr
    assert "appx install --help" in ran.stderr
    assert ran.stdout == ""


def test_a_usage_error_with_json_prints_the_error_document() -> None:
    ran = in_process("install", "--json", "--bogus", "x")
    assert ran.code == 2
    error = ran.document()["error"]
    assert error["kind"] == "usage"
    assert error["exit_code"] == 2
    assert error["message"] == "No such option: --bogus"
    assert "appx install --help" in error["hint"]
    missing = in_process("list", "--json", "extra")
    assert missing.code == 2
    assert missing.document()["error"]["kind"] == "usage"


def test_json_after_a_double_dash_is_not_an_option() -> None:
    ran = in_process("install", "--bogus", "--", "--json")
    assert ran.code == 2
    assert ran.stdout == ""


def test_unbalanced_pip_args_are_a_usage_error() -> None:
    ran = in_process("install", "--pip-args", "'unbalanced", "x")
    assert ran.code == 2, ran
    assert "error: --pip-args: no closing quotation" in ran.stderr
    assert "unexpected" not in ran.stderr
    with_json = in_process("install", "--json", "--pip-args", "'unbalanced", "x")
    assert with_json.code == 2
    assert with_json.document()["error"]["kind"] == "usage"


def test_a_bad_suffix_with_json_prints_install_document_with_its_error() -> None:
    ran = in_process("install", "--json", "--suffix=/x", "x")
    assert ran.code == 3
    assert ran.document() == {
        "schema": 1,
        "results": [],
        "error": {
            "kind": "invalid-spec",
            "message": "invalid suffix: '/x'",
            "hint": ran.document()["error"]["hint"],
            "exit_code": 3,
            "log": None,
        },
    }


def test_a_missing_python_with_json_prints_the_error_document() -> None:
    ran = in_process("install", "--json", "--python", "9.99", "x")
    assert ran.code == 7
    assert ran.document()["error"]["kind"] == "python-not-found"
    assert ran.document()["error"]["exit_code"] == 7


def test_list_json_with_an_unusable_home_prints_the_error_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPX_HOME", "relative/home")
    ran = in_process("list", "--json")
    assert ran.code == 11
    assert ran.document()["error"]["kind"] == "unusable-environment"
    assert "APPX_HOME must be an absolute path" in ran.stderr


def test_an_internal_error_is_exit_1_and_json_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(appx.listing, "list_apps", broken)
    ran = in_process("list")
    assert ran.code == 1
    assert "error: unexpected RuntimeError: boom" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert "Traceback" in in_process("--verbose", "list").stderr
    with_json = in_process("list", "--json")
    assert with_json.code == 1
    assert with_json.document()["error"]["kind"] == "internal"


def test_a_directory_appx_may_not_write_is_exit_11_wherever_it_is_met(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*args: object) -> None:
        raise PermissionError(13, "Permission denied", "/somewhere/appx")

    monkeypatch.setattr(appx.listing, "list_apps", refused)
    ran = in_process("list", "--json")
    assert ran.code == 11
    assert ran.document()["error"]["kind"] == "unusable-environment"
    assert "/somewhere/appx" in ran.document()["error"]["message"]


def test_ctrl_c_is_exit_130_and_json_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(appx.listing, "list_apps", interrupted)
    ran = in_process("list")
    assert ran.code == 130
    assert "interrupted" in ran.stderr
    with_json = in_process("list", "--json")
    assert with_json.code == 130
    assert with_json.document()["error"] == {
        "kind": "interrupted",
        "message": "interrupted",
        "hint": "the change in progress was discarded",
        "exit_code": 130,
        "log": None,
    }


def test_an_abort_from_the_parser_is_an_interruption(monkeypatch: pytest.MonkeyPatch) -> None:
    def aborted(*args: object) -> None:
        raise typer.Abort

    monkeypatch.setattr(appx.listing, "list_apps", aborted)
    assert in_process("list").code == 130


def test_help_exits_0_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert in_process("list", "--help").code == 0
    assert "--short" in capsys.readouterr().out


def test_quiet_version_and_environment_still_print(appx_env: Env) -> None:
    assert in_process("-q", "--version").stdout == f"appx {__version__}\n"
    environment = in_process("-q", "environment")
    assert environment.code == 0
    assert f"APPX_HOME            {appx_env.appx_home}  (environment)" in environment.stdout
    assert in_process("-q", "list").stdout == "no apps are installed\n"


def test_quiet_list_prints_the_apps(run_appx: RunAppx, index: IndexServer) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    listed = run_appx("-q", "list")
    assert listed.code == 0, listed
    assert "cowsay-lite 1.0" in listed.stdout
    assert "commands: cowsay-lite" in listed.stdout
    assert run_appx("-q", "list", "--short").stdout == "cowsay-lite 1.0\n"
    assert json_of(run_appx("-q", "list", "--json"))["apps"][0]["app"] == "cowsay-lite"


def test_install_json_with_a_failed_spec_is_one_document(
    run_appx: RunAppx, index: IndexServer
) -> None:
    result = run_appx("install", "--json", "cowsay-lite", "no-commands")
    assert result.code == 10, result
    data = json.loads(result.stdout)
    assert [r["status"] for r in data["results"]] == ["installed", "failed"]
    assert data["results"][1]["error"]["kind"] == "no-commands"
    assert data["error"]["kind"] == "partial-failure"
    assert data["error"]["exit_code"] == 10
