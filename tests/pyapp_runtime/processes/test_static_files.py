"""With no web server in front (``web_server: none``, the default), an app's own daemon answers its static
directories (spec section 3.10): real supervisord, the daemon in its sandbox where bubblewrap works, real
requests over its socket and port. Each test runs with a WSGI app (waitress) and an ASGI one (uvicorn)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from testkit import fetch

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("asgi", [False, True], ids=["wsgi", "asgi"])]

CSS = "body { color: teal }\n"
STATIC = {"static/style.css": CSS, "static/js/app.js": "console.log('hi')\n"}


def test_the_daemon_answers_static_files_itself_and_the_app_the_rest(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    host.install(packages.webprobe(static={"/static": "static"}, files=STATIC, asgi=asgi))
    sock = helpers.stable_socket(home, "webprobe")
    status, headers, body = fetch(sock, "/static/style.css")
    # The file, not the app's own page.
    assert (status, body.decode()) == (200, CSS)
    assert headers["content-type"].startswith("text/css")
    assert fetch(sock, "/static/js/app.js")[2] == b"console.log('hi')\n"
    cached = fetch(sock, "/static/style.css", headers={"If-None-Match": headers["etag"]})
    assert (cached[0], cached[2]) == (304, b"")
    for path in ("/static/", "/static/js", "/static/missing.css", "/static/../metadata.yaml"):
        assert fetch(sock, path)[0] == 404, path
    assert helpers.request(sock, "/") == (200, "webprobe 1.0.0")


def test_a_mounted_app_serves_them_under_its_mount_path(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    host.install(packages.webprobe(static={"/assets/": "static"}, files=STATIC, asgi=asgi))
    host.web.add_vhost("main", port=8080)
    change = host.web.mount("webprobe", "main", "/probe")
    assert change.restarted
    sock = helpers.stable_socket(home, "webprobe")
    status, headers, body = fetch(sock, "/probe/assets/style.css")
    assert (status, body.decode()) == (200, CSS)
    assert headers["content-type"].startswith("text/css")
    assert helpers.request(sock, "/probe/") == (200, "webprobe 1.0.0")


def test_on_a_port_too(make_host: Callable[..., Host], packages: Any, asgi: bool) -> None:
    host = make_host(listen="port")
    host.install(packages.webprobe(static={"/static": "static"}, files=STATIC, asgi=asgi))
    port = host.status("webprobe")[0].port
    assert port is not None
    status, _, body = fetch(port, "/static/style.css")
    assert (status, body.decode()) == (200, CSS)
