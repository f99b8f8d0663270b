"""Tests for the pip backend: refused --pip-args, pip's config without location settings, hints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appx.backends.pip import _last_error_line, shorten
from appx.backends.pip_isolation import (
    _FLAG_OPTIONS,
    _SHORT_OPTIONS,
    _SHORT_VALUE_OPTIONS,
    _VALUE_OPTIONS,
    LOCATION_SETTINGS,
    REFUSED_OPTIONS,
    check_pip_args,
    config_settings,
    pip_environment,
)
from appx.errors import SpecError

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")

# ---------------------------------------------------------------- --pip-args (item 2)


@pytest.mark.parametrize(
    "args",
    [
        ["--target", "/x"],
        ["--target=/x"],
        ["--targ", "/x"],
        ["--ta=/x"],
        ["-t", "/x"],
        ["-t/x"],
        ["-qt", "/x"],
        ["-qt/x"],
        ["-vvqt", "/x"],
        ["--prefix=/x"],
        ["--prefi", "/x"],
        ["--root", "/x"],
        ["--user"],
        ["--us"],  # ambiguous, and may mean --user: pip would refuse it too
        ["--src", "/x"],
        ["--source-dir=/x"],
        ["--sou", "/x"],
        ["--python", "/usr/bin/python3"],
        ["--pytho=/usr/bin/python3"],  # ambiguous with --python-version, may mean --python
        ["--log", "/x.log"],
        ["--log-file=/x.log"],
        ["--local-log", "/x.log"],
        ["--report", "/x.json"],
        ["--rep=/x.json"],
        ["--dry-run"],
        ["--dr"],
        ["-e", "."],
        ["-e."],
        ["--editable=."],
        ["--edit", "."],
        ["-qe", "."],
        ["--pre", "pkg", "--target", "/x"],
        ["-i", "https://h/simple", "--target", "/x"],
        ["--no-deps", "-U", "-t", "/x"],
    ],
)
def test_pip_args_that_choose_where_pip_installs_are_refused(args: list[str]) -> None:
    with pytest.raises(SpecError, match="--pip-args may not contain") as info:
        check_pip_args(args)
    assert info.value.exit_code == 3
    assert info.value.hint


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--pre"],
        ["--no-deps", "--upgrade", "-qU"],
        ["--no-user"],
        ["--root-user-action", "ignore"],
        ["--root-user-action=ignore"],
        ["--python-version=3.12"],
        ["-i", "https://h/simple", "--extra-index-url=https://h2/simple"],
        ["-i", "-t"],  # -t is the index URL here, as optparse reads it
        ["-it"],  # -i with the value "t"
        ["-C", "--target=x"],  # a build-backend setting, not pip's --target
        ["--config-settings", "--prefix=x"],
        ["--cert", "/etc/ssl/cert.pem", "--proxy", "http://proxy:3128"],
        ["-f", "./wheels", "--no-index"],
        ["--", "--target"],  # after "--" everything is a requirement
        ["extra-package==1.0"],
    ],
)
def test_other_pip_args_are_accepted(args: list[str]) -> None:
    check_pip_args(args)


def test_a_refused_abbreviation_names_the_option_it_means() -> None:
    with pytest.raises(SpecError) as info:
        check_pip_args(["--targ", "/x"])
    assert "'--targ' (pip's --target)" in info.value.message
    assert "appx chooses where an app is installed" in info.value.message


def test_a_secret_in_a_refused_arg_is_not_shown() -> None:
    with pytest.raises(SpecError) as info:
        check_pip_args(["--report=https://tok@h/x"])
    assert "tok" not in info.value.message


def _pip_options(python: str, pip_path: str) -> list[tuple[list[str], list[str], str, bool]]:
    """Every option of ``pip install`` (short, long, dest, takes a value), asked of that pip."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from pip._internal.commands import create_command; "
        "p = create_command('install').parser; "
        "print(json.dumps([(o._short_opts, o._long_opts, o.dest, o.takes_value()) "
        "for o in p._get_all_options()]))"
    )
    done = subprocess.run(
        [python, "-I", "-c", code, pip_path], capture_output=True, text=True, check=True
    )
    return [tuple(item) for item in json.loads(done.stdout)]


def _own_pip() -> str:
    import pip

    return str(Path(pip.__file__).parent.parent)


def _pip_23_for_python_39(tmp_path: Path) -> tuple[str, str]:
    found = sorted((PYENV_ROOT / "versions").glob("3.9.*/lib/python3.9/ensurepip/_bundled"))
    wheels = sorted(found[-1].glob("pip-*.whl")) if found else []
    if not wheels:
        pytest.skip("no pyenv Python 3.9 with its ensurepip wheel on this machine")
    python = found[-1].parents[3] / "bin" / "python3.9"
    return str(python), str(wheels[-1])  # a wheel is importable as a zip


@pytest.mark.parametrize("which", ["own", "python3.9"])
def test_the_option_table_matches_pip(tmp_path: Path, which: str) -> None:
    """If pip adds or changes an option, this says what the tables must learn."""
    python, pip_path = (
        (sys.executable, _own_pip()) if which == "own" else _pip_23_for_python_39(tmp_path)
    )
    refused_dests = set()
    for shorts, longs, dest, takes_value in _pip_options(python, pip_path):
        for long in longs:
            name = long.removeprefix("--")
            assert name in (_VALUE_OPTIONS if takes_value else _FLAG_OPTIONS), long
            if name in REFUSED_OPTIONS:
                refused_dests.add(dest)
        for short in shorts:
            char = short.removeprefix("-")
            assert (char in _SHORT_VALUE_OPTIONS) == takes_value, short
    # every spelling of a refused option is refused, and every setting of it is dropped
    for shorts, longs, dest, _ in _pip_options(python, pip_path):
        if dest in refused_dests and dest != "use_user_site":
            assert {long.removeprefix("--") for long in longs} <= set(REFUSED_OPTIONS), longs
            assert {s.removeprefix("-") for s in shorts} <= set(_SHORT_OPTIONS), shorts
        if dest in refused_dests:
            assert {long.removeprefix("--") for long in longs} <= LOCATION_SETTINGS, longs


