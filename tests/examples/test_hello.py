"""examples/hello: the smallest package, a pure WSGI app with a setting, a writable dir and a command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Deployment, Served
    from pyapp_tools.building.builder import BuildResult

PREFIX = "/apps/hello"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def hello(deploy: Any) -> Deployment:
    return deploy("hello", {"greeting": "Hi"})


def test_validates(hello: Deployment) -> None:
    assert hello.package.validate() == []


def test_the_page_greets_and_counts_visits(hello: Deployment) -> None:
    with hello.web(PREFIX) as app:
        first = app.get("/")
        second = app.get("/")
    assert first.content_type == "text/html"
    assert "<h1>Hi from hello 1.0.0</h1>" in first.text
    assert "<p>Visit number 1.</p>" in first.text
    assert "<p>Visit number 2.</p>" in second.text
    assert f'<a href="{PREFIX}/env">' in first.text
    assert (hello.host.writable_path("counters") / "visits").read_text() == "2"


def test_env_shows_what_the_host_gave(hello: Deployment) -> None:
    with hello.web(PREFIX) as app:
        data = app.get("/env").json
    assert data["script_name"] == PREFIX
    variables = data["variables"]
    assert variables["PYAPP_NAME"] == "hello"
    assert variables["PYAPP_ROOT"] == str(hello.host.root)
    assert variables["PYAPP_CONFIG_FILE"] == str(hello.host.config_file)
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(hello.host.writable_path("counters"))


def test_health_and_not_found(hello: Deployment) -> None:
    with hello.web() as app:
        assert app.get("/health").text == "ok"
        app.get("/nothing", status=404)


def test_greet_command(hello: Deployment) -> None:
    greeted = hello.package.run_command("greet", ["Ada", "Grace"], hello.host, capture=True)
    assert (greeted.returncode, greeted.output) == (0, "Hi, Ada!\nHi, Grace!\n")
    usage = hello.package.run_command("greet", [], hello.host, capture=True)
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
