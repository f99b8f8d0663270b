"""The Console: quiet keeps what was asked for, one JSON document per call, no secret printed."""

from __future__ import annotations

import ast
import io
import json
import time
from pathlib import Path

import pytest

from appx.errors import InstallerError, InterruptedByUser, SpecError
from appx.output import Console

SRC = Path(__file__).parents[1] / "src" / "appx"


def make_console(**options: bool) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(out=out, err=err, **options), out, err


def test_quiet_silences_chatter_but_not_what_was_asked_for() -> None:
    console, out, err = make_console(quiet=True)
    console.info("installed black 24.1.0")
    console.warn("the bin dir is not on PATH")
    with console.step("Installing black"):
        pass
    console.result("black 24.1.0")
    assert out.getvalue() == "black 24.1.0\n"
    assert err.getvalue() == ""


def test_quiet_still_prints_errors() -> None:
    console, out, err = make_console(quiet=True)
    console.fail(SpecError("invalid suffix: '/x'", "use letters"))
    assert err.getvalue() == "error: invalid suffix: '/x'\n  hint: use letters\n"
    assert out.getvalue() == ""


def test_json_mode_prints_only_the_document_on_stdout() -> None:
    console, out, _ = make_console(json_mode=True)
    console.info("installed black")
    console.result("black 24.1.0")
    console.emit_json({"schema": 1, "apps": []})
    assert json.loads(out.getvalue()) == {"schema": 1, "apps": []}


def test_a_failure_with_json_prints_one_error_document() -> None:
    console, out, err = make_console()
    console.use_json(True)
    error = InstallerError("pip failed", "see the log", log_path="/h/logs/x.log")
    console.fail(error)
    assert json.loads(out.getvalue()) == {
        "schema": 1,
        "error": {
            "kind": "installer-failed",
            "message": "pip failed",
            "hint": "see the log",
            "exit_code": 6,
            "log": "/h/logs/x.log",
        },
    }
    assert "error: pip failed" in err.getvalue()


def test_a_failure_keeps_the_shape_of_the_commands_document() -> None:
    console, out, _ = make_console()
    console.use_json(True, {"results": []})
    console.fail(InterruptedByUser("interrupted"))
    document = json.loads(out.getvalue())
    assert document["results"] == []
    assert document["error"]["kind"] == "interrupted"
    assert document["error"]["exit_code"] == 130


def test_a_failure_after_the_document_adds_no_second_one() -> None:
    console, out, err = make_console(json_mode=True)
    console.emit_json({"schema": 1, "results": [], "error": None})
    console.fail(SpecError("bad"))
    assert json.loads(out.getvalue())["error"] is None  # one document: it parses whole
    assert "error: bad" in err.getvalue()
    with pytest.raises(RuntimeError):
        console.emit_json({"schema": 1})


def test_secrets_are_redacted_in_text_and_in_json() -> None:
    console, out, err = make_console(verbose=True)
    url = "https://alice:s3cret@example.org/simple"
    console.warn(f"index {url} is slow")
    console.detail(f"using {url}")
    console.error(SpecError(f"cannot read {url}", f"check {url}"))
    console.emit_json({"schema": 1, "results": [{"spec": f'x @ {url}", "y'}], url: [url]})
    printed = out.getvalue() + err.getvalue()
    assert "s3cret" not in printed
    assert "https://alice:****@example.org/simple" in err.getvalue()
    document = json.loads(out.getvalue())
    assert document["results"][0]["spec"] == 'x @ https://alice:****@example.org/simple", "y'


def test_a_long_hint_is_printed_whole() -> None:
    console, _, err = make_console()
    hint = " ".join(f"word{n}" for n in range(200))
    console.error(SpecError("bad", hint))
    assert f"  hint: {hint}\n" in err.getvalue()


def test_verbose_failure_shows_the_traceback_of_its_origin() -> None:
    console, _, err = make_console(verbose=True)

    def lookup() -> None:
        raise KeyError("boom")

    try:
        lookup()
    except KeyError as origin:
        console.fail(SpecError("bad"), origin=origin)
    assert "Traceback" in err.getvalue()
    assert "KeyError: 'boom'" in err.getvalue()
    quiet_console, _, quiet_err = make_console()
    quiet_console.fail(SpecError("bad"), origin=KeyError("boom"))
    assert "Traceback" not in quiet_err.getvalue()


_PRINTERS = {
    "print",
    "typer.echo",
    "typer.secho",
    "traceback.print_exc",
    "traceback.print_exception",
}


def _prints(tree: ast.AST) -> list[int]:
    """Lines that print directly: print(), typer.echo, print_exc, sys.stdout/stderr writes."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            target = ast.unparse(node.func)
            if target in _PRINTERS or target.startswith(("sys.stdout.", "sys.stderr.")):
                lines.append(node.lineno)
    return lines


# shellpath.py runs in a child process: its stdout is its JSON report to appx, not the console.
_NOT_THE_CONSOLE = {"output.py", "shellpath.py"}


def test_only_output_py_prints() -> None:
    offenders = {}
    for module in SRC.rglob("*.py"):
        if module.name in _NOT_THE_CONSOLE:
            continue
        lines = _prints(ast.parse(module.read_text()))
        if lines:
            offenders[str(module.relative_to(SRC))] = lines
    assert offenders == {}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_live_line_on_a_terminal_is_erased_before_other_output_and_at_the_end() -> None:
    err = Terminal()
    console = Console(out=err, err=err)
    with console.live(lambda: "black, isort (1 of 3 done)"):
        deadline = time.monotonic() + 5
        while "black, isort" not in err.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        console.warn("black: something")
    text = err.getvalue()
    assert "black, isort (1 of 3 done)" in text
    before, _, after = text.rpartition("warning: black: something\n")
    assert before.endswith("\r\x1b[K")  # the live line was erased first, not written over
    assert after.endswith("\r\x1b[K")  # and erased when the block ended


def test_no_live_line_off_a_terminal() -> None:
    err = io.StringIO()
    with Console(err=err).live(lambda: "black"):
        pass
    assert err.getvalue() == ""
