"""An app update switches its daemon under steady traffic without losing a request."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime.webservers import Mount, Routes, RouteStore, Upstream, VirtualHost, WebServer

pytestmark = pytest.mark.slow

BEFORE, AFTER = 100, 100  # requests before the switch starts, and after it is done
LIMIT = 5000  # the client's loop is bounded whatever happens


@pytest.mark.parametrize("kind", ["nginx", "apache", "lighttpd"])
def test_switching_the_upstream_under_load_loses_no_request(
    kind: str,
    short_dir: Path,
    make_server: Callable[[str], WebServer],
    start_daemon: Callable[..., Any],
    free_port: Callable[[], int],
    fetch: Callable[..., Any],
) -> None:
    port = free_port()
    store = RouteStore(short_dir / "webservers")
    routes = store.update(
        lambda r: (
            Routes()
            .add_vhost(VirtualHost(name="site", server_names=("site.test",), port=port))
            .mount(
                Mount(
                    app="blog",
                    vhost="site",
                    prefix="/blog",
                    upstream=Upstream.unix(short_dir / "blog-1.sock"),
                )
            )
        )
    )
    old = start_daemon(routes.mounts["blog"], "blog-1")
    server = make_server(kind)
    server.activate(routes, start=True)

    answered: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def client() -> None:
        for i in range(LIMIT):
            if stop.is_set():
                return
            try:
                response = fetch(port, f"/blog/post/{i}", "site.test")
                if response.status != 200:
                    failures.append(f"{i}: HTTP {response.status} {response.body[:200]!r}")
                    continue
                answered[response.json()["app"]] += 1
            except Exception as exc:
                failures.append(f"{i}: {exc!r}")

    def sent() -> int:
        return sum(answered.values()) + len(failures)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while sent() < count and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        wait_for(BEFORE)
        # The update, while requests keep coming: a new daemon on a new socket, the mount
        # pointed at it, a graceful reload, then the old daemon goes away.
        routes = store.update(lambda r: r.set_upstream("blog", Upstream.unix(short_dir / "blog-2.sock")))
        start_daemon(routes.mounts["blog"], "blog-2")
        assert server.activate(routes).reloaded
        old.stop()
        wait_for(sent() + AFTER)
    finally:
        stop.set()
        thread.join(120)
    assert failures == []
    assert answered["blog-1"] >= BEFORE and answered["blog-2"] >= AFTER
    assert routes.mounts["blog"].prefix == "/blog"
