"""The fixtures build real things: pip installs the wheels, projects and index they make."""

from __future__ import annotations

import configparser
import email.parser
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import factories
from factories import Env, IndexServer, ProcResult

if TYPE_CHECKING:
    from factories import ProjectFactory, WheelFactory

MAN_PAGE = ".TH DEMO 1\n.SH NAME\ndemo \\- a demo\n"


@pytest.fixture(scope="module")
def pip_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv with pip for this module's installs; each test installs its own names."""
    root = tmp_path_factory.mktemp("pip-venv")
    root.joinpath("home").mkdir()
    env = factories.hermetic_environ(os.environ, Env.under(root))
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", venv], env=env, check=True, capture_output=True, timeout=120
    )
    return venv


def pip(venv: Path, *args: str | Path) -> ProcResult:
    result = factories.run([venv / "bin" / "python", "-m", "pip", *args], timeout=120)
    assert result.code == 0, result
    return result


def command(venv: Path, name: str, *args: str) -> str:
    result = factories.run([venv / "bin" / name, *args], timeout=60)
    assert result.code == 0, result
    return result.stdout


# --- the hermetic environment -------------------------------------------------------------------


def test_hermetic_env_hides_shell_settings_and_real_home(appx_env: Env) -> None:
    assert "PIP_FIND_LINKS" not in os.environ
    assert {key for key in os.environ if key.startswith(("PIP_", "UV_"))} == {
        "PIP_CONFIG_FILE",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_NO_INPUT",
        "UV_NO_CONFIG",
    }
    assert Path.home() == appx_env.home
    assert Path(os.environ["APPX_HOME"]) == appx_env.appx_home == appx_env.tmp / "appx-home"
    assert Path(os.environ["APPX_BIN_DIR"]) == appx_env.bin_dir
    assert Path(os.environ["XDG_CACHE_HOME"]).is_relative_to(appx_env.home)
    assert not any(os.environ.get(var) for var in ("VIRTUAL_ENV", "PYTHONPATH"))
    assert "APPX_DEFAULT_PYTHON" not in os.environ


def test_pip_sees_no_config_file_in_the_hermetic_env() -> None:
    result = factories.run([sys.executable, "-m", "pip", "config", "list"])
    assert result.code == 0, result
    # Only the variables the fixture sets: nothing from /etc/xdg/pip, ~/.config/pip or the venv.
    assert all(line.startswith(":env:.") for line in result.stdout.splitlines()), result
    assert "find-links" not in result.stdout
    assert "index-url" not in result.stdout


def test_hermetic_environ_keeps_or_finds_pyenv(tmp_path: Path) -> None:
    env = Env.under(tmp_path / "t")
    real_home = tmp_path / "real-home"
    (real_home / ".pyenv").mkdir(parents=True)
    base = {"HOME": str(real_home), "PIP_INDEX_URL": "http://x", "UV_INDEX": "y", "PATH": "/bin"}

    found = factories.hermetic_environ(base, env)
    kept = factories.hermetic_environ({**base, "PYENV_ROOT": "/opt/pyenv"}, env)
    absent = factories.hermetic_environ({"HOME": str(tmp_path)}, env)

    assert found["PYENV_ROOT"] == str(real_home / ".pyenv")
    assert found["HOME"] == str(env.home)
    assert found["PATH"] == "/bin"
    assert "PIP_INDEX_URL" not in found
    assert "UV_INDEX" not in found
    assert kept["PYENV_ROOT"] == "/opt/pyenv"
    assert "PYENV_ROOT" not in absent


def test_run_appx_result_repr_shows_code_and_output(run_appx: factories.RunAppx) -> None:
    result = run_appx("--version")  # whatever the CLI does today, the fixture must report it
    assert list(result.args[:-1]) == factories.appx_command()
    assert f"code={result.code}" in repr(result)
    assert result.stderr in repr(result)


