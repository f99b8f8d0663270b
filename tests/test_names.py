"""Tests for appx.names beyond those of the modules that use them (inspect, specs)."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from appx.names import canonical_name, name_problem


@pytest.mark.parametrize(
    "name", ["black", "Black", "Foo.Bar__baz", "a-_.-b", "ZOPE.interface", "pkg---1", "x"]
)
def test_canonical_names_are_packagings(name: str) -> None:
    assert canonical_name(name) == canonicalize_name(name)


@pytest.mark.parametrize("name", [" ", "tool ", " tool", "\u00a0tool"])
def test_names_that_start_or_end_with_whitespace_are_refused(name: str) -> None:
    assert name_problem(name) == "starts or ends with whitespace"
