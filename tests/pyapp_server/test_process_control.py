"""Starting, stopping and restarting an app through a live pyapp-server that runs apps' processes.

The server runs with ``PYAPP_DAEMONS=1`` (the suite turns daemons off elsewhere), so the app
runs under a real supervisord; every request and every ``pyapp-ctl`` is real, and what is
checked is what a user sees: which process answers on the app's socket, and whether one does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiconsole import ApiConsole
from testkit import gone, request, stop_supervisord, wait_until

pytestmark = pytest.mark.slow


def serves(sock: Path) -> bool:
    status, body = request(sock)
    return status == 200 and "Hello from hello 1.0.0" in body


def does_not_answer(sock: Path) -> bool:
    try:
        request(sock)
    except OSError:
        return True
    return False


class Console(ApiConsole):
    """The live server and its admin token; every JSON answer is checked against the OpenAPI document."""

    def web(self, name: str) -> dict[str, Any] | None:
        """The app's WSGI daemon as ``GET /api/v1/apps/NAME`` shows it (``None``: none)."""
        status, shown = self.call("GET", f"/api/v1/apps/{name}")
        assert status == 200, shown
        webs = [p for p in shown["processes"] if p["role"] == "web"]
        return webs[0] if webs else None


@pytest.fixture
def console(live_server: Any, server_env: dict[str, str], openapi: Any) -> Iterator[Console]:
    """A live pyapp-server running apps' processes, on a host under a short path (unix sockets).

    Afterwards the server stops, then the supervisord it started and the apps with it.
    """
    base = Path(tempfile.mkdtemp(prefix="pyapp-pc-", dir="/tmp"))
    data_dir = base / "data"
    server = None
    try:
        server = live_server(data_dir=data_dir, env={**server_env, "PYAPP_DAEMONS": "1"})
        yield Console(server, openapi)
    finally:
        if server is not None:
            server.stop()
        stop_supervisord(data_dir / "supervisor")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def hello(console: Console, packages: Any) -> Path:
    """examples/hello installed through the server and serving; its stable socket."""
    assert console.call("GET", "/api/v1/info")[1]["features"]["processes"] is True
    console.install(packages.hello())
    sock = console.server.data_dir / "apps" / "hello" / "run" / "web.sock"
    assert serves(sock)
    return sock


def test_restart_stop_and_start_through_the_json_api(console: Console, hello: Path) -> None:
    first = console.web("hello")
    assert first is not None and first["state"] == "running"

    status, restarted = console.call("POST", "/api/v1/apps/hello/restart")
    assert status == 200, restarted
    assert (restarted["name"], restarted["action"]) == ("hello", "restart")
    (web,) = [p for p in restarted["processes"] if p["role"] == "web"]
    assert web["state"] == "running" and web["pid"] not in (None, first["pid"])
    assert serves(hello)
    wait_until(lambda: gone(first["pid"]), "the old WSGI daemon has ended")
    now = console.web("hello")
    assert now is not None and (now["pid"], now["state"]) == (web["pid"], "running")

    status, stopped = console.call("POST", "/api/v1/apps/hello/stop")
    assert status == 200, stopped
    assert not [p for p in stopped["processes"] if p["state"] == "running"]
    wait_until(lambda: gone(web["pid"]), "the stopped WSGI daemon has ended")
    assert does_not_answer(hello)
    assert console.web("hello") is None

    status, started = console.call("POST", "/api/v1/apps/hello/start")
    assert status == 200, started
    (again,) = [p for p in started["processes"] if p["role"] == "web"]
    assert again["state"] == "running" and again["pid"] not in (first["pid"], web["pid"])
    assert serves(hello)

    status, events = console.call("GET", "/api/v1/events?app=hello&limit=3")
    assert [(e["kind"], e["outcome"], e["actor"]) for e in events["events"]] == [
        ("start", "succeeded", "local"),
        ("stop", "succeeded", "local"),
        ("restart", "succeeded", "local"),
    ]


def test_a_viewer_may_not_stop_an_app(console: Console, hello: Path) -> None:
    status, viewer = console.call("POST", "/api/v1/tokens", {"role": "viewer", "name": "watcher"})
    assert status == 201
    before = console.web("hello")
    assert before is not None
    status, refused = console.call("POST", "/api/v1/apps/hello/stop", token=viewer["secret"])
    assert status == 403, refused
    assert "has the role viewer" in refused["error"]["message"]
    assert serves(hello)
    now = console.web("hello")
    assert now is not None and (now["pid"], now["state"]) == (before["pid"], "running")


def test_pyapp_ctl_restarts_stops_and_starts_an_app(
    console: Console, hello: Path, run_tool: Any, server_env: dict[str, str]
) -> None:
    def ctl(*args: str) -> Any:
        return run_tool(
            "pyapp-ctl", "--server", console.server.url, "--token", console.token, *args, env=server_env
        )

    first = console.web("hello")
    assert first is not None

    restarted = ctl("apps", "restart", "hello")
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout == "hello: restart done\n"
    second = console.web("hello")
    assert second is not None and second["state"] == "running" and second["pid"] != first["pid"]
    assert serves(hello)

    stopped = ctl("apps", "stop", "hello", "--json")
    assert stopped.returncode == 0, stopped.stderr
    stopped_data = json.loads(stopped.stdout)
    assert stopped_data["action"] == "stop"
    assert not [p for p in stopped_data["processes"] if p["state"] == "running"]
    wait_until(lambda: gone(second["pid"]), "the stopped WSGI daemon has ended")
    assert does_not_answer(hello)

    started = ctl("apps", "start", "hello")
    assert started.returncode == 0, started.stderr
    assert started.stdout == "hello: start done\n"
    third = console.web("hello")
    assert third is not None and third["state"] == "running"
    assert third["pid"] not in (first["pid"], second["pid"])
    assert serves(hello)

    missing = ctl("apps", "restart", "nothing-here")
    assert missing.returncode == 1
    assert "nothing-here" in missing.stderr
