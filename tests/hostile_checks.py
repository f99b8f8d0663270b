"""What the hostile-input tests compare: snapshots of appx's directories, and hand-made wheels."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import factories
from factories import Env, ProcResult

if TYPE_CHECKING:
    from collections.abc import Iterable

# Kept by design after any command, failed or not: installer logs, lock files, scratch,
# and the shared pip (a cache of the pip backend).
VOLATILE = frozenset({"logs", "locks", "tmp", "shared"})


def tree(root: Path, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """Every entry under ``root`` (relative path -> what it is: file digest, link text, dir).

    Top-level names in ``skip`` are left out. A missing root is an empty tree.
    """
    skipped = set(skip)
    found: dict[str, str] = {}
    if not os.path.lexists(root):
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [name for name in dirnames if name not in skipped]
        top = skipped if rel_dir == "." else set()
        for name in dirnames + [name for name in filenames if name not in top]:
            path = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if path.is_symlink():
                found[rel] = "link -> " + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = "file " + hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def state(env: Env) -> dict[str, dict[str, str]]:
    """What a user would call appx's state: APPX_HOME (less logs, locks, scratch), bin, man."""
    home = tree(env.appx_home, skip=VOLATILE)
    home.pop("venvs", None)  # made by the first command that takes a lock; its apps count
    return {
        "home": home,
        "bin": tree(env.bin_dir),
        "man": tree(env.man_dir),
    }


def assert_clean_failure(result: ProcResult, code: int) -> None:
    """A failure a user can read: the documented exit code, one error line, no traceback."""
    assert result.code == code, result
    assert "Traceback" not in result.stderr, result
    assert result.stderr.count("error:") >= 1, result


def hand_made_wheel(
    dest: Path, name: str, members: Iterable[tuple[str, bytes, int]], *, command: str
) -> Path:
    """A wheel of ``name`` with one module ``m`` (command ``command``) and these extra members.

    The members are zipped as given, with their RECORD lines, however hostile their names.
    """
    stem = f"{factories.dist_name(name)}-1.0"
    info = f"{stem}.dist-info"
    files = [("m.py", b"def main():\n    print('hi')\n", 0o644), *members]
    files += [
        (f"{info}/METADATA", factories.metadata_text(name, "1.0").encode(), 0o644),
        (f"{info}/WHEEL", factories.WHEEL_TEXT.encode(), 0o644),
        (
            f"{info}/entry_points.txt",
            factories.entry_points_text({command: "m:main"}, {}).encode(),
            0o644,
        ),
    ]
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{stem}-py3-none-any.whl"
    factories.write_wheel(path, files, record_path=f"{info}/RECORD")
    return path
