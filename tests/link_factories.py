"""Builders for the link tests: receipts, generations, and what stands in the bin dir."""

from __future__ import annotations

import os
from pathlib import Path

from appx.links import exposed_man_name, exposed_name
from appx.paths import AppxPaths
from appx.receipt import ExposedCommand, ExposedManPage, PythonInfo, Receipt, VenvInfo


def receipt_for(app: str, *commands: str, suffix: str = "", man: tuple[str, ...] = ()) -> Receipt:
    """A receipt naming `commands` and `man` pages ("man1/tool.1"), exposed as install does."""
    package = app.partition("+")[0]
    return Receipt(
        app=app,
        package=package,
        version="1.0",
        spec=package,
        spec_kind="name",
        requirement=package,
        suffix=suffix,
        python=PythonInfo("", "/usr/bin/python3", "3.12.0", "cpython"),
        venv=VenvInfo("/v/bin/python", "/v/lib/python3.12/site-packages", "/v/bin"),
        backend="pip",
        backend_version="24.0",
        commands=tuple(
            ExposedCommand(name, exposed_name(name, suffix), "console", package)
            for name in commands
        ),
        man_pages=tuple(
            ExposedManPage(
                page.partition("/")[0],
                page.partition("/")[2],
                exposed_man_name(page.partition("/")[2], suffix),
                package,
            )
            for page in man
        ),
    )


def make_generation(paths: AppxPaths, app: str, *files: str, name: str = "g1-0000aaaa") -> Path:
    """Create venvs/<app>/<name> holding `files` and point `current` at it (relative)."""
    gen = paths.venvs / app / name
    gen.mkdir(parents=True, exist_ok=True)
    for file in files:
        (gen / file).parent.mkdir(parents=True, exist_ok=True)
        (gen / file).write_text(f"{app}:{file}\n", encoding="utf-8")
    point(paths, app, "current", name)
    return gen


def point(paths: AppxPaths, app: str, pointer: str, generation: str) -> None:
    """Set venvs/<app>/<pointer> to name `generation` (which need not exist)."""
    link = paths.venvs / app / pointer
    link.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(link):
        link.unlink()
    link.symlink_to(generation)


def user_file(path: Path, text: str = "#!/bin/sh\necho mine\n", mode: int = 0o751) -> bytes:
    """Write a user's own executable at `path`; return its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path.read_bytes()
