"""appx doctor in-process, with the fake backend: each problem found, fixed, or said why not."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from appx.doctor_fix import Outcome, run_doctor
from appx.errors import NotInstalledError, ProblemsFoundError
from appx.output import Console
from appx.paths import AppxPaths
from appx.receipt import RECEIPT_NAME, load_receipt
from appx.render_doctor import doctor_json, render_doctor
from fake_backend import FakeBackend
from link_factories import user_file
from test_install import CATALOGUE, install

ENVIRON = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])}


def doctor(paths: AppxPaths, *names: str, fix: bool = False, **kw: FakeBackend) -> list[Outcome]:
    console = Console(out=io.StringIO(), err=io.StringIO())
    return run_doctor(paths, names, console, environ=ENVIRON, fix=fix, backend=kw.get("backend"))


def kinds(outcomes: list[Outcome]) -> list[str]:
    return sorted(o.problem.kind for o in outcomes)


def current(paths: AppxPaths, app: str) -> Path:
    generation = paths.apps.read_current(app)
    assert generation is not None
    return generation.path


def test_a_healthy_home_has_no_problems(paths: AppxPaths) -> None:
    install(paths, "tool", "other")
    assert doctor(paths) == []
    assert doctor(paths, fix=True) == []


def test_link_and_housekeeping_problems_are_found_then_fixed(paths: AppxPaths) -> None:
    install(paths, "tool", "other")
    (paths.bin_dir / "tool").unlink()  # a missing link
    (paths.bin_dir / "gone").symlink_to(f"{paths.venvs}/gone/current/bin/gone")  # an orphan
    (paths.bin_dir / "extra").symlink_to(f"{paths.venvs}/other/current/bin/extra")  # stray
    garbage = paths.app_dir("other") / "g9-0000dead"
    garbage.mkdir()  # a generation neither current nor previous
    (paths.app_dir("other") / ".g10-0000beef.building").write_text('{"pid": 999999999}')
    paths.tmp.mkdir(exist_ok=True)
    (paths.tmp / "junk").write_text("x")  # not a scratch name appx gives
    index = paths.displaced / "index.jsonl"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text("{not json\n")
    shared = paths.shared / "pip-1.0" / "pip"
    shared.mkdir(parents=True)  # a copy of pip cut short
    run_env = paths.runs.unit_dir("k" * 16)
    (run_env / "g1-00000000").mkdir(parents=True)  # a build that never finished

    found = doctor(paths)
    assert kinds(found) == [
        "displaced-index",
        "garbage-generation",
        "leftover-build",
        "link-missing",
        "link-stray",
        "orphan-link",
        "run-env",
        "shared-pip",
        "tmp-leftover",
    ]
    assert all(o.fixed is None for o in found)

    fixed = doctor(paths, fix=True)
    assert [o for o in fixed if not o.fixed] == []
    assert doctor(paths) == []
    assert (paths.bin_dir / "tool").is_symlink()
    assert not os.path.lexists(paths.bin_dir / "gone")
    assert not os.path.lexists(paths.bin_dir / "extra")
    assert not garbage.exists()
    assert not (paths.tmp / "junk").exists()
    assert index.read_text() == ""
    assert (paths.displaced / "index.jsonl.unreadable").read_text() == "{not json\n"
    assert not shared.parent.exists()
    assert not run_env.exists()


def test_a_users_file_in_place_of_a_link_is_never_touched(paths: AppxPaths) -> None:
    install(paths, "tool")
    (paths.bin_dir / "tool").unlink()
    mine = user_file(paths.bin_dir / "tool")

    (outcome,) = doctor(paths, fix=True)

    assert outcome.problem.kind == "link-blocked"
    assert outcome.fixed is False
    assert "appx install --force tool" in outcome.note
    assert (paths.bin_dir / "tool").read_bytes() == mine


def test_distributions_that_differ_are_rebuilt_at_the_recorded_versions(
    paths: AppxPaths,
) -> None:
    install(paths, "tool")
    before = load_receipt(current(paths, "tool"))
    purelib = Path(before.venv.purelib)
    for info in purelib.glob("tool-*.dist-info"):
        for file in info.iterdir():
            file.unlink()
        info.rmdir()

    (found,) = doctor(paths)
    assert found.problem.kind == "distributions-differ"
    assert "tool 1.0 is missing" in found.problem.message
    assert "would rebuild tool at the recorded versions" in found.problem.fix

    fake = FakeBackend(CATALOGUE)
    (fixed,) = doctor(paths, fix=True, backend=fake)
    assert fixed.fixed is True
    assert fake.installs == [["tool"]]
    assert str(fake.constraints["tool"]) == "tool==1.0"  # at the recorded version
    assert load_receipt(current(paths, "tool")).distributions == before.distributions
    assert doctor(paths) == []


def test_a_python_that_cannot_be_found_again_is_named_and_nothing_is_lost(
    paths: AppxPaths,
) -> None:
    install(paths, "tool")
    generation = current(paths, "tool")
    data = json.loads((generation / RECEIPT_NAME).read_text())
    data["python"]["executable"] = "/gone/python3.99"
    data["python"]["version"] = "3.99.1"
    (generation / RECEIPT_NAME).write_text(json.dumps(data))

    (found,) = doctor(paths, fix=True)

    assert found.problem.kind == "python-missing"
    assert found.fixed is False
    assert "Python 3.99 is needed to rebuild tool: install it" in found.note
    assert "appx reinstall tool --python" in found.note
    assert current(paths, "tool") == generation
    assert (paths.bin_dir / "tool").is_symlink()


def test_an_unreadable_or_newer_receipt_is_reported_never_rewritten(paths: AppxPaths) -> None:
    install(paths, "tool", "other")
    torn = current(paths, "tool") / RECEIPT_NAME
    torn.write_text('{"app": "to')
    newer = current(paths, "other") / RECEIPT_NAME
    newer.write_text(json.dumps({**json.loads(newer.read_text()), "schema": 99}))
    texts = (torn.read_bytes(), newer.read_bytes())

    found = doctor(paths, fix=True)

    assert kinds(found) == ["receipt-newer", "receipt-unreadable"]
    assert all(o.fixed is False for o in found)
    assert "never rewritten" in next(o.note for o in found if o.problem.kind == "receipt-newer")
    assert (torn.read_bytes(), newer.read_bytes()) == texts


def test_doctor_app_checks_only_that_app(paths: AppxPaths) -> None:
    install(paths, "tool", "other")
    (paths.bin_dir / "other").unlink()
    paths.tmp.mkdir(exist_ok=True)
    (paths.tmp / "junk").write_text("x")
    assert doctor(paths, "tool") == []
    assert kinds(doctor(paths, "other")) == ["link-missing"]
    with pytest.raises(NotInstalledError):
        doctor(paths, "nothing-such")


def test_the_report_names_each_problem_and_its_fix_and_exits_with_problems_found(
    paths: AppxPaths,
) -> None:
    install(paths, "tool")
    (paths.bin_dir / "tool").unlink()
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=out, err=err)
    with pytest.raises(ProblemsFoundError) as raised:
        render_doctor(console, doctor(paths), fix=False)
    assert raised.value.exit_code == 13
    assert out.getvalue().splitlines() == [
        f"  tool: link missing: {paths.bin_dir / 'tool'} -> would recreate it"
    ]
    assert "appx doctor --fix" in raised.value.hint


def test_the_json_document_has_the_shared_shape(paths: AppxPaths) -> None:
    install(paths, "tool")
    (paths.bin_dir / "tool").unlink()
    document = doctor_json(doctor(paths, fix=True), None)
    assert document == {
        "schema": 1,
        "problems": [
            {
                "app": "tool",
                "kind": "link-missing",
                "path": str(paths.bin_dir / "tool"),
                "message": "link missing",
                "fix": "would recreate it",
                "fixed": True,
            }
        ],
        "fixed": 1,
        "unfixed": 0,
        "error": None,
    }
