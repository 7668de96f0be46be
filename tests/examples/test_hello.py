"""examples/hello: the smallest package, a pure WSGI app with a setting, a writable dir and a command.

It is installed with ``pyapp install`` and reached over its daemon's socket (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from apppackage import AppPackage

if TYPE_CHECKING:
    from conftest import Installed, Served
    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "/apps/hello"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def hello(install: Any) -> Installed:
    return install("hello", {"greeting": "Hi"})


def test_validates(pyapp_for: Callable[[str], BuildResult]) -> None:
    for path in (EXAMPLES / "hello", pyapp_for("hello").path):
        with AppPackage(path) as package:
            assert package.validate() == [], path


def test_the_page_greets_and_counts_visits(hello: Installed) -> None:
    hello.mount(PREFIX)
    app = hello.web(PREFIX)
    first = app.get("/")
    second = app.get("/")
    assert first.content_type == "text/html"
    assert "<h1>Hi from hello 1.0.0</h1>" in first.text
    assert "<p>Visit number 1.</p>" in first.text
    assert "<p>Visit number 2.</p>" in second.text
    assert f'<a href="{PREFIX}/env">' in first.text
    assert (hello.writable_path("counters") / "visits").read_text() == "2"


def test_env_shows_what_the_host_gave(hello: Installed) -> None:
    hello.mount(PREFIX)
    data = hello.web(PREFIX).get("/env").json
    assert data["script_name"] == PREFIX
    variables = data["variables"]
    assert variables["PYAPP_NAME"] == "hello"
    assert variables["PYAPP_ROOT"] == str(hello.release)
    assert hello.release.parent == hello.app_dir / "releases"
    # The daemon reads the values the operator gave from a file of its generation, under run/.
    config_file = Path(variables["PYAPP_CONFIG_FILE"])
    assert config_file.parent == hello.app_dir / "run"
    assert yaml.safe_load(config_file.read_text()) == {"greeting": "Hi"}
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(hello.writable_path("counters"))


def test_health_and_not_found(hello: Installed) -> None:
    app = hello.web()
    assert app.get("/health").text == "ok"
    app.get("/nothing", status=404)


def test_greet_command(hello: Installed) -> None:
    greeted = hello.run_command("greet", "Ada", "Grace")
    assert (greeted.returncode, greeted.output) == (0, "Hi, Ada!\nHi, Grace!\n")
    usage = hello.run_command("greet")
    assert (usage.returncode, usage.output) == (2, "usage: greet NAME...\n")


@pytest.mark.slow
def test_pyapp_run_serves_the_built_package(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli_env: dict[str, str]
) -> None:
    built = pyapp_for("hello")
    served = serve_cli(built.path, "--set", "greeting=Howdy")
    page = served.get("/")
    variables = served.get_json("/env")["variables"]
    health = served.get("/health")
    missing = served.get("/missing")
    code, output = served.stop()
    assert page[:2] == (200, "text/html; charset=utf-8")
    assert "<h1>Howdy from hello 1.0.0</h1>" in page[2] and "Visit number 1." in page[2]
    assert health == (200, "text/plain", "ok")
    assert missing[0] == 404
    entry = Path(cli_env["XDG_CACHE_HOME"]) / "pyapp" / "run" / built.sha256
    assert variables["PYAPP_ROOT"] == str(entry / "app")
    state = Path(cli_env["XDG_STATE_HOME"]) / "pyapp" / "run" / "hello"
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(state / "data" / "counters")
    assert (code, "Traceback" in output) == (0, False)
