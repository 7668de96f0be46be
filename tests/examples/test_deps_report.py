"""examples/deps-report: dependencies, one compiled, imported from the app's own site-packages."""

from __future__ import annotations

import importlib.machinery
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Deployment, Served
    from pyapp_tools.building.builder import BuildResult

PREFIX = "/apps/report"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def report(deploy: Any) -> Deployment:
    return deploy("deps-report")


def test_validates(report: Deployment) -> None:
    assert report.package.validate() == []


def test_dependencies_come_from_the_apps_site_packages(report: Deployment) -> None:
    with report.web() as app:
        data = app.get("/report.json").json
        markupsafe = sys.modules["markupsafe"]
        assert Path(markupsafe.__file__ or "").is_relative_to(report.site_packages)
    deps = {d["module"]: d for d in data["dependencies"]}
    assert set(deps) == {"markupsafe", "translationstring"}
    for dep in deps.values():
        assert Path(dep["file"]).is_relative_to(report.site_packages), dep
        assert dep["path_entry"] == str(report.site_packages)
        assert dep["in_interpreter"] is False
    assert deps["translationstring"]["version"] == "1.4"


def test_markupsafe_uses_its_compiled_speedups(report: Deployment) -> None:
    with report.web() as app:
        speedups = app.get("/report.json").json["speedups"]
    assert speedups["compiled"] is True
    assert speedups["escape_module"] == "markupsafe._speedups"
    assert speedups["file"].endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert Path(speedups["file"]).is_relative_to(report.site_packages)


def test_page_under_a_prefix(report: Deployment) -> None:
    with report.web(PREFIX) as app:
        page = app.get("/")
    assert page.content_type == "text/html"
    assert "<p>report 1.0.0 imported 2 dependencies.</p>" in page.text
    assert "markupsafe escapes with its compiled speedups" in page.text
    assert f"<code>{report.site_packages}/markupsafe/__init__.py</code>" in page.text
    assert re.findall(r'href="([^"]*)"', page.text) == [f"{PREFIX}/report.json"]


def test_health_and_not_found(report: Deployment) -> None:
    with report.web() as app:
        assert app.get("/health").text == "ok"
        app.get("/nothing", status=404)


@pytest.mark.slow
def test_pyapp_run_serves_the_built_package_offline(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli_env: dict[str, str]
) -> None:
    built = pyapp_for("deps-report")
    # No package index, and none to reach: the run cache installs the package's own deps/.
    env = cli_env | {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/"}
    served = serve_cli(built.path, env=env)
    data = served.get_json("/report.json")
    page = served.get("/")
    health = served.get("/health")
    code, output = served.stop()
    site = Path(cli_env["XDG_CACHE_HOME"]) / "pyapp" / "run" / built.sha256 / "site-packages"
    speedups = data["speedups"]
    assert (speedups["compiled"], speedups["escape_module"]) == (True, "markupsafe._speedups")
    assert speedups["file"].endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert Path(speedups["file"]).is_relative_to(site)
    for dep in data["dependencies"]:
        assert (dep["path_entry"], dep["in_interpreter"]) == (str(site), False), dep
    assert page[0] == 200
    assert f"markupsafe escapes with its compiled speedups: {speedups['file']}" in page[2]
    assert health == (200, "text/plain; charset=utf-8", "ok")
    assert (code, "Traceback" in output) == (0, False)
