"""A link of an app that the user replaced with a file of their own, or pointed elsewhere:
no command removes or overwrites it (DESIGN invariant 4), and each says so.

Only a symlink whose text lies under ``$APPX_HOME/venvs/<app>/current/`` is the app's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appx_checks import dir_entries
from factories import Env, IndexServer, RunAppx
from link_factories import user_file

pytestmark = pytest.mark.slow


def _take_over(env: Env) -> tuple[Path, bytes, Path, str]:
    """Replace multi-a's link by a user's file and point multi-c's link elsewhere."""
    mine = env.bin_dir / "multi-a"
    mine.unlink()
    content = user_file(mine)
    elsewhere = env.bin_dir / "multi-c"
    elsewhere.unlink()
    text = str(env.tmp / "my-own-multi-c")
    elsewhere.symlink_to(text)
    return mine, content, elsewhere, text


def _untouched(mine: Path, content: bytes, elsewhere: Path, text: str) -> None:
    assert not mine.is_symlink()
    assert mine.read_bytes() == content
    assert elsewhere.is_symlink()
    assert os.readlink(elsewhere) == text


# Each command, in turn, on multi-cmd at 2.0 (previous 1.0), with both links taken over.
# A command that would need a taken name stops with a conflict (5) naming it; the others go
# on around them. None of them touches what the user put there.
STEPS: list[tuple[tuple[str, ...], set[int]]] = [
    (("upgrade", "multi-cmd"), {0}),  # already at the newest: nothing to expose
    (("rollback", "multi-cmd"), {5}),  # 1.0 needs multi-a back
    (("reinstall", "multi-cmd"), {5}),
    (("inject", "multi-cmd", "dep-lib"), {5}),
    (("sync", "{export}"), {0, 5}),
]


def test_a_users_file_or_retargeted_link_survives_every_command(
    run_appx: RunAppx, index: IndexServer, appx_env: Env
) -> None:
    assert run_appx("install", "multi-cmd==1.0").code == 0
    exported = appx_env.tmp / "apps.toml"
    exported.write_text(run_appx("export").stdout)
    assert run_appx("upgrade", "multi-cmd").code == 0
    taken = _take_over(appx_env)

    listed = json.loads(run_appx("list", "--json").stdout)["apps"][0]
    assert listed["problems"], listed  # list reports both
    for step, codes in STEPS:
        args = [str(exported) if arg == "{export}" else arg for arg in step]
        result = run_appx(*args)
        assert result.code in codes, (step, result)
        assert "Traceback" not in result.stderr, result
        if result.code == 5:
            assert "multi-a is taken by a file" in result.stderr, result
        _untouched(*taken)

    removed = run_appx("uninstall", "multi-cmd")
    assert removed.code == 0, removed
    _untouched(*taken)
    for place in (taken[0], taken[2]):  # uninstall names what it left alone
        assert f"left {place} (" in removed.stderr, removed
    assert dir_entries(appx_env.bin_dir) == {"multi-a", "multi-c"}
