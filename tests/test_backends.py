"""Choosing the backend: the flag, APPX_BACKEND, the receipt's, then uv if it runs, else pip."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pytest

from appx.backends import BackendChoice, choose_backend, get_backend, settle_backend, uv_locate
from appx.backends.pip import PipBackend
from appx.backends.uv import UvBackend
from appx.backends.uv_locate import FoundUv, find_uv
from appx.errors import EnvironmentSetupError, UsageError
from appx.indexes import IndexOptions
from appx.paths import AppxPaths

UV = FoundUv(Path("/opt/uv/bin/uv"), "appx's environment")


def runs(_path: Path) -> str | None:
    return "0.9.1"


def does_not_run(_path: Path) -> str | None:
    return None


def found(_environ: Mapping[str, str]) -> FoundUv | None:
    return UV


def missing(_environ: Mapping[str, str]) -> FoundUv | None:
    return None


def choose(
    requested: str | None = None,
    environ: Mapping[str, str] | None = None,
    recorded: str | None = None,
    *,
    uv: bool = True,
    uv_runs: bool = True,
) -> BackendChoice:
    return choose_backend(
        requested,
        environ or {},
        recorded,
        check=runs if uv_runs else does_not_run,
        locate=found if uv else missing,
    )


def test_the_flag_comes_first() -> None:
    choice = choose("pip", {"APPX_BACKEND": "uv"}, "uv")
    assert choice == BackendChoice("pip", "--backend pip")
    assert choose("uv", {"APPX_BACKEND": "pip"}, "pip").name == "uv"


def test_then_appx_backend() -> None:
    assert choose(None, {"APPX_BACKEND": "pip"}, "uv") == BackendChoice("pip", "APPX_BACKEND=pip")
    assert choose(None, {"APPX_BACKEND": "uv"}, "pip").name == "uv"


def test_names_are_read_whatever_their_case_and_spaces() -> None:
    assert choose("UV", {}, None).name == "uv"
    assert choose(None, {"APPX_BACKEND": " Pip "}, "uv").name == "pip"


def test_then_the_receipt() -> None:
    assert choose(None, {}, "pip") == BackendChoice("pip", "recorded in the app's receipt")
    assert choose(None, {}, "uv") == BackendChoice("uv", "recorded in the app's receipt")


def test_a_receipt_of_uv_falls_back_to_pip_when_uv_is_gone_or_broken() -> None:
    gone = choose(None, {}, "uv", uv=False)
    assert gone == BackendChoice("pip", "the app's receipt records uv, but uv is not found")
    broken = choose(None, {}, "uv", uv_runs=False)
    assert broken.name == "pip"
    assert "uv at /opt/uv/bin/uv does not run" in broken.reason


def test_then_automatic_uv_when_found_and_running() -> None:
    assert choose() == BackendChoice("uv", "automatic: found in appx's environment")
    on_path = choose_backend(
        None, {}, check=runs, locate=lambda _: FoundUv(Path("/usr/bin/uv"), "PATH")
    )
    assert on_path == BackendChoice("uv", "automatic: found in PATH")


def test_automatic_pip_when_uv_is_missing_or_does_not_run() -> None:
    assert choose(uv=False) == BackendChoice("pip", "automatic: uv is not found")
    assert choose(uv_runs=False) == BackendChoice(
        "pip", "automatic: uv at /opt/uv/bin/uv does not run"
    )


def test_an_unknown_recorded_backend_is_chosen_afresh() -> None:
    assert choose(None, {}, "conda").name == "uv"
    assert choose(None, {}, "").name == "uv"


@pytest.mark.parametrize(
    ("requested", "environ", "where"),
    [("poetry", {}, "--backend"), (None, {"APPX_BACKEND": "uvx"}, "APPX_BACKEND")],
)
def test_an_unknown_name_is_a_usage_error_naming_the_choices(
    requested: str | None, environ: dict[str, str], where: str
) -> None:
    with pytest.raises(UsageError) as raised:
        choose(requested, environ)
    assert raised.value.exit_code == 2
    assert raised.value.message.startswith(f"{where}: unknown installer backend")
    assert raised.value.hint == "choose one of: pip, uv"


def test_uv_that_cannot_honour_the_pip_args_gives_way_to_pip_and_says_why() -> None:
    uv = BackendChoice("uv", "automatic: found in PATH")
    settled = settle_backend(uv, IndexOptions(pip_args=("--pre", "--prefer-binary")))
    assert settled.name == "pip"
    assert settled.reason.startswith("uv cannot honour --pip-args '--prefer-binary'")
    assert settle_backend(uv, IndexOptions(pip_args=("--pre", "--no-deps"))) == uv
    assert settle_backend(uv, IndexOptions()) == uv
    pip = BackendChoice("pip", "--backend pip")
    assert settle_backend(pip, IndexOptions(pip_args=("--prefer-binary",))) == pip


def test_get_backend_gives_each_backend(paths: AppxPaths) -> None:
    assert isinstance(get_backend("pip", paths), PipBackend)
    uv = get_backend("uv", paths)
    assert isinstance(uv, UvBackend)
    assert uv.version(None) == uv_locate.package_version()  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        get_backend("poetry", paths)


def test_uv_asked_for_but_missing_is_a_clear_error(
    paths: AppxPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uv_locate, "find_uv", missing)
    with pytest.raises(EnvironmentSetupError) as raised:
        get_backend("uv", paths)
    assert raised.value.message == "the uv backend was asked for, but uv is not found"
    assert "appx[uv]" in raised.value.hint


def test_uv_is_found_beside_appx_without_path() -> None:
    own = find_uv({"PATH": ""})
    assert own is not None
    assert own.source == "appx's environment"
    assert own.path.name == "uv"


def test_the_uv_package_version_is_what_its_metadata_says() -> None:
    try:
        expected = metadata.version("uv")
    except metadata.PackageNotFoundError:
        expected = ""
    assert uv_locate.package_version() == expected
