"""pip's words in uv's language: every --pip-args form, translated or refused with a reason."""

from __future__ import annotations

import pytest

from appx.backends.uv_args import (
    Untranslatable,
    index_args,
    translate_pip_args,
    uv_settings_from_pip,
)
from appx.indexes import IndexOptions

URL = "https://pypi.example.org/simple"


@pytest.mark.parametrize(
    ("pip_args", "uv_args"),
    [
        ([], []),
        (["--index-url", URL], ["--default-index", URL]),
        ([f"--index-url={URL}"], ["--default-index", URL]),
        (["-i", URL], ["--default-index", URL]),
        ([f"-i{URL}"], ["--default-index", URL]),
        (["--extra-index-url", URL], ["--index", URL]),
        ([f"--extra-index={URL}"], ["--index", URL]),  # an abbreviation, as pip reads it
        (["--find-links", "/wheels"], ["--find-links", "/wheels"]),
        (["-f", "/wheels"], ["--find-links", "/wheels"]),
        (["-f/wheels"], ["--find-links", "/wheels"]),
        (["--no-index"], ["--no-index"]),
        (["--pre"], ["--prerelease", "allow"]),
        (["--trusted-host", "example.org"], ["--allow-insecure-host", "example.org"]),
        (["--constraint", "c.txt"], ["--constraint", "c.txt"]),
        (["-c", "c.txt"], ["--constraint", "c.txt"]),
        (["--no-deps"], ["--no-deps"]),
        (["--no-dependencies"], ["--no-deps"]),
        (["--only-binary", ":all:"], ["--only-binary", ":all:"]),
        (["--only-binary=a,b"], ["--only-binary", "a", "--only-binary", "b"]),
        (["--no-binary", "a"], ["--no-binary", "a"]),
        (["--require-hashes"], ["--require-hashes"]),
        (["--no-build-isolation"], ["--no-build-isolation"]),
        (["--no-cache-dir"], ["--no-cache"]),
        # pip's chatter, or nothing to do in a fresh venv: nothing for uv
        (["-q", "--verbose", "--no-input", "--disable-pip-version-check"], []),
        (["-qq"], []),
        (["--upgrade", "-U", "--progress-bar", "off"], []),
        (["-qi", URL], ["--default-index", URL]),
        (["-qf/wheels", "--pre"], ["--find-links", "/wheels", "--prerelease", "allow"]),
        (
            ["--no-index", "--find-links", "/w", "--pre", "--no-deps"],
            ["--no-index", "--find-links", "/w", "--prerelease", "allow", "--no-deps"],
        ),
    ],
)
def test_options_both_installers_understand_are_translated(
    pip_args: list[str], uv_args: list[str]
) -> None:
    assert translate_pip_args(pip_args) == uv_args


@pytest.mark.parametrize(
    ("pip_args", "arg", "reason"),
    [
        (["--prefer-binary"], "--prefer-binary", "uv has no option"),
        (["--timeout", "5"], "--timeout", "uv has no option"),
        (["--cert", "/ca.pem"], "--cert", "uv has no option"),
        (["--use-feature", "x"], "--use-feature", "uv has no option"),
        (["--config-settings", "a=b"], "--config-settings", "uv has no option"),
        (["-C", "a=b"], "-C", "uv has no option"),
        (["--frobnicate"], "--frobnicate", "not an option of 'pip install'"),
        (["--no"], "--no", "not an option of 'pip install'"),  # ambiguous: --no-deps, --no-index
        (["-x"], "-x", "-x is not an option"),
        (["-qx"], "-qx", "-x is not an option"),
        (["--index-url"], "--index-url", "needs a value"),
        (["-i"], "-i", "needs a value"),
        (["somepackage"], "somepackage", "for pip only"),
        (["--", "x"], "--", "for pip only"),
        (["--pre", "--prefer-binary", "--no-deps"], "--prefer-binary", "uv has no option"),
    ],
)
def test_an_option_uv_cannot_honour_is_named_with_why(
    pip_args: list[str], arg: str, reason: str
) -> None:
    result = translate_pip_args(pip_args)
    assert isinstance(result, Untranslatable)
    assert result.arg == arg
    assert reason in result.reason
    assert result.describe().startswith(f"uv cannot honour --pip-args {arg!r}: ")


def test_a_secret_in_an_untranslatable_arg_is_hidden() -> None:
    result = translate_pip_args(["--proxy=http://bob:s3cret@proxy:3128"])
    assert isinstance(result, Untranslatable)
    assert "s3cret" not in result.describe()
    assert "bob:****@" in result.describe()


def test_structured_index_options_become_uv_flags_and_pip_args_come_last() -> None:
    options = IndexOptions(
        index_url=URL,
        extra_index_urls=("https://a/simple", "https://b/simple"),
        find_links=("/wheels",),
        no_index=True,
        pre=True,
        trusted_hosts=("a",),
        constraints=("/c.txt",),
        pip_args=("--no-deps",),
    )
    assert index_args(options) == [
        *("--default-index", URL, "--index", "https://a/simple", "--index", "https://b/simple"),
        *("--find-links", "/wheels", "--allow-insecure-host", "a", "--constraint", "/c.txt"),
        *("--no-index", "--prerelease", "allow", "--no-deps"),
    ]
    assert index_args(IndexOptions()) == []


def test_index_options_with_untranslatable_pip_args_say_so() -> None:
    result = index_args(IndexOptions(index_url=URL, pip_args=("--prefer-binary",)))
    assert isinstance(result, Untranslatable)


def test_pip_index_settings_become_uv_variables() -> None:
    settings = {
        "index-url": URL,
        "extra-index-url": "https://a/simple https://b/simple",
        "find-links": "/w1 /w2",
        "trusted-host": "a b",
        "no-index": "yes",
        "pre": "true",
        "timeout": "30",
        "cert": "/ca.pem",
        "constraint": "/c.txt",
        "progress-bar": "off",  # nothing of uv's
    }
    assert uv_settings_from_pip(settings, {}) == {
        "UV_DEFAULT_INDEX": URL,
        "UV_INDEX": "https://a/simple https://b/simple",
        "UV_FIND_LINKS": "/w1,/w2",
        "UV_INSECURE_HOST": "a b",
        "UV_NO_INDEX": "1",
        "UV_PRERELEASE": "allow",
        "UV_HTTP_TIMEOUT": "30",
        "SSL_CERT_FILE": "/ca.pem",
        "UV_CONSTRAINT": "/c.txt",
    }


def test_a_uv_variable_the_user_set_beats_pips_setting() -> None:
    settings = {"index-url": URL, "find-links": "/w", "pre": "1"}
    environ = {"UV_INDEX_URL": "https://mine/simple", "UV_FIND_LINKS": "/mine"}
    assert uv_settings_from_pip(settings, environ) == {"UV_PRERELEASE": "allow"}


def test_a_false_pip_switch_sets_nothing() -> None:
    assert uv_settings_from_pip({"no-index": "false", "pre": "0", "index-url": ""}, {}) == {}
