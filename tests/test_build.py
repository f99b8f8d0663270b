"""What to build: a request from a spec and options, and the same one read back from a receipt."""

from __future__ import annotations

import io
from pathlib import Path

from appx.build import BuildContext, BuildRequest, build_generation, request_from_receipt
from appx.credentials import load_credentials
from appx.indexes import IndexOptions
from appx.output import Console
from appx.paths import AppxPaths
from appx.receipt import load_receipt
from appx.specs import parse_spec
from fake_backend import FakeBackend, FakePackage, this_interpreter


def test_a_receipt_with_its_secrets_gives_back_the_request_that_built_it(
    paths: AppxPaths, tmp_path: Path
) -> None:
    index = IndexOptions(
        index_url="https://ghp_TOKEN@pypi.example.org/simple",
        extra_index_urls=("https://alice:pw@extra.example.org/simple",),
        find_links=(str(tmp_path / "wheels"),),
        pre=True,
        pip_args=("--prefer-binary",),
    )
    spec = parse_spec("tool[extra]>=1", cwd=tmp_path)
    request = BuildRequest("tool+-b", "tool", spec, "-b", True, index, injected=("plugin",))
    backend = FakeBackend(
        {
            "tool": FakePackage("tool", "1.5", commands=["tool"]),
            "plugin": FakePackage("plugin", "0.1", commands=["plug"]),
        }
    )
    generation = paths.apps.begin_generation("tool+-b")
    console = Console(out=io.StringIO(), err=io.StringIO())
    tools = BuildContext(backend, this_interpreter(), console, tmp_path / "log")
    built = build_generation(tools, generation, request)

    public = load_receipt(generation.path)
    assert "ghp_TOKEN" not in str(public)
    assert "pw@" not in str(public)
    rebuilt = request_from_receipt(public.with_secrets(load_credentials(generation.path)))
    assert rebuilt == request
    assert backend.installs == [["tool[extra]>=1", "plugin"]]
    assert built.injected == ("plugin",)
    # --include-deps exposes the injected package's commands too
    assert [c.exposed_as for c in built.commands] == ["plug-b", "tool-b"]
