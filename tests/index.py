"""The local index: a pypiserver on 127.0.0.1 pre-filled with a catalogue of wheels.

It builds its wheels with ``factories``, which re-exports the public names at its end: tests
import them from there (or use the ``index_server`` fixture) and never import this module first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Unpack

from factories import DROPPED_PREFIXES, build_wheel, main_entry

if TYPE_CHECKING:
    from pathlib import Path

    from factories import WheelOptions

CATALOGUE: dict[tuple[str, str], WheelOptions] = {
    ("cowsay-lite", "1.0"): {"console_scripts": {"cowsay-lite": main_entry("cowsay-lite")}},
    ("cowsay-lite", "2.0"): {"console_scripts": {"cowsay-lite": main_entry("cowsay-lite")}},
    ("tool-with-man", "1.0"): {
        "console_scripts": {"tool-with-man": main_entry("tool-with-man")},
        "man_pages": {"man1/tool-with-man.1": ".TH TOOL-WITH-MAN 1\n.SH NAME\ntool-with-man\n"},
    },
    ("dep-lib", "1.0"): {"console_scripts": {"dep-tool": main_entry("dep-lib")}},
    ("app-with-dep", "1.0"): {
        "console_scripts": {"app-with-dep": main_entry("app-with-dep")},
        "dependencies": ["dep-lib"],
    },
    ("no-commands", "1.0"): {},
    ("gui-app", "1.0"): {"gui_scripts": {"gui-app": main_entry("gui-app")}},
    ("script-app", "1.0"): {
        "scripts": {"script-app": "#!python\nprint('script-app 1.0')\n"},
    },
    ("multi-cmd", "1.0"): {
        "console_scripts": {"multi-a": main_entry("multi-cmd"), "multi-b": main_entry("multi-cmd")}
    },
    ("multi-cmd", "2.0"): {
        "console_scripts": {"multi-a": main_entry("multi-cmd"), "multi-c": main_entry("multi-cmd")}
    },
    ("future-python", "1.0"): {
        "console_scripts": {"future-python": main_entry("future-python")},
        "requires_python": ">=4",
    },
}


@dataclass
class IndexServer:
    """A running pypiserver on 127.0.0.1 that serves ``packages_dir``, listed afresh per request."""

    url: str
    packages_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def add_wheel(self, name: str, version: str = "1.0", **options: Unpack[WheelOptions]) -> Path:
        """Build a wheel into the index; at once visible. Names are shared by the whole session.

        Re-adding an identical wheel is a no-op; a different one under the same file name
        raises FileExistsError (pip caches hashes, and other tests rely on the catalogue).
        """
        staging = self.packages_dir.parent / "staging"
        built = build_wheel(staging, name, version, **options)
        target = self.packages_dir / built.name
        if target.exists():
            same = target.read_bytes() == built.read_bytes()
            built.unlink()
            if not same:
                raise FileExistsError(f"{target.name} is already in the index with other content")
            return target
        built.replace(target)
        return target

    def stop(self, timeout: float = 5.0) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def populate_catalogue(packages_dir: Path) -> None:
    """Build every wheel of :data:`CATALOGUE` into ``packages_dir``."""
    for (name, version), options in CATALOGUE.items():
        build_wheel(packages_dir, name, version, **options)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_index_server(packages_dir: Path, log_path: Path, *, wait: float = 20.0) -> IndexServer:
    """Start pypiserver on a free port and return once ``/simple/`` answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_PREFIXES)}
    for _attempt in range(3):  # the free port can be taken before pypiserver binds it
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pypiserver",
                    "run",
                    *("-p", str(port), "-i", "127.0.0.1"),
                    "--disable-fallback",  # never redirect a missing project to pypi.org
                    *("-a", ".", "-P", "."),  # no authentication for any action
                    *("--backend", "simple-dir"),  # list the directory on every request
                    *("--hash-algo", "sha256"),
                    os.fspath(packages_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        server = IndexServer(f"http://127.0.0.1:{port}/simple/", packages_dir, log_path, process)
        if _wait_until_up(server, wait):
            return server
        server.stop()
        if "Address already in use" not in log_path.read_text(errors="replace"):
            break
    output = log_path.read_text(errors="replace")
    raise RuntimeError(f"pypiserver did not answer on {server.url} within {wait}s:\n{output}")


def _wait_until_up(server: IndexServer, wait: float) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            with opener.open(server.url, timeout=1) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    return False
