"""examples/deps-report: dependencies, one compiled, imported from the host's shared server-packages.

It is installed with ``pyapp install`` and reached over its daemon's socket (see conftest.py).
"""

from __future__ import annotations

import importlib.machinery
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from testkit import app_process

from apppackage import AppPackage

if TYPE_CHECKING:
    from conftest import Installed, Served
    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "/apps/report"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def report(install: Any) -> Installed:
    return install("deps-report")


def site_of(report: Installed, name: str) -> Path:
    """Where the install put the distribution *name*: its own directory in the host's server-packages."""
    (path,) = [Path(d["path"]) for d in report.report["dependencies"] if d["name"] == name]
    assert path.parent == report.home / "server-packages", path
    return path


def test_validates(pyapp_for: Callable[[str], BuildResult]) -> None:
    for path in (EXAMPLES / "deps-report", pyapp_for("deps-report").path):
        with AppPackage(path) as package:
            assert package.validate() == [], path


def test_dependencies_come_from_the_hosts_server_packages(report: Installed) -> None:
    data = report.web().get("/report.json").json
    sites = {name: site_of(report, name) for name in ("markupsafe", "translationstring")}
    assert sites["markupsafe"].name.startswith("markupsafe-3.0.3-")  # a compiled wheel: its tag too
    assert sites["translationstring"].name == "translationstring-1.4"
    # The daemon itself has markupsafe's compiled part loaded from there.
    maps = Path(f"/proc/{app_process(report.process('web')['pid'])}/maps").read_text()
    loaded = {line.split()[-1] for line in maps.splitlines() if "/markupsafe/_speedups" in line}
    assert loaded and all(Path(f).is_relative_to(sites["markupsafe"]) for f in loaded), loaded
    deps = {d["module"]: d for d in data["dependencies"]}
    assert set(deps) == {"markupsafe", "translationstring"}
    for name, dep in deps.items():
        assert Path(dep["file"]).is_relative_to(sites[name]), dep
        assert dep["path_entry"] == str(sites[name])
        assert dep["in_interpreter"] is False
    assert deps["translationstring"]["version"] == "1.4"


def test_markupsafe_uses_its_compiled_speedups(report: Installed) -> None:
    speedups = report.web().get("/report.json").json["speedups"]
    assert speedups["compiled"] is True
    assert speedups["escape_module"] == "markupsafe._speedups"
    assert speedups["file"].endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert Path(speedups["file"]).is_relative_to(site_of(report, "markupsafe"))


def test_page_under_a_prefix(report: Installed) -> None:
    report.mount(PREFIX)
    page = report.web(PREFIX).get("/")
    assert page.content_type == "text/html"
    assert "<p>report 1.0.0 imported 2 dependencies.</p>" in page.text
    assert "markupsafe escapes with its compiled speedups" in page.text
    assert f"<code>{site_of(report, 'markupsafe')}/markupsafe/__init__.py</code>" in page.text
    assert re.findall(r'href="([^"]*)"', page.text) == [f"{PREFIX}/report.json"]


def test_health_and_not_found(report: Installed) -> None:
    app = report.web()
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
