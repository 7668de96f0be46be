"""ASGI apps (spec section 3.16) run as supervised uvicorn daemons: real supervisord, the daemon in its
sandbox where bubblewrap works, uvicorn lent by the host (the test apps bundle none), real requests and
WebSockets over unix sockets and ports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.processes.daemons import DaemonFailed
from pyapp_runtime.webservers import Mount, RouteStore, Upstream, VirtualHost
from testkit import fetch
from wsclient import Closed, Refused, WebSocket, talk

pytestmark = pytest.mark.slow

FAILING_STARTUP = """
async def failing(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        print("webprobe: cannot reach its database", flush=True)
        await send({"type": "lifespan.startup.failed", "message": "no database"})
        return
    await application(scope, receive, send)
"""


def test_an_asgi_app_serves_on_its_stable_socket_after_its_lifespan_start_up(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe(asgi=True))
    sock = helpers.stable_socket(home, "webprobe")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")
    assert json.loads(helpers.request(sock, "/lifespan")[1]) == {"started": True}
    env = helpers.env_of(sock)
    # Nothing of the host but the server: uvicorn brings click.
    assert {name.split(".")[0] for name in env["heavy"]} <= {"click"}, env["heavy"]
    variables = env["variables"]
    assert variables["PYAPP_ROOT"] == str(host.release("webprobe").path)
    assert variables["PYAPP_SOCKET"].endswith(".sock") and variables["PYAPP_MOUNT_PATH"] == ""
    assert (env["script_name"], env["path"]) == ("", "/env")
    assert env["cwd"] == str(home / "apps" / "webprobe" / "data")
    assert talk(sock, "/ws", ["hi", "there"]) == ["1.0.0  hi", "1.0.0  there"]
    (web,) = host.status("webprobe")
    assert (web.process, web.state) == ("web", "running")
    shown = host.show("webprobe")
    assert shown.asgi and shown.asgi.endswith(":application") and shown.wsgi is None, shown.asgi
    # The host lent uvicorn from its own copy, after the release's sys.path.
    assert (home / "host-packages").is_dir()
    assert any(p.name.startswith("uvicorn-") for p in (home / "host-packages").iterdir())


def test_a_mounted_asgi_app_sees_its_mount_path_as_root_path_and_trusts_only_the_local_proxy(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    store = RouteStore(home / "webservers")
    store.update(
        lambda r: r.add_vhost(VirtualHost(name="main", port=8080, server_names=("apps.example",))).mount(
            Mount(app="webprobe", vhost="main", prefix="/probe", upstream=Upstream.unix("/nowhere.sock"))
        )
    )
    host.install(packages.webprobe(asgi=True))
    sock = helpers.stable_socket(home, "webprobe")
    env = helpers.env_of(sock, "/probe")
    # The whole path, the mount path as root_path (the ASGI specification's mapping of SCRIPT_NAME).
    assert (env["script_name"], env["path"], env["path_info"]) == ("/probe", "/probe/env", "/env")
    assert env["variables"]["PYAPP_MOUNT_PATH"] == "/probe"
    assert helpers.request(sock, "/elsewhere")[0] == 404
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    status, body = helpers.request(sock, "/probe/env", headers=forwarded)
    assert status == 200
    assert (json.loads(body)["remote_addr"], json.loads(body)["scheme"]) == ("203.0.113.9", "https")
    assert talk(sock, "/probe/ws", ["hi"]) == ["1.0.0 /probe hi"]
    with pytest.raises(Refused) as refused:
        talk(sock, "/ws", ["outside the mount"])
    assert refused.value.status == 403


def test_on_a_port_shared_by_processes(make_host: Callable[..., Host], packages: Any, helpers: Any) -> None:
    host = make_host(listen="port", method="processes", processes=2)
    host.install(packages.webprobe(asgi=True))
    webs = host.status("webprobe")
    assert [w.process for w in webs] == ["web#0", "web#1"] and {w.state for w in webs} == {"running"}
    port = webs[0].port
    assert port is not None and all(w.port == port for w in webs)
    assert helpers.request(port) == (200, "webprobe 1.0.0")
    env = helpers.env_of(port)
    assert env["variables"]["PYAPP_PORT"] == str(port) and env["remote_addr"] == "127.0.0.1"
    assert talk(port, "/ws", ["over the port"]) == ["1.0.0  over the port"]
    # Proxy headers are believed from the loopback only, where the web server is.
    assert helpers.env_of(port)["scheme"] == "http"
    status, body = helpers.request(port, "/env", headers={"X-Forwarded-Proto": "https"})
    assert (status, json.loads(body)["scheme"]) == (200, "https")


def test_a_failed_lifespan_start_up_fails_the_install_and_shows_why(host: Host, packages: Any) -> None:
    package = packages.webprobe(asgi="webprobe:failing", extra=FAILING_STARTUP)
    with pytest.raises(DaemonFailed) as caught:
        host.install(package)
    message = str(caught.value)
    assert "webprobe 1.0.0" in message and "nothing was started" in message
    assert "webprobe: cannot reach its database" in message  # its output
    assert "lifespan start-up failed" in message
    assert not host.is_installed("webprobe")


def test_an_update_of_an_asgi_app_keeps_its_websocket_route_under_the_new_release(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe(asgi=True, static={"/static": "static"}, files={"static/a.txt": "one"}))
    sock = helpers.stable_socket(home, "webprobe")
    assert fetch(sock, "/static/a.txt")[2] == b"one"
    host.install(
        packages.webprobe("1.1.0", asgi=True, static={"/static": "static"}, files={"static/a.txt": "two"})
    )
    assert fetch(sock, "/static/a.txt")[2] == b"two"
    assert talk(sock, "/ws", ["again"]) == ["1.1.0  again"]


def test_an_open_websocket_is_closed_as_a_restart_by_an_update_and_the_next_reaches_the_new_release(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe(asgi=True))
    sock = helpers.stable_socket(home, "webprobe")
    ws = WebSocket(sock, "/ws")
    ws.send("before")
    assert ws.receive() == "1.0.0  before"

    host.install(packages.webprobe("1.1.0", asgi=True))

    # A WebSocket cannot move to the new release: the old one closes it with 1012 (service restart) as it
    # stops, and the client connects again, to the new one.
    try:
        with pytest.raises(Closed) as closed:
            ws.receive()
    finally:
        ws.close()
    assert closed.value.code == 1012
    assert talk(sock, "/ws", ["after"]) == ["1.1.0  after"]
