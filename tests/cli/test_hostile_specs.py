"""Hostile specs and names, end to end: traversal in names and suffixes, secrets in URLs,
paths that do not exist, empty specs, a thousand specs at once.

Each is a clear error (exit 3, invalid-spec, unless said otherwise) with no traceback and
nothing written; a secret in a URL never shows in output, logs, receipts, exports or listings.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from appx_checks import current_generation, dir_entries, healthy_versions, receipt_of
from factories import Env, IndexServer, RunAppx
from hostile_checks import assert_clean_failure, state

pytestmark = pytest.mark.slow

TRAVERSALS = ["../x", "a/b", "..", "", ".hidden", "a\\b", "x\ny"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_an_app_name_that_is_a_path_is_refused_by_uninstall(
    name: str, run_appx: RunAppx, appx_env: Env
) -> None:
    result = run_appx("uninstall", name)
    assert_clean_failure(result, 3)
    assert "invalid app name" in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


@pytest.mark.parametrize(
    "command",
    [
        ("upgrade",),
        ("rollback",),
        ("pin",),
        ("unpin",),
        ("reinstall",),
        ("runpip",),
        ("inject", "_", "pkg"),
        ("uninject", "_", "pkg"),
    ],
    ids=lambda command: command[0],
)
def test_every_command_that_names_an_app_refuses_a_path(
    command: tuple[str, ...], run_appx: RunAppx, appx_env: Env
) -> None:
    args = command if len(command) > 1 else (*command, "_")
    result = run_appx(*(("../../etc" if arg == "_" else arg) for arg in args))
    assert_clean_failure(result, 3)
    assert "invalid app name: '../../etc'" in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec"),
        ("   ", "empty spec"),
        ("./does-not-exist", "no such file or directory: ./does-not-exist"),
        ("/nowhere/at/all.whl", "no such file or directory: /nowhere/at/all.whl"),
        ("../x", "no such file or directory: ../x"),
        ("tool @ @1", "not a URL after '@'"),
        ("tool @ ./relative", "not a URL after '@'"),
    ],
)
def test_an_unusable_spec_is_refused_before_anything_is_built(
    spec: str, message: str, run_appx: RunAppx, appx_env: Env
) -> None:
    result = run_appx("install", spec)
    assert_clean_failure(result, 3)
    assert message in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


@pytest.mark.parametrize("suffix", ["/x", "../x", "a/b", "x\n", ""])
def test_a_suffix_that_could_leave_its_directory_is_refused(
    suffix: str, run_appx: RunAppx, appx_env: Env
) -> None:
    if not suffix:  # "" means no suffix: checked by every plain install
        return
    result = run_appx("install", f"--suffix={suffix}", "cowsay-lite")
    assert_clean_failure(result, 3)
    assert "invalid suffix" in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


@pytest.mark.parametrize("suffix", ["..", "-rf"])
def test_a_suffix_of_dots_or_dashes_only_ends_names_inside_appx_dirs(
    suffix: str, run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    """A suffix is only ever appended (``cowsay-lite..``, ``cowsay-lite+..``): it cannot
    climb out of a directory, so these are allowed, and stay inside the bin and venvs dirs."""
    result = run_appx("install", f"--suffix={suffix}", "cowsay-lite")
    assert result.code == 0, result
    assert dir_entries(appx_env.bin_dir) == {f"cowsay-lite{suffix}"}
    assert dir_entries(appx_env.appx_home / "venvs") == {f"cowsay-lite+{suffix}"}
    assert healthy_versions(run_appx) == {f"cowsay-lite+{suffix}": "2.0"}
    removed = run_appx("uninstall", f"cowsay-lite+{suffix}")
    assert removed.code == 0, removed
    assert dir_entries(appx_env.bin_dir) == set()


def test_a_thousand_names_to_uninstall_fail_fast_and_each_is_named(
    run_appx: RunAppx, appx_env: Env
) -> None:
    names = [f"not-here-{n}" for n in range(1000)]
    result = run_appx("uninstall", *names)
    assert_clean_failure(result, 4)
    assert result.stderr.count("is not installed") == 1000
    assert "1000 of 1000 failed" in result.stderr
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


def test_a_thousand_bad_specs_to_install_fail_fast_without_a_traceback(
    run_appx: RunAppx, appx_env: Env
) -> None:
    specs = [f"./missing-{n}" for n in range(1000)]
    result = run_appx("install", *specs)
    assert_clean_failure(result, 3)
    assert result.stderr.count("no such file or directory") == 1000
    assert state(appx_env) == {"home": {}, "bin": {}, "man": {}}


# --- secrets in URLs -------------------------------------------------------------------------

SECRET = "s3cretPW"  # noqa: S105 -- a fake secret, to be hunted for in every output


def _everything_appx_shows(run_appx: RunAppx, env: Env) -> dict[str, str]:
    """Every text a user or another program can read back from appx, by where it came from."""
    texts = {
        "list": run_appx("list", "--json").stdout + run_appx("list").stdout,
        "export": run_appx("export").stdout,
        "environment": run_appx("environment", "--json").stdout + run_appx("environment").stdout,
    }
    logs = env.appx_home / "logs"
    for log in logs.iterdir() if logs.is_dir() else ():
        texts[f"log {log.name}"] = log.read_text(errors="replace")
    venvs = env.appx_home / "venvs"
    for receipt in venvs.glob("*/g*/appx-receipt.json") if venvs.is_dir() else ():
        texts[f"receipt {receipt}"] = receipt.read_text()
    return texts


def test_a_secret_in_an_index_url_a_spec_or_pip_index_url_is_never_shown_or_stored_in_clear(
    run_appx: RunAppx, index_server: IndexServer, appx_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_secret = index_server.url.replace("http://", f"http://user:{SECRET}@")
    monkeypatch.setenv("PIP_INDEX_URL", with_secret)
    outputs = {}
    # a success and a failure through each way in, verbose so that everything is logged
    outputs["pip-index-url"] = run_appx("-v", "install", "cowsay-lite")
    outputs["pip-index-url failing"] = run_appx("-v", "install", "no-such-package-anywhere")
    outputs["index-url"] = run_appx("-v", "install", "--index-url", with_secret, "tool-with-man")
    outputs["index-url failing"] = run_appx(
        "-v", "install", "--index-url", with_secret, "not-there-either"
    )
    base = with_secret.removesuffix("simple/")
    spec = f"app-with-dep @ {base}packages/app_with_dep-1.0-py3-none-any.whl"
    outputs["spec"] = run_appx("-v", "install", spec)
    outputs["spec failing"] = run_appx("-v", "install", f"gone @ {base}packages/gone-1.0.whl")
    outputs["upgrade"] = run_appx("-v", "upgrade", "cowsay-lite")
    outputs["json"] = run_appx("install", "--json", "--index-url", with_secret, "nope-json")

    assert [outputs[k].code for k in outputs] == [0, 6, 0, 6, 0, 6, 0, 6], outputs
    for where, result in outputs.items():  # -v adds tracebacks to errors: redacted too
        assert SECRET not in result.stdout + result.stderr, where
    assert "Traceback" not in outputs["json"].stderr
    for where, text in _everything_appx_shows(run_appx, appx_env).items():
        assert SECRET not in text, where
    receipt = receipt_of(appx_env, "app-with-dep")
    assert receipt["spec"] == spec.replace(SECRET, "****")
    assert receipt_of(appx_env, "tool-with-man")["index"]["index_url"] == with_secret.replace(
        SECRET, "****"
    )
    # what a rebuild needs in clear is kept apart, readable by its owner only
    kept = current_generation(appx_env, "app-with-dep") / "appx-credentials.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["spec"] == spec
    for receipt_file in (appx_env.appx_home / "venvs").glob("*/g*/appx-receipt.json"):
        assert stat.S_IMODE(os.stat(receipt_file).st_mode) == 0o600
