"""A package whose requirements the host does not meet (spec section 3.3), installed through the API."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def needy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/hello requiring two programs no host has, built."""
    from pyapp_tools.building.builder import BuildOptions, build

    root = tmp_path_factory.mktemp("needy")
    source = root / "hello"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "examples" / "hello",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "dist"),
    )
    meta = source / "metadata.yaml"
    needs = 'requires:\n  python: ">=3.10"\n  external: [pyapp-test-no-such-tool, pyapp-test-nor-this-one]\n'
    meta.write_text(re.sub(r'(?m)^requires:\n  python: ">=3.10"\n', needs, meta.read_text()))
    assert "pyapp-test-nor-this-one" in meta.read_text()
    return build(source, BuildOptions(out_dir=root / "dist", offline=True)).path


def test_the_install_job_fails_naming_every_requirement_unless_told_to_ignore_them(api, needy) -> None:
    job = api.wait(api.upload("/api/v1/apps", needy).json)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "requirements-not-met"
    message = job["error"]["message"]
    assert "program pyapp-test-no-such-tool is not found on PATH" in message
    assert "program pyapp-test-nor-this-one is not found on PATH" in message
    assert api.get("/api/v1/apps/hello").status_int == 404
    job = api.wait(api.upload("/api/v1/apps", needy, query="ignore_requirements=true").json)
    assert job["state"] == "succeeded", job
    assert any("pyapp-test-no-such-tool" in w for w in job["result"]["warnings"])


def test_from_a_path_on_the_server_too(api, needy) -> None:
    on_server = api.on_server(needy)
    job = api.wait(api.post_json("/api/v1/apps", {"path": on_server}).json)
    assert (job["state"], job["error"]["code"]) == ("failed", "requirements-not-met")
    body = {"path": on_server, "ignore_requirements": True}
    assert api.wait(api.post_json("/api/v1/apps", body).json)["state"] == "succeeded"
