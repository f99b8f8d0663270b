"""Rendering results: what each command prints, quiet or not, as text or as one JSON document."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from appx.environment import Setting
from appx.errors import NoCommandsError, PartialFailureError, SpecError
from appx.install import InstallResult
from appx.listing import AppStatus, Listing
from appx.output import Console
from appx.render import render_environment, render_install, render_list


def make_console(**options: bool) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(out=out, err=err, **options), out, err


def json_console() -> tuple[Console, io.StringIO, io.StringIO]:
    console, out, err = make_console()
    console.use_json(True, {"results": []})
    return console, out, err


INSTALLED = InstallResult("cowsay-lite", "installed", "cowsay-lite", "1.0", ("cowsay-lite",))
NO_COMMANDS = InstallResult(
    "no-commands", "failed", error=NoCommandsError("no-commands has no commands", "try deps")
)


def document(out: io.StringIO) -> dict[str, Any]:
    data = json.loads(out.getvalue())
    assert isinstance(data, dict)
    return data


def test_install_json_on_success_has_a_null_error() -> None:
    console, out, _ = json_console()
    render_install(console, [INSTALLED])
    data = document(out)
    assert data["error"] is None
    assert data["results"][0]["status"] == "installed"


def test_install_json_of_one_failure_names_its_kind_and_exit_code() -> None:
    console, out, _ = json_console()
    with pytest.raises(NoCommandsError):
        render_install(console, [NO_COMMANDS])
    data = document(out)
    assert data["error"]["kind"] == "no-commands"
    assert data["error"]["exit_code"] == 8
    assert data["results"][0]["error"]["kind"] == "no-commands"


def test_install_json_of_a_partial_failure_keeps_every_result() -> None:
    console, out, err = json_console()
    with pytest.raises(PartialFailureError):
        render_install(console, [INSTALLED, NO_COMMANDS])
    data = document(out)
    assert [r["status"] for r in data["results"]] == ["installed", "failed"]
    assert data["results"][1]["error"]["kind"] == "no-commands"
    assert data["error"]["kind"] == "partial-failure"
    assert data["error"]["exit_code"] == 10
    assert "error: no-commands: no-commands has no commands" in err.getvalue()


def test_several_that_all_fail_alike_exit_with_that_failures_code() -> None:
    console, _, err = make_console()
    bad = InstallResult("./nope.whl", "failed", error=SpecError("no such file", "check it"))
    with pytest.raises(SpecError) as raised:
        render_install(console, [InstallResult("./a", "failed", error=bad.error), bad])
    assert raised.value.exit_code == 3
    assert raised.value.message == "2 of 2 failed: ./a, ./nope.whl"
    assert "succeeded" not in raised.value.hint
    assert "error: ./a: no such file" in err.getvalue()


def test_several_that_all_fail_differently_say_none_succeeded() -> None:
    console, _, _ = make_console()
    bad = InstallResult("./nope.whl", "failed", error=SpecError("no such file", "check it"))
    with pytest.raises(PartialFailureError) as raised:
        render_install(console, [NO_COMMANDS, bad])
    assert raised.value.hint == "none succeeded; see the errors above"


def test_the_failure_document_is_printed_once_by_the_funnel() -> None:
    console, out, _ = json_console()
    with pytest.raises(NoCommandsError) as raised:
        render_install(console, [NO_COMMANDS])
    console.fail(raised.value)
    document(out)  # still exactly one document


def test_install_text_goes_quiet() -> None:
    console, out, err = make_console(quiet=True)
    render_install(console, [INSTALLED])
    assert out.getvalue() == err.getvalue() == ""


LISTING = Listing(
    (
        AppStatus("broken-app", None, problems=("receipt corrupt: x: not JSON",)),
        AppStatus("other", None),
    ),
    orphans=("/bin/x belongs to gone, which is not installed",),
)


def test_quiet_list_prints_the_listing() -> None:
    console, out, _ = make_console(quiet=True)
    render_list(console, LISTING, short=False)
    assert out.getvalue().splitlines() == [
        "broken-app (receipt unreadable)",
        "  problem: receipt corrupt: x: not JSON",
        "other (receipt unreadable)",
        "problem: /bin/x belongs to gone, which is not installed",
    ]


def test_quiet_short_list_prints_the_names() -> None:
    console, out, _ = make_console(quiet=True)
    render_list(console, LISTING, short=True)
    assert out.getvalue().splitlines() == ["broken-app", "other"]


def test_quiet_empty_list_says_so() -> None:
    console, out, _ = make_console(quiet=True)
    render_list(console, Listing(()), short=False)
    assert out.getvalue() == "no apps are installed\n"


def test_quiet_json_list_prints_the_document() -> None:
    console, out, _ = make_console(quiet=True)
    console.use_json(True)
    render_list(console, LISTING, short=False)
    assert [a["app"] for a in document(out)["apps"]] == ["broken-app", "other"]


def test_quiet_environment_prints_the_settings() -> None:
    console, out, _ = make_console(quiet=True)
    settings = [Setting("APPX_HOME", "/h", "environment"), Setting("tmp", "/h/tmp", "derived")]
    render_environment(console, settings)
    assert out.getvalue().splitlines() == [
        "APPX_HOME  /h  (environment)",
        "tmp        /h/tmp  (derived)",
    ]


def test_a_labelled_error_keeps_its_kind() -> None:
    console, _, err = make_console()
    with pytest.raises(PartialFailureError):
        render_install(
            console, [NO_COMMANDS, InstallResult("./x", "failed", error=SpecError("no"))]
        )
    assert "error: ./x: no" in err.getvalue()


def test_a_list_with_problems_points_to_doctor_and_a_healthy_one_does_not() -> None:
    console, out, _ = make_console()
    render_list(console, LISTING, short=False)
    assert out.getvalue().splitlines()[-1] == (
        "run `appx doctor` for details, `appx doctor --fix` to mend"
    )
    console, out, _ = make_console()
    render_list(console, Listing((AppStatus("other", None),)), short=False)
    assert "doctor" not in out.getvalue()
