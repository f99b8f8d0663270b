"""The in-tree PEP 517/660 build backend of every test project, and the pyproject that names it.

``factories.make_project`` writes both into a project, so pip builds it offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# It runs under the target Python (3.9 to 3.13), in a process of its own, so it is plain stdlib
# text and repeats the small wheel writer of factories.py.
BACKEND_SOURCE = r"""'In-tree PEP 517/660 build backend of an appx test project: stdlib, offline.'

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from pathlib import Path

PROJECT_FILE = "appx-project.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SDIST_MTIME = 315532800  # 1980-01-01: files of an sdist must fit in a zip
SDIST_FILES = ("pyproject.toml", PROJECT_FILE, "_backend", "src", "scripts", "man")


def _project():
    return json.loads(Path(PROJECT_FILE).read_text(encoding="utf-8"))


def _stem(project):
    name = re.sub(r"[-_.]+", "_", project["name"]).lower()
    return f"{name}-{project['version']}"


def _files(top):
    found = []
    for path in sorted(top.rglob("*")) if top.is_dir() else ():
        if path.is_file() and "__pycache__" not in path.parts:
            found.append((path.relative_to(top).as_posix(), path))
    return found


def _metadata(project):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}"]
    lines.append(f"Version: {project['version']}")
    if project["requires_python"]:
        lines.append(f"Requires-Python: {project['requires_python']}")
    lines += [f"Requires-Dist: {dep}" for dep in project["dependencies"]]
    return "\n".join(lines) + "\n"


def _dist_info(project):
    sections = []
    for group in ("console_scripts", "gui_scripts"):
        if project[group]:
            body = "".join(f"{key} = {value}\n" for key, value in project[group].items())
            sections.append(f"[{group}]\n{body}")
    wheel = "Wheel-Version: 1.0\nGenerator: appx_test_backend\nRoot-Is-Purelib: true\n"
    return {
        "METADATA": _metadata(project),
        "WHEEL": wheel + "Tag: py3-none-any\n",
        "entry_points.txt": "\n".join(sections),
    }


def _hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _build(wheel_directory, editable):
    project = _project()
    stem = _stem(project)
    root = Path.cwd()
    if editable:
        pth = (str(root / "src") + "\n").encode()
        entries = [(f"_appx_editable_{stem.split('-')[0]}.pth", pth, 0o644)]
    else:
        entries = [(rel, file.read_bytes(), 0o644) for rel, file in _files(root / "src")]
    data_dir = stem + ".data/"
    for rel, path in _files(root / "scripts"):
        entries.append((data_dir + "scripts/" + rel, path.read_bytes(), 0o755))
    for rel, path in _files(root / "man"):
        entries.append((data_dir + "data/share/man/" + rel, path.read_bytes(), 0o644))
    info = stem + ".dist-info/"
    for name, text in _dist_info(project).items():
        entries.append((info + name, text.encode(), 0o644))
    record = "".join(f"{name},{_hash(data)},{len(data)}\n" for name, data, _ in entries)
    entries.append((info + "RECORD", (record + info + "RECORD,,\n").encode(), 0o644))
    filename = stem + "-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / filename, "w") as archive:
        for name, payload, mode in entries:
            member = zipfile.ZipInfo(name, ZIP_DATE)
            member.external_attr = (0o100000 | mode) << 16
            archive.writestr(member, payload, zipfile.ZIP_DEFLATED)
    return filename


def _prepare_metadata(metadata_directory):
    project = _project()
    info = Path(metadata_directory) / (_stem(project) + ".dist-info")
    info.mkdir(parents=True, exist_ok=True)
    for name, text in _dist_info(project).items():
        (info / name).write_text(text, encoding="utf-8")
    return info.name


def _add(archive, name, payload, mode):
    member = tarfile.TarInfo(name)
    member.size = len(payload)
    member.mode = mode
    member.mtime = SDIST_MTIME
    archive.addfile(member, io.BytesIO(payload))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    stem = _stem(project)
    root = Path.cwd()
    filename = stem + ".tar.gz"
    path = Path(sdist_directory) / filename
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        _add(archive, stem + "/PKG-INFO", _metadata(project).encode(), 0o644)
        for part in SDIST_FILES:
            if (root / part).is_file():
                _add(archive, stem + "/" + part, (root / part).read_bytes(), 0o644)
            for rel, file in _files(root / part):
                mode = 0o755 if os.access(file, os.X_OK) else 0o644
                _add(archive, f"{stem}/{part}/{rel}", file.read_bytes(), mode)
    return filename
"""


def pyproject_text(project: Mapping[str, object], *, static_name: bool) -> str:
    """A pyproject.toml for the in-tree backend; ``[project]`` fully static, or absent."""
    lines = [
        "[build-system]",
        "requires = []",
        'build-backend = "appx_test_backend"',
        'backend-path = ["_backend"]',
    ]
    if static_name:
        dependencies = project["dependencies"]
        assert isinstance(dependencies, list)
        lines += [
            "",
            "[project]",
            f"name = {_toml_string(str(project['name']))}",
            f"version = {_toml_string(str(project['version']))}",
            f"dependencies = [{', '.join(_toml_string(str(dep)) for dep in dependencies)}]",
        ]
        if project["requires_python"]:
            lines.append(f"requires-python = {_toml_string(str(project['requires_python']))}")
        for table, key in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
            entries = project[key]
            assert isinstance(entries, dict)
            if entries:
                lines += ["", f"[project.{table}]"]
                lines += [f"{_toml_string(k)} = {_toml_string(v)}" for k, v in entries.items()]
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    """A TOML basic string (escapes quotes, backslashes and control characters)."""
    escaped = "".join(
        "\\" + char
        if char in '"\\'
        else f"\\u{ord(char):04x}"
        if ord(char) < 0x20 or ord(char) == 0x7F
        else char
        for char in value
    )
    return f'"{escaped}"'