def test_child_processes_get_the_hermetic_env_and_no_stdin(appx_env: Env) -> None:
    script = "import os, sys, json; print(json.dumps([dict(os.environ), sys.stdin.read()]))"
    result = factories.run([sys.executable, "-c", script], cwd=appx_env.tmp)

    environ, stdin = json.loads(result.stdout)
    assert environ["APPX_HOME"] == str(appx_env.appx_home)
    assert environ["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_FIND_LINKS" not in environ
    assert stdin == ""


# --- wheels -------------------------------------------------------------------------------------


def test_wheel_is_named_per_spec_and_its_record_verifies(tmp_path: Path) -> None:
    wheel = factories.build_wheel(
        tmp_path,
        "Demo.Tool-x",
        "1.0",
        console_scripts={"demo": "demo_tool_x:main"},
        gui_scripts={"demo-gui": "demo_tool_x:main"},
        scripts={"demo-sh": "#!/bin/sh\necho hi\n"},
        man_pages={"man1/demo.1": MAN_PAGE},
        dependencies=["dep-lib>=1"],
        extras={"cow": ["cowsay-lite"]},
        requires_python=">=3.9",
    )

    assert wheel.name == "demo_tool_x-1.0-py3-none-any.whl"
    hashes = factories.check_wheel(wheel)
    info = "demo_tool_x-1.0.dist-info"
    assert hashes[f"{info}/RECORD"] == ""
    assert hashes["demo_tool_x-1.0.data/data/share/man/man1/demo.1"].startswith("sha256=")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.namelist()[-1] == f"{info}/RECORD"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        wheel_file = email.parser.Parser().parsestr(archive.read(f"{info}/WHEEL").decode())
        entry_points = configparser.ConfigParser(delimiters=("=",))
        entry_points.read_string(archive.read(f"{info}/entry_points.txt").decode())
        script = archive.getinfo("demo_tool_x-1.0.data/scripts/demo-sh")
    assert metadata["Metadata-Version"] == "2.1"
    assert (metadata["Name"], metadata["Version"]) == ("Demo.Tool-x", "1.0")
    assert metadata.get_all("Requires-Dist") == ["dep-lib>=1", 'cowsay-lite; extra == "cow"']
    assert metadata["Requires-Python"] == ">=3.9"
    assert wheel_file["Wheel-Version"] == "1.0"
    assert wheel_file["Root-Is-Purelib"] == "true"
    assert wheel_file["Tag"] == "py3-none-any"
    assert dict(entry_points["console_scripts"]) == {"demo": "demo_tool_x:main"}
    assert dict(entry_points["gui_scripts"]) == {"demo-gui": "demo_tool_x:main"}
    assert script.external_attr >> 16 == 0o100755


def test_check_wheel_catches_a_file_that_does_not_match_record(tmp_path: Path) -> None:
    wheel = factories.build_wheel(tmp_path / "good", "tampered")
    bad = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(bad, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            target.writestr(member, b"evil = 1\n" if member.filename.endswith(".py") else data)

    with pytest.raises(ValueError, match=r"tampered/__init__\.py"):
        factories.check_wheel(bad)


def test_metadata_name_can_differ_from_the_file_name(tmp_path: Path) -> None:
    wheel = factories.build_wheel(tmp_path, "innocent", metadata_name="pip")

    assert wheel.name == "innocent-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("innocent-1.0.dist-info/METADATA").decode()
    assert "Name: pip\n" in metadata
    factories.check_wheel(wheel)


def test_wheel_installs_with_pip_and_its_commands_run(
    pip_venv: Path, wheel_factory: WheelFactory
) -> None:
    wheel_factory("demo-lib", console_scripts={"demo-lib-tool": factories.main_entry("demo-lib")})
    wheel = wheel_factory(
        "demo-wheel",
        "3.1",
        console_scripts={"demo-wheel": factories.main_entry("demo-wheel")},
        gui_scripts={"demo-wheel-gui": factories.main_entry("demo-wheel")},
        scripts={"demo-wheel-script": "#!python\nprint('plain script ran')\n"},
        man_pages={"man1/demo-wheel.1": MAN_PAGE},
        dependencies=["demo-lib"],
    )

    pip(pip_venv, "install", "--no-index", "--find-links", wheel.parent, "demo-wheel")

    assert command(pip_venv, "demo-wheel", "a", "b") == "demo-wheel 3.1 a b\n"
    assert command(pip_venv, "demo-wheel-gui") == "demo-wheel 3.1\n"
    assert command(pip_venv, "demo-wheel-script") == "plain script ran\n"
    assert command(pip_venv, "demo-lib-tool") == "demo-lib 1.0\n"
    assert (pip_venv / "share" / "man" / "man1" / "demo-wheel.1").read_text() == MAN_PAGE


# --- local projects -----------------------------------------------------------------------------


def _pythons() -> list[Path]:
    versions = Path(os.environ.get("PYENV_ROOT", "/nonexistent")) / "versions"
    found = [next(versions.glob(f"3.{minor}.*/bin/python3"), None) for minor in range(9, 14)]
    return [python for python in found if python] or [Path(sys.executable)]


@pytest.mark.parametrize("python", _pythons(), ids=lambda python: python.parent.parent.name)
def test_backend_builds_wheel_sdist_and_editable_under_each_python(
    python: Path, project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = project_factory(
        "Built.App",
        "2.0",
        console_scripts={"built-app": factories.main_entry("Built.App")},
        scripts={"built-script": "#!python\nprint(1)\n"},
        man_pages={"man1/built-app.1": MAN_PAGE},
        dependencies=["dep-lib"],
    )
    out = tmp_path / "out"

    wheel = factories.run_backend_hook(project, "build_wheel", out, python=python)
    editable = factories.run_backend_hook(project, "build_editable", out / "e", python=python)
    sdist = factories.run_backend_hook(project, "build_sdist", out, python=python)
    metadata = factories.run_backend_hook(
        project, "prepare_metadata_for_build_wheel", out / "meta", python=python
    )

    assert wheel.name == "built_app-2.0-py3-none-any.whl"
    assert "built_app/__init__.py" in factories.check_wheel(wheel)
    assert "built_app-2.0.data/data/share/man/man1/built-app.1" in factories.check_wheel(wheel)
    assert editable.name == wheel.name
    with zipfile.ZipFile(editable) as archive:
        assert archive.read("_appx_editable_built_app.pth").decode() == f"{project / 'src'}\n"
    factories.check_wheel(editable)
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert sdist.name == "built_app-2.0.tar.gz"
    assert {"built_app-2.0/PKG-INFO", "built_app-2.0/_backend/appx_test_backend.py"} <= {*names}
    assert "Requires-Dist: dep-lib" in (metadata / "METADATA").read_text()


def test_project_names_itself_statically_or_not_at_all(project_factory: ProjectFactory) -> None:
    static = project_factory("static-app", "1.5", console_scripts={"s": "static_app:main"})
    hidden = project_factory("hidden-app", static_name=False)

    static_toml = tomllib.loads((static / "pyproject.toml").read_text())
    hidden_toml = tomllib.loads((hidden / "pyproject.toml").read_text())
    assert static_toml["project"]["name"] == "static-app"
    assert static_toml["project"]["version"] == "1.5"
    assert static_toml["project"]["scripts"] == {"s": "static_app:main"}
    assert "dynamic" not in static_toml["project"]
    assert "project" not in hidden_toml
    assert (
        hidden_toml["build-system"]
        == static_toml["build-system"]
        == {
            "requires": [],
            "build-backend": "appx_test_backend",
            "backend-path": ["_backend"],
        }
    )
    assert "hidden" not in hidden.name


def test_project_dir_without_static_name_installs_offline(
    pip_venv: Path, project_factory: ProjectFactory
) -> None:
    project = project_factory(
        "dir-app",
        console_scripts={"dir-app": factories.main_entry("dir-app")},
        man_pages={"man1/dir-app.1": MAN_PAGE},
        static_name=False,
    )

    pip(pip_venv, "install", "--no-index", project)

    assert command(pip_venv, "dir-app", "x") == "dir-app 1.0 x\n"
    assert (pip_venv / "share" / "man" / "man1" / "dir-app.1").read_text() == MAN_PAGE


def test_project_sdist_installs_offline(
    pip_venv: Path, project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = project_factory("sdist-app", console_scripts={"sdist-app": "sdist_app:main"})

    sdist = factories.build_sdist(project, tmp_path / "dist")
    pip(pip_venv, "install", "--no-index", sdist)

    assert sdist.name == "sdist_app-1.0.tar.gz"
    assert command(pip_venv, "sdist-app") == "sdist-app 1.0\n"


def test_editable_install_runs_the_edited_source(
    pip_venv: Path, project_factory: ProjectFactory
) -> None:
    project = project_factory("edit-app", console_scripts={"edit-app": "edit_app:main"})

    pip(pip_venv, "install", "--no-index", "--editable", project)
    before = command(pip_venv, "edit-app")
    (project / "src" / "edit_app" / "__init__.py").write_text("def main():\n    print('edited')\n")

    assert before == "edit-app 1.0\n"
    assert command(pip_venv, "edit-app") == "edited\n"


def test_git_repo_url_installs_offline(pip_venv: Path, project_factory: ProjectFactory) -> None:
    project = project_factory("git-app", console_scripts={"git-app": "git_app:main"})

    url = factories.make_git_repo(project)
    pip(pip_venv, "install", "--no-index", url)

    assert url == f"git+file://{project}"
    assert command(pip_venv, "git-app") == "git-app 1.0\n"


# --- the local index ----------------------------------------------------------------------------


def test_index_lists_the_whole_catalogue(index_server: IndexServer) -> None:
    with urllib.request.urlopen(index_server.url, timeout=10) as response:  # noqa: S310 (http to 127.0.0.1)
        page = response.read().decode()

    assert index_server.url.startswith("http://127.0.0.1:")
    for name, _version in factories.CATALOGUE:
        assert f">{name}<" in page


def test_pip_downloads_a_pinned_version_from_the_index(
    index_server: IndexServer, pip_venv: Path, tmp_path: Path
) -> None:
    pip(pip_venv, "download", "--no-deps", "--index-url", index_server.url, "-d", tmp_path,
        "cowsay-lite==2.0")  # fmt: skip

    assert [path.name for path in tmp_path.glob("*.whl")] == ["cowsay_lite-2.0-py3-none-any.whl"]


def test_pip_installs_an_app_and_its_dependency_from_the_index(
    index_server: IndexServer, pip_venv: Path
) -> None:
    pip(pip_venv, "install", "--index-url", index_server.url, "app-with-dep")

    assert command(pip_venv, "app-with-dep", "hi") == "app-with-dep 1.0 hi\n"
    assert command(pip_venv, "dep-tool") == "dep-lib 1.0\n"


def test_added_wheel_is_served_at_once(
    index_server: IndexServer, pip_venv: Path, tmp_path: Path
) -> None:
    name = "added-late"
    download: list[str | Path] = [
        "download",
        "--no-deps",
        "--index-url",
        index_server.url,
        "-d",
        tmp_path,
        name,
    ]
    missing = factories.run([pip_venv / "bin" / "python", "-m", "pip", *download])

    index_server.add_wheel(name, "1.0", console_scripts={name: factories.main_entry(name)})
    pip(pip_venv, *download)
    index_server.add_wheel(name, "1.0", console_scripts={name: factories.main_entry(name)})

    assert missing.code != 0, missing
    assert (tmp_path / "added_late-1.0-py3-none-any.whl").is_file()
    with pytest.raises(FileExistsError):
        index_server.add_wheel(name, "1.0", dependencies=["dep-lib"])
