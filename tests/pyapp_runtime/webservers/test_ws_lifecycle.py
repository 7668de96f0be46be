"""Starting, reloading and stopping the managed servers, and what happens when that fails."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime.webservers import (
    Mount,
    NoWebServer,
    Routes,
    ServerFailed,
    Upstream,
    VirtualHost,
    WebServer,
    detect,
    find_installation,
)

pytestmark = pytest.mark.slow

KINDS = ["nginx", "apache", "lighttpd"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def one_app(port: int, sock: Path) -> Routes:
    return (
        Routes()
        .add_vhost(VirtualHost(name="site", port=port))
        .mount(Mount(app="app", vhost="site", upstream=Upstream.unix(sock)))
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_reload_that_fails_puts_the_previous_configuration_back(
    kind: str,
    short_dir: Path,
    busy_port: int,
    make_server: Callable[[str], WebServer],
    start_daemon: Callable[..., Any],
    free_port: Callable[[], int],
    fetch: Callable[..., Any],
) -> None:
    port = free_port()
    routes = one_app(port, short_dir / "app.sock")
    start_daemon(routes.mounts["app"])
    server = make_server(kind)
    server.activate(routes, start=True)
    live = server.live.resolve()
    # Passes the configuration test (which binds nothing), fails when the server binds.
    taken = routes.add_vhost(VirtualHost(name="other", port=busy_port))
    with pytest.raises(ServerFailed, match="reload failed") as caught:
        server.activate(taken)
    assert "Address already in use" in caught.value.output or "in use" in str(caught.value)
    assert server.live.resolve() == live
    assert server.is_running()
    assert fetch(port, "/after", "anything.test").json()["path_info"] == "/after"


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_that_cannot_start_says_why(
    kind: str, short_dir: Path, busy_port: int, make_server: Callable[[str], WebServer]
) -> None:
    server = make_server(kind)
    with pytest.raises(ServerFailed, match="no live configuration"):
        server.start()
    server.activate(one_app(busy_port, short_dir / "app.sock"))
    with pytest.raises(ServerFailed, match="start failed") as caught:
        server.start()
    assert "in use" in caught.value.output
    assert not server.is_running()


def test_start_stop_and_nothing_to_serve(
    short_dir: Path,
    make_server: Callable[[str], WebServer],
    start_daemon: Callable[..., Any],
    free_port: Callable[[], int],
    fetch: Callable[..., Any],
) -> None:
    port = free_port()
    routes = one_app(port, short_dir / "app.sock")
    start_daemon(routes.mounts["app"])
    server = make_server("nginx")
    assert not server.activate(routes).reloaded
    assert not server.is_running()
    pid = server.start()
    assert server.start() == pid == server.pid()
    assert fetch(port, "/", "x.test").status == 200
    server.stop(graceful=True)
    assert not server.is_running()
    server.start()
    # With no virtual host left there is nothing to serve: the server stops.
    activation = server.activate(Routes())
    assert activation.stopped and not server.is_running()
    generations = list((server.directory / "configs").iterdir())
    assert len(generations) <= server.settings.keep_configs + 1


def test_the_web_server_kind_comes_from_the_host_or_the_setting() -> None:
    assert detect("none") is None
    assert detect("auto", path="") is None
    with pytest.raises(NoWebServer, match="not installed"):
        detect("nginx", path="")
    with pytest.raises(NoWebServer, match="unknown web server 'iis'"):
        detect("iis")
    found = detect("auto")
    if found is None:
        pytest.skip("no web server installed")
    assert found.kind == next(k for k in KINDS if find_installation(k) is not None)
    assert found.version and Path(found.binary).is_file()
    apache = find_installation("apache")
    if apache is not None:
        # Apache's modules are found wherever the distribution keeps them.
        assert apache.modules_dir and Path(apache.modules_dir, "mod_proxy.so").is_file()
        assert detect("apache") == apache


@pytest.mark.parametrize("kind", KINDS)
def test_revert_puts_the_previous_configuration_back_and_stops_what_it_started(
    kind: str,
    short_dir: Path,
    make_server: Callable[[str], WebServer],
    start_daemon: Callable[..., Any],
    free_port: Callable[[], int],
    fetch: Callable[..., Any],
) -> None:
    port = free_port()
    routes = one_app(port, short_dir / "app.sock")
    start_daemon(routes.mounts["app"])
    server = make_server(kind)
    first = server.activate(routes, start=True)
    assert first.started and not first.reloaded
    pid, live = server.pid(), server.live.resolve()
    assert fetch(port, "/page", "x.test").json()["path_info"] == "/page"

    moved = routes.mount(
        Mount(app="app", vhost="site", prefix="/moved", upstream=Upstream.unix(short_dir / "app.sock"))
    )
    second = server.activate(moved)
    assert second.reloaded and server.live.resolve() != live
    assert fetch(port, "/page", "x.test").status == 404

    # Undone: the first configuration serves again, in the same server.
    server.revert(second)
    assert server.live.resolve() == live and server.pid() == pid
    assert fetch(port, "/page", "x.test").json()["path_info"] == "/page"

    # Undoing the activation that started it stops it, and nothing is live: as before it.
    server.revert(first)
    assert not server.is_running() and server.live_config() is None
    with pytest.raises(OSError):
        fetch(port, "/page", "x.test")