# ---------------------------------------------------------------- pip's config (item 2)


def _config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pip.conf"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(path))
    return path


CONFIG = """\
[global]
index-url = https://config.example/simple
target = /tmp/never-global
cert = /etc/ssl/config.pem
proxy = http://proxy.example:3128
timeout = 5
no_user = true
[install]
Prefix = /tmp/never-prefix
root = /tmp/never-root
user = true
src = /tmp/never-src
python = /usr/bin/python3
log-file = /tmp/never.log
report = /tmp/never.json
dry-run = true
editable = .
trusted-host = config.example
"""


def test_config_settings_keep_index_cert_and_proxy_but_not_where_pip_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, CONFIG, monkeypatch)
    settings = config_settings(os.environ)
    assert settings["index-url"] == "https://config.example/simple"
    assert settings["cert"] == "/etc/ssl/config.pem"
    assert settings["proxy"] == "http://proxy.example:3128"
    assert settings["trusted-host"] == "config.example"
    assert not set(settings) & LOCATION_SETTINGS


def test_pip_children_read_no_config_file_and_get_its_kept_settings_as_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, CONFIG, monkeypatch)
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "180")  # the user's variable wins, as in pip
    monkeypatch.setenv("PIP_LOG_FILE", "/tmp/never-env.log")
    monkeypatch.setenv("PIP_SOURCE_DIR", "/tmp/never-env-src")
    monkeypatch.setenv("PIP_NO_USER", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "/wheels")
    env = pip_environment()
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["PIP_INDEX_URL"] == "https://config.example/simple"
    assert env["PIP_CERT"] == "/etc/ssl/config.pem"
    assert env["PIP_PROXY"] == "http://proxy.example:3128"
    assert env["PIP_FIND_LINKS"] == "/wheels"
    assert env["PIP_DEFAULT_TIMEOUT"] == "180"
    assert "PIP_TIMEOUT" not in env
    location = [key for key in env if key.startswith("PIP_") and "never" in env[key]]
    assert location == []
    assert "PIP_NO_USER" not in env
    assert "PIP_USER" not in env


def test_a_variable_beats_the_config_and_install_beats_global(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(
        tmp_path,
        "[global]\nindex-url = https://g/simple\nproxy = http://g\n"
        "[install]\nindex-url = https://i/simple\nretries = 1\n[freeze]\nretries = 9\n",
        monkeypatch,
    )
    monkeypatch.setenv("PIP_PROXY", "http://env")
    monkeypatch.setenv("PIP_RETRIES", "")  # pip ignores an empty variable
    env = pip_environment()
    assert env["PIP_INDEX_URL"] == "https://i/simple"
    assert env["PIP_PROXY"] == "http://env"
    assert env["PIP_RETRIES"] == "1"


def test_with_pip_config_file_devnull_nothing_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert config_settings(os.environ) == {}


def test_a_broken_config_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, "[global\nindex-url = x\n", monkeypatch)
    with pytest.raises(Exception, match="configuration file cannot be read") as info:
        pip_environment()
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- hints from pip's log (item 15)


def _log(tmp_path: Path, text: str) -> Path:
    log = tmp_path / "install.log"
    log.write_text(text, encoding="utf-8")
    return log


def test_a_pip_crash_gives_the_exception_not_exception_colon(tmp_path: Path) -> None:
    log = _log(
        tmp_path,
        "$ python pip install ./bad-1.0.tar.gz\n"
        "Processing ./bad-1.0.tar.gz\n"
        "ERROR: Exception:\n"
        "Traceback (most recent call last):\n"
        '  File "gzip.py", line 1, in read\n'
        "gzip.BadGzipFile: Not a gzipped file (b'ga')\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "tarfile.py", line 2, in open\n'
        "    raise ReadError\n"
        "tarfile.ReadError: not a gzip file\n",
    )
    assert _last_error_line(log) == "tarfile.ReadError: not a gzip file"


def test_the_first_plain_error_is_the_hint(tmp_path: Path) -> None:
    log = _log(
        tmp_path,
        "ERROR: Could not find a version that satisfies the requirement nope\n"
        "ERROR: No matching distribution found for nope\n",
    )
    assert _last_error_line(log) == "Could not find a version that satisfies the requirement nope"


def test_no_error_no_hint(tmp_path: Path) -> None:
    assert _last_error_line(_log(tmp_path, "Processing x\n")) == ""
    assert _last_error_line(tmp_path / "missing.log") == ""


def test_a_long_error_is_cut_between_words(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(100))
    hint = _last_error_line(_log(tmp_path, f"ERROR: {words}\n"))
    assert len(hint) <= 300
    assert hint.endswith("...")
    assert words.startswith(hint.removesuffix("..."))
    assert hint.removesuffix("...").split(" ")[-1] in words.split(" ")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("one two three four", 12, "one two..."),
        ("x" * 20, 10, "xxxxxxx..."),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
