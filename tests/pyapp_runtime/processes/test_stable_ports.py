"""An app on a port keeps it: the generations an update, a rollback or a configuration change starts share
it (SO_REUSEPORT), the new one listening there only once healthy, and a client of the port loses nothing --
served by waitress (a WSGI app) or by uvicorn (an ASGI one)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.processes.daemons import DaemonFailed
from pyapp_runtime.processes.reuseport import migrate_requests
from testkit import Load, free_port

from apppackage._bootstrap import _listen, _steer

pytestmark = pytest.mark.slow

AT_LEAST = 2000
"""Quick requests sent to the port during each switch (two clients, each on a new connection every time)."""


def _port(host: Host, app: str = "webprobe") -> int:
    ports = {s.port for s in host.status(app) if s.role == "web"}
    assert len(ports) == 1, host.status(app)
    (port,) = ports
    assert port is not None
    return port


def _switch_under_load(host: Host, action: Callable[[], Any], expected: str) -> Load:
    """Run *action* while clients talk to the app's port directly; check that none lost a request."""
    port = _port(host)
    load = Load(port, quick=2, at_least=AT_LEAST)
    load.run(action)
    print(f"{len(load.results)} quick and {len(load.slow)} slow requests to :{port}: {load.failures()[:3]}")
    assert load.failures() == []
    assert len(load.results) >= AT_LEAST
    assert {body for _, body in load.results[-20:]} == {expected}  # the switch is over: the new side answers
    assert len(load.slow) >= 2  # requests were in progress while the old generation stopped
    assert _port(host) == port
    return load


@pytest.mark.parametrize("asgi", [False, True], ids=["wsgi", "asgi"])
@pytest.mark.parametrize("change", ["update", "rollback", "configuration"])
def test_a_switch_keeps_the_port_and_a_client_of_the_port_loses_no_request(
    make_host: Callable[..., Host], packages: Any, change: str, asgi: bool
) -> None:
    host = make_host(listen="port")
    host.install(packages.webprobe("1.0.0", config=True, asgi=asgi))
    if change == "update":
        new = packages.webprobe("1.1.0", config=True, asgi=asgi)
        action, expected = (lambda: host.install(new)), "webprobe 1.1.0"
    elif change == "rollback":
        host.install(packages.webprobe("1.1.0", config=True, asgi=asgi))
        action, expected = (lambda: host.rollback("webprobe")), "webprobe 1.0.0"
    else:
        action, expected = (lambda: host.set_config("webprobe", ["label=blue"])), "webprobe 1.0.0 blue"
    _switch_under_load(host, action, expected)
    if change == "configuration":  # the two generations take turns: the second change goes the same way
        _switch_under_load(host, lambda: host.set_config("webprobe", ["label=green"]), "webprobe 1.0.0 green")


@pytest.mark.parametrize("asgi", [False, True], ids=["waitress", "uvicorn"])
def test_server_processes_sharing_the_port_switch_the_same_way(
    make_host: Callable[..., Host], packages: Any, asgi: bool
) -> None:
    host = make_host(listen="port", method="processes", processes=2)
    host.install(packages.webprobe("1.0.0", config=True, asgi=asgi))
    new = packages.webprobe("1.1.0", config=True, asgi=asgi)
    _switch_under_load(host, lambda: host.install(new), "webprobe 1.1.0")
    _switch_under_load(host, lambda: host.set_config("webprobe", ["label=blue"]), "webprobe 1.1.0 blue")
    webs = host.status("webprobe")
    assert [w.process for w in webs] == ["web#0", "web#1"] and {w.state for w in webs} == {"running"}


def test_a_release_that_never_gets_healthy_never_answers_on_the_port(
    make_host: Callable[..., Host], packages: Any
) -> None:
    host = make_host(listen="port")
    first = host.install(packages.webprobe("1.0.0"))
    port = _port(host)
    load = Load(port, quick=2)

    with pytest.raises(DaemonFailed, match="GET /health answered 500"):
        load.run(lambda: host.install(packages.webprobe("2.0.0", broken=True)))

    assert load.failures() == []
    assert {body for _, body in load.results} == {"webprobe 1.0.0"}  # held back, it took no connection
    assert [(s.release, s.port) for s in host.status("webprobe")] == [(first.release, port)]


def test_ports_are_the_apps_released_when_it_is_removed_and_never_shared(
    make_host: Callable[..., Host], home: Path, packages: Any, helpers: Any
) -> None:
    host = make_host(listen="port")
    host.install(packages.example("worker"))
    host.install(packages.webprobe("1.0.0", config=True))
    before = {s.process: s.port for s in host.status("worker")}
    registry = json.loads((home / "ports.json").read_text())["ports"]
    assert registry == {
        "worker@web": before["web"], "worker@api-0": before["api#0"], "webprobe@web": _port(host),
    }  # fmt: skip
    assert len(set(registry.values())) == 3  # two apps never get the same port
    shown = host.show("worker").to_dict()
    assert shown["ports"] == {"web": before["web"], "api-0": before["api#0"]}
    assert shown["migrate_requests"] == migrate_requests()

    host.install(packages.example("worker", "1.1.0"))  # its API process binds the port beside the old one
    after = {s.process: s.port for s in host.status("worker")}
    assert after == before
    queued = urllib.request.Request(
        f"http://127.0.0.1:{after['api#0']}/jobs", data=json.dumps({"op": "upper", "text": "x"}).encode()
    )
    with urllib.request.urlopen(queued, timeout=10) as response:
        assert response.status == 202

    host.remove("worker")
    assert json.loads((home / "ports.json").read_text())["ports"] == {"webprobe@web": _port(host)}
    assert helpers.request(_port(host)) == (200, "webprobe 1.0.0")


def test_the_host_turns_on_the_migration_of_waiting_connections_when_it_may(
    make_host: Callable[..., Host], packages: Any
) -> None:
    host = make_host(listen="port")
    host.install(packages.webprobe("1.0.0"))
    import os

    if os.geteuid() != 0 or migrate_requests() is None:
        pytest.skip("only root may turn on net.ipv4.tcp_migrate_req (Linux 5.14 and later)")
    assert migrate_requests() is True


@pytest.mark.parametrize(("running", "copies"), [(1, 1), (2, 2)])
def test_once_it_listens_a_new_generation_gets_every_new_connection(running: int, copies: int) -> None:
    """The daemons' own sockets, without a host: the program they attach to the port's group."""
    port = free_port()
    spec = {"host": "127.0.0.1", "port": port, "reuse_port": True}
    # The running generation's listeners, then the new one's, as they join the port's group.
    listeners: list[socket.socket] = [_listen(spec) for _ in range(running + copies)]  # type: ignore[misc]
    _steer(listeners[-1], running, copies)
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)]
    accepted = [0] * len(listeners)
    deadline = time.monotonic() + 60
    while sum(accepted) < len(clients) and time.monotonic() < deadline:
        for index, listener in enumerate(listeners):
            listener.setblocking(False)
            try:
                listener.accept()[0].close()
                accepted[index] += 1
            except BlockingIOError:
                pass
    for sock in (*clients, *listeners):
        sock.close()
    assert accepted[:running] == [0] * running  # the old ones had nothing waiting when they closed
    assert sum(accepted) == 100 and all(accepted[running:])  # spread over the new copies
