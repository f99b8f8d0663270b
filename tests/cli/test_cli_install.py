"""`appx install` end to end: every kind of spec, the options, and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appx.receipt import load_receipt
from appx_checks import (
    current_generation,
    dir_entries,
    json_of,
    output_of,
    purelib_dists,
    receipt_of,
)
from factories import (
    Env,
    IndexServer,
    ProjectFactory,
    RunAppx,
    WheelFactory,
    build_sdist,
    make_git_repo,
)


def test_install_exposes_only_the_apps_own_commands(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "app-with-dep")
    assert result.code == 0, result
    assert "installed app-with-dep 1.0" in result.stdout
    assert dir_entries(appx_env.bin_dir) == {"app-with-dep"}
    assert output_of(appx_env.bin_dir / "app-with-dep", "hi") == "app-with-dep 1.0 hi"
    # the dependency is there, but neither its command nor pip is exposed or installed
    assert purelib_dists(appx_env, "app-with-dep") == {"app-with-dep", "dep-lib"}
    generation = current_generation(appx_env, "app-with-dep")
    assert not (generation / "bin" / "pip").exists()
    # the script's shebang names its own generation's python, never a path through `current`
    shebang = (generation / "bin" / "app-with-dep").read_text().splitlines()[0]
    assert shebang == f"#!{generation / 'bin' / 'python'}"


def test_include_deps_exposes_dependency_commands(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "--include-deps", "app-with-dep")
    assert result.code == 0, result
    assert dir_entries(appx_env.bin_dir) == {"app-with-dep", "dep-tool"}
    assert output_of(appx_env.bin_dir / "dep-tool") == "dep-lib 1.0"


def test_gui_and_plain_scripts_are_commands(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "gui-app", "script-app").code == 0
    assert output_of(appx_env.bin_dir / "gui-app") == "gui-app 1.0"
    assert output_of(appx_env.bin_dir / "script-app") == "script-app 1.0"
    kinds = {c["name"]: c["kind"] for c in receipt_of(appx_env, "gui-app")["commands"]}
    assert kinds == {"gui-app": "gui"}


def test_already_installed_exits_zero_and_says_what_differs(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "cowsay-lite==1.0").code == 0
    again = run_appx("install", "cowsay-lite==1.0")
    assert again.code == 0, again
    assert "already installed" in again.stdout
    assert "note:" not in again.stdout
    different = run_appx("install", "cowsay-lite")
    assert different.code == 0, different
    assert "installed from 'cowsay-lite==1.0', requested 'cowsay-lite'" in different.stdout
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"


def test_force_builds_a_new_generation_and_keeps_the_previous(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    first = current_generation(appx_env, "multi-cmd")
    result = run_appx("install", "--force", "multi-cmd==2.0")
    assert result.code == 0, result
    assert "reinstalled multi-cmd 2.0" in result.stdout
    app_dir = appx_env.appx_home / "venvs" / "multi-cmd"
    assert (app_dir / "previous").resolve() == first
    assert current_generation(appx_env, "multi-cmd") != first
    # the command 2.0 dropped is gone, the one it added is there, the kept one runs 2.0
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-c"}
    assert output_of(appx_env.bin_dir / "multi-a") == "multi-cmd 2.0"


def test_local_project_directory_with_static_name(
    run_appx: RunAppx, project_factory: ProjectFactory, appx_env: Env
) -> None:
    project = project_factory("local-tool", console_scripts={"local-tool": "local_tool:main"})
    result = run_appx("install", str(project))
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "local-tool") == "local-tool 1.0"
    assert receipt_of(appx_env, "local-tool")["spec_kind"] == "directory"


def test_local_project_whose_name_must_be_resolved(
    run_appx: RunAppx,
    project_factory: ProjectFactory,
    appx_env: Env,
    backend: str,
) -> None:
    project = project_factory(
        "hidden-name", console_scripts={"hidden-name": "hidden_name:main"}, static_name=False
    )
    result = run_appx("install", ".", cwd=project)
    assert result.code == 0, result
    assert "installed hidden-name 1.0" in result.stdout
    assert output_of(appx_env.bin_dir / "hidden-name") == "hidden-name 1.0"


def test_wheel_and_sdist_files(
    run_appx: RunAppx,
    wheel_factory: WheelFactory,
    project_factory: ProjectFactory,
    appx_env: Env,
    tmp_path: Path,
) -> None:
    wheel = wheel_factory("wheel-tool", "3.1", console_scripts={"wheel-tool": "wheel_tool:main"})
    project = project_factory(
        "sdist-tool", "0.5", console_scripts={"sdist-tool": "sdist_tool:main"}
    )
    sdist = build_sdist(project, tmp_path / "sdists")
    result = run_appx("install", str(wheel), str(sdist))
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "wheel-tool") == "wheel-tool 3.1"
    assert output_of(appx_env.bin_dir / "sdist-tool") == "sdist-tool 0.5"
    assert receipt_of(appx_env, "sdist-tool")["spec_kind"] == "sdist"


def test_vcs_url(run_appx: RunAppx, project_factory: ProjectFactory, appx_env: Env) -> None:
    project = project_factory("git-tool", console_scripts={"git-tool": "git_tool:main"})
    url = make_git_repo(project)
    result = run_appx("install", url)
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "git-tool") == "git-tool 1.0"
    assert receipt_of(appx_env, "git-tool")["spec"] == url


def test_editable_install_follows_the_source(
    run_appx: RunAppx, project_factory: ProjectFactory, appx_env: Env
) -> None:
    project = project_factory("edit-tool", console_scripts={"edit-tool": "edit_tool:main"})
    result = run_appx("install", "--editable", str(project))
    assert result.code == 0, result
    assert output_of(appx_env.bin_dir / "edit-tool") == "edit-tool 1.0"
    source = next(project.rglob("edit_tool/__init__.py"))
    source.write_text("def main() -> None:\n    print('edited')\n")
    assert output_of(appx_env.bin_dir / "edit-tool") == "edited"
    assert receipt_of(appx_env, "edit-tool")["editable"] is True


def test_package_without_commands_is_refused_and_leaves_nothing(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "no-commands")
    assert result.code == 8, result
    assert "no-commands provides no commands" in result.stderr
    assert dir_entries(appx_env.appx_home / "venvs") == set()
    assert dir_entries(appx_env.bin_dir) == set()
    assert "no apps are installed" in run_appx("list").stdout


def test_no_commands_hint_names_the_dependencies_commands(
    run_appx: RunAppx, index: IndexServer
) -> None:
    index.add_wheel("wraps-dep-lib", dependencies=["dep-lib"])
    result = run_appx("install", "wraps-dep-lib")
    assert result.code == 8, result
    assert "dep-tool" in result.stderr
    assert "--include-deps" in result.stderr


def test_unknown_package_fails_with_the_log_path(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "does-not-exist-anywhere")
    assert result.code == 6, result
    assert "Traceback" not in result.stderr
    log_line = next(line for line in result.stderr.splitlines() if "log:" in line)
    log = Path(log_line.split("log:", 1)[1].strip())
    assert "does-not-exist-anywhere" in log.read_text()
    assert dir_entries(appx_env.appx_home / "venvs") == set()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["install", "!!not-a-spec"], 3, "not a valid requirement"),
        (["install", "./missing-dir"], 3, "no such file or directory: ./missing-dir"),
        (["install", "--suffix", "a/b", "cowsay-lite"], 3, "invalid suffix"),
        (["install", "--editable", "cowsay-lite"], 3, "--editable needs a local project"),
        (["install", "--python", "/no/such/python", "cowsay-lite"], 7, "/no/such/python"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    run_appx: RunAppx, appx_env: Env, args: list[str], code: int, message: str
) -> None:
    result = run_appx(*args)
    assert result.code == code, result
    assert message in result.stderr
    assert "hint:" in result.stderr
    assert dir_entries(appx_env.bin_dir) == set()
    assert dir_entries(appx_env.appx_home / "venvs") == set()


def test_several_specs_install_independently_and_name_the_failure(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    result = run_appx("install", "cowsay-lite", "no-such-package-xyz", "gui-app")
    assert result.code == 10, result
    assert "1 of 3 failed: no-such-package-xyz" in result.stderr
    assert dir_entries(appx_env.bin_dir) == {"cowsay-lite", "gui-app"}


def test_suffixed_installs_with_man_pages_then_uninstall_one(
    run_appx: RunAppx,
    index: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    assert run_appx("install", "tool-with-man").code == 0
    result = run_appx("install", "tool-with-man", "--suffix=-b")
    assert result.code == 0, result
    man1 = appx_env.man_dir / "man1"
    assert dir_entries(man1) == {"tool-with-man.1", "tool-with-man-b.1"}
    assert (man1 / "tool-with-man-b.1").read_text().startswith(".TH TOOL-WITH-MAN")
    assert dir_entries(appx_env.bin_dir) == {"tool-with-man", "tool-with-man-b"}
    assert output_of(appx_env.bin_dir / "tool-with-man-b") == "tool-with-man 1.0"

    removed = run_appx("uninstall", "tool-with-man+-b")
    assert removed.code == 0, removed
    assert dir_entries(man1) == {"tool-with-man.1"}
    assert dir_entries(appx_env.bin_dir) == {"tool-with-man"}
    assert output_of(appx_env.bin_dir / "tool-with-man") == "tool-with-man 1.0"


def test_index_url_credentials_are_never_shown_or_stored(
    run_appx: RunAppx, index_server: IndexServer, appx_env: Env
) -> None:
    url = index_server.url.replace("http://", "http://alice:s3cret-token@")
    result = run_appx("--verbose", "install", "--index-url", url, "cowsay-lite")
    assert result.code == 0, result
    assert "s3cret-token" not in result.stdout + result.stderr
    receipt = receipt_of(appx_env, "cowsay-lite")
    assert receipt["index"]["index_url"] == index_server.url.replace(
        "http://", "http://alice:****@"
    )
    logs = list((appx_env.appx_home / "logs").iterdir())
    assert logs, "--verbose keeps the installer's log"
    for log in logs:
        assert "s3cret-token" not in log.read_text()
    assert (
        oct((current_generation(appx_env, "cowsay-lite") / "appx-receipt.json").stat().st_mode)[-3:]
        == "600"
    )


def test_pip_args_reach_pip(run_appx: RunAppx, index: IndexServer, appx_env: Env) -> None:
    result = run_appx("install", "--pip-args=--no-deps", "app-with-dep")
    assert result.code == 0, result
    assert purelib_dists(appx_env, "app-with-dep") == {"app-with-dep"}
    assert receipt_of(appx_env, "app-with-dep")["index"]["pip_args"] == ["--no-deps"]


def test_index_options_reach_the_installer_and_are_recorded(
    run_appx: RunAppx,
    wheel_factory: WheelFactory,
    index_server: IndexServer,
    appx_env: Env,
    backend: str,
) -> None:
    for version in ("1.0", "2.0rc1"):
        wheel_factory("pre-tool", version, console_scripts={"pre-tool": "pre_tool:main"})
    wheels = appx_env.tmp / "wheels"
    stable = run_appx(
        "install", "--no-index", "--find-links", "wheels", "pre-tool", cwd=appx_env.tmp
    )
    assert stable.code == 0, stable
    assert output_of(appx_env.bin_dir / "pre-tool") == "pre-tool 1.0"
    index = receipt_of(appx_env, "pre-tool")["index"]
    assert (index["no_index"], index["find_links"], index["pre"]) == (True, [str(wheels)], False)

    extra = index_server.url.replace("http://", "http://ghp_EXTRATOKEN@")
    args = ["--find-links", str(wheels), "--pre", "--extra-index-url", extra]
    pre = run_appx("install", "--force", *args, "--trusted-host", "127.0.0.1", "pre-tool")
    assert pre.code == 0, pre
    assert output_of(appx_env.bin_dir / "pre-tool") == "pre-tool 2.0rc1"
    index = receipt_of(appx_env, "pre-tool")["index"]
    assert index["pre"] is True
    assert index["trusted_hosts"] == ["127.0.0.1"]
    assert index["extra_index_urls"] == [index_server.url.replace("http://", "http://****@")]
    assert "ghp_EXTRATOKEN" not in pre.stdout + pre.stderr


def test_user_variables_never_redirect_the_install(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = appx_env.tmp / "elsewhere"
    monkeypatch.setenv("PIP_TARGET", str(target))
    monkeypatch.setenv("PIP_USER", "1")
    monkeypatch.setenv("PIP_PREFIX", str(target))
    monkeypatch.setenv("PYTHONPATH", str(target))
    monkeypatch.setenv("VIRTUAL_ENV", str(target))
    result = run_appx("install", "cowsay-lite")
    assert result.code == 0, result
    assert not target.exists()
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 2.0"


def test_unsafe_command_names_are_refused_with_a_warning(
    run_appx: RunAppx, wheel_factory: WheelFactory, appx_env: Env
) -> None:
    wheel = wheel_factory(
        "odd-names", console_scripts={"odd-names": "odd_names:main", "-rf": "odd_names:main"}
    )
    result = run_appx("install", str(wheel))
    assert result.code == 0, result
    assert "-rf" in result.stderr
    assert dir_entries(appx_env.bin_dir) == {"odd-names"}


def test_json_output(run_appx: RunAppx, index: IndexServer) -> None:
    data = json_of(run_appx("install", "--json", "cowsay-lite==1.0"))
    assert data["schema"] == 1
    (entry,) = data["results"]
    assert entry["status"] == "installed"
    assert entry["version"] == "1.0"
    assert entry["commands"] == ["cowsay-lite"]
    assert entry["error"] is None


def test_warns_when_bin_dir_is_not_on_path_and_when_shadowed(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_appx("install", "cowsay-lite==1.0")
    assert "is not on PATH" in result.stderr
    earlier = appx_env.tmp / "earlier"
    earlier.mkdir()
    (earlier / "gui-app").write_text("#!/bin/sh\n")
    (earlier / "gui-app").chmod(0o755)
    monkeypatch.setenv(
        "PATH", os.pathsep.join([str(earlier), str(appx_env.bin_dir), os.environ["PATH"]])
    )
    result = run_appx("install", "gui-app")
    assert result.code == 0, result
    assert f"gui-app is shadowed by {earlier / 'gui-app'}" in result.stderr
    assert "is not on PATH" not in result.stderr


def test_receipt_records_what_rebuilds_the_app(
    run_appx: RunAppx, index: IndexServer, appx_env: Env, backend: str
) -> None:
    assert run_appx("install", "app-with-dep").code == 0
    receipt = receipt_of(appx_env, "app-with-dep")
    assert receipt["distributions"] == {"app-with-dep": "1.0", "dep-lib": "1.0"}
    assert receipt["backend"] == backend
    assert receipt["python"]["version"].count(".") == 2
    assert Path(receipt["python"]["executable"]).exists()
    assert "/venvs/" not in receipt["python"]["executable"]
    # appx reads back what it wrote: the receipt loads, and `list` reports from it
    loaded = load_receipt(current_generation(appx_env, "app-with-dep"))
    assert loaded.distributions == receipt["distributions"]
    listed = json_of(run_appx("list", "--json"))["apps"][0]
    assert (listed["version"], listed["python"]) == ("1.0", receipt["python"]["version"])


def test_credentials_in_a_spec_url_are_not_shown_or_logged(
    run_appx: RunAppx, index_server: IndexServer, appx_env: Env
) -> None:
    base = index_server.url.removesuffix("simple/").replace("http://", "http://bob:t0ken-xyz@")
    url = f"{base}packages/cowsay_lite-1.0-py3-none-any.whl"
    result = run_appx("--verbose", "install", "--json", url)
    assert result.code == 0, result
    assert "t0ken-xyz" not in result.stdout + result.stderr
    assert json_of(result)["results"][0]["spec"] == url.replace("t0ken-xyz", "****")
    for log in (appx_env.appx_home / "logs").iterdir():
        assert "t0ken-xyz" not in log.read_text()
    assert output_of(appx_env.bin_dir / "cowsay-lite") == "cowsay-lite 1.0"
