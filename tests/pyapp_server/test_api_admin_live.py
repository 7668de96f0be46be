"""The host through a live pyapp-server: a web server chosen, started, stopped and switched through the JSON
API, and an app whose processes run under a real supervisord reloaded after a settings change, with its
processes' output read. Every answer is checked against the OpenAPI document; what is checked is what a
user sees: whether the vhost's port answers, which process answers on the app's socket.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiconsole import ApiConsole
from pyapp_runtime.webservers import find_installation
from testkit import free_port, gone, processes_under, request, stop_process, stop_supervisord, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def base() -> Iterator[Path]:
    """A short directory under /tmp the web server's workers (another user, as root) may traverse.

    Afterwards every process left running on its files (a web server, supervisord and its apps) stops.
    """
    made = Path(tempfile.mkdtemp(prefix="pyapp-adm-", dir="/tmp"))
    made.chmod(0o711)
    try:
        yield made
    finally:
        stop_supervisord(made / "data" / "supervisor")
        for pid in processes_under(made):
            stop_process(pid)
        shutil.rmtree(made, ignore_errors=True)


def answers(port: int) -> bool:
    try:
        request(port, "/")
    except OSError:
        return False
    return True


def test_a_web_server_is_chosen_driven_and_switched_through_the_api(
    base: Path, live_server: Any, server_env: dict[str, str], openapi: Any
) -> None:
    first, second = "nginx", "lighttpd"
    for kind in (first, second):
        if find_installation(kind) is None:
            pytest.skip(f"{kind} is not installed (./dev test installs it)")
    server = live_server(data_dir=base / "data", env={**server_env, "PYAPP_DAEMONS": "0"})
    console = ApiConsole(server, openapi)
    port = free_port()
    console.ok("POST", "/api/v1/vhosts", {"name": "main", "port": port})
    assert console.ok("GET", "/api/v1/web")["running"] is False and not answers(port)

    chosen = console.ok("PUT", "/api/v1/host/settings", {"web_server": first})
    assert chosen["changed"] == ["web_server"]
    assert (chosen["web_server"]["kind"], chosen["web_server"]["running"]) == (first, True)
    assert answers(port), f"{first} serves the virtual host"
    web = console.ok("GET", "/api/v1/web")
    assert (web["setting"], web["kind"], web["running"], web["vhosts"]) == (first, first, True, 1)
    assert web["config"].startswith(str(base)) and web["pid"] == chosen["web_server"]["pid"]
    assert console.ok("GET", "/api/v1/host")["web_server"]["pid"] == web["pid"]

    stopped = console.ok("POST", "/api/v1/web/stop")
    assert stopped["running"] is False and stopped["pid"] is None
    wait_until(lambda: gone(web["pid"]), f"{first} has stopped")
    assert not answers(port)
    started = console.ok("POST", "/api/v1/web/start")
    assert started["running"] is True and answers(port)
    assert console.ok("POST", "/api/v1/web/apply")["pid"] == started["pid"], "applied by a graceful reload"

    # Another web server takes over the routes: the first one stops, the second serves the same port.
    switched = console.ok("PUT", "/api/v1/host/settings", {"web_server": second})
    assert (switched["web_server"]["kind"], switched["web_server"]["running"]) == (second, True)
    wait_until(lambda: gone(started["pid"]), f"{first} has stopped")
    assert answers(port), f"{second} serves the virtual host"

    back = console.ok("PUT", "/api/v1/host/settings", {"web_server": None})
    assert back["web_server"]["setting"] == "none" and back["web_server"]["running"] is False
    wait_until(lambda: gone(switched["web_server"]["pid"]), f"{second} has stopped")
    assert not answers(port)
    status, refused = console.call("POST", "/api/v1/web/start")
    assert status == 409 and refused["error"]["code"] == "no-web-server"

    events = console.ok("GET", "/api/v1/events?limit=20")["events"]
    assert [e["kind"] for e in reversed(events) if e["kind"] in ("web", "settings")] == [
        "settings", "web", "web", "web", "settings", "settings",
    ]  # fmt: skip


def test_an_app_is_reloaded_onto_new_settings_and_its_output_read(
    base: Path, live_server: Any, server_env: dict[str, str], openapi: Any, packages: Any
) -> None:
    server = live_server(data_dir=base / "data", env={**server_env, "PYAPP_DAEMONS": "1"})
    console = ApiConsole(server, openapi)
    console.install(
        packages.hello(hooks="tasks:\n  greet:\n    call: hello.commands:greet\n    every: 3600\n")
    )
    sock = base / "data" / "apps" / "hello" / "run" / "web.sock"
    assert request(sock, "/")[0] == 200
    host = console.ok("GET", "/api/v1/host")
    assert host["supervisor"]["state"] == "running" and host["supervisor"]["pid"]

    def scheduler_said() -> list[str]:
        (tasks,) = console.ok("GET", "/api/v1/apps/hello/processes/tasks/log?lines=50")["logs"]
        assert tasks["process"] == "tasks" and len(tasks["lines"]) <= 50
        return [line for line in tasks["lines"] if "hello 1.0.0: scheduling greet" in line]

    wait_until(scheduler_said, "the task scheduler's output is read")
    assert [log["process"] for log in console.ok("GET", "/api/v1/apps/hello/processes/web/log")["logs"]] == [
        "web"
    ]
    status, unknown = console.call("GET", "/api/v1/apps/hello/processes/nope/log")
    assert status == 404 and {"web", "tasks", "hooks"} <= set(unknown["error"]["known"])

    before = [p for p in console.ok("GET", "/api/v1/apps/hello")["processes"] if p["role"] == "web"]
    changed = console.ok("PUT", "/api/v1/host/settings", {"threads": 2})
    assert changed["reload"] == ["hello"], "hello runs by the old settings until it is reloaded"

    reloaded = console.ok("POST", "/api/v1/apps/hello/reload")
    assert (reloaded["name"], reloaded["action"]) == ("hello", "reload")
    (web,) = [p for p in reloaded["processes"] if p["role"] == "web"]
    assert web["state"] == "running" and web["pid"] != before[0]["pid"]
    assert request(sock, "/")[0] == 200
    wait_until(lambda: gone(before[0]["pid"]), "the old WSGI daemon has ended")
    assert console.ok("PUT", "/api/v1/host/settings", {"stop_wait": 20})["reload"] == ["hello"]
    events = console.ok("GET", "/api/v1/events?app=hello&kind=reload")["events"]
    assert [(e["message"], e["actor"]) for e in events] == [("hello reloaded", "local")]
