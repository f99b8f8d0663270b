"""The error kinds: each has a kind name and an exit code, and the README documents them all."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import appx
from appx.errors import EXIT_CODES, AppxError, error_classes

README = Path(__file__).parents[1] / "README.md"


def readme_exit_codes() -> dict[int, str]:
    """The README's exit-code table: code -> kind ("" for success)."""
    section = README.read_text().split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (?:`([a-z-]+)`)? *\| \S.* \|$", section, re.MULTILINE)
    return {int(code): kind for code, kind in rows}


def every_error_class() -> list[type[AppxError]]:
    """Every AppxError subclass in appx, once every module of it is imported."""
    for module in pkgutil.walk_packages(appx.__path__, "appx."):
        importlib.import_module(module.name)
    return error_classes()


def test_the_readme_documents_every_error_class_with_its_kind() -> None:
    table = readme_exit_codes()
    for cls in every_error_class():
        assert table.get(cls.exit_code) == cls.kind, f"{cls.__name__} is not in the README"


def test_every_code_in_the_readme_is_an_error_class() -> None:
    documented = set(readme_exit_codes()) - {0}
    assert documented == {cls.exit_code for cls in every_error_class()}
    assert readme_exit_codes()[0] == ""


def test_each_code_has_one_kind_and_each_kind_one_code() -> None:
    pairs = {(cls.exit_code, cls.kind) for cls in every_error_class()}
    assert len({code for code, _ in pairs}) == len(pairs)
    assert len({kind for _, kind in pairs}) == len(pairs)


def test_usage_errors_and_interruptions_are_error_classes() -> None:
    kinds = {cls.kind: cls.exit_code for cls in every_error_class()}
    assert kinds["usage"] == 2
    assert kinds["interrupted"] == 130
    assert kinds["internal"] == 1


def test_exit_codes_are_derived_from_the_classes() -> None:
    derived = {0: "success"} | {c.exit_code: c.kind for c in every_error_class()}
    assert derived == EXIT_CODES
