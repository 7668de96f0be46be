"""ASGI apps (spec section 3.16): examples/asgi-echo and a Starlette app from PyPI (``starnotes``,
tests/support/asgiapps.py), served by ``pyapp run`` (a checkout and a package, ``--reload``) and by a host's
uvicorn daemon on a socket, under a mount path and on a port; their static files answered by the server
in front of them, their WebSockets echoing (a wsproto client, tests/support/wsclient.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from asgiapps import build_starnotes
from testkit import fetch, request, wait_until
from wsclient import Refused, talk

from apppackage import AppPackage

if TYPE_CHECKING:
    from conftest import Installed, Served
    from pyapp_tools.building.builder import BuildResult

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CSS = (EXAMPLES / "asgi-echo" / "static" / "echo.css").read_bytes()


@pytest.fixture(scope="module")
def starnotes(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Starlette app's ``.pyapp``: starlette, anyio, idna and typing_extensions bundled, no server."""
    return build_starnotes(tmp_path_factory.mktemp("starnotes"), wheelhouse)


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_the_example_validates_and_bundles_no_server(pyapp_for: Callable[[str], BuildResult]) -> None:
    built = pyapp_for("asgi-echo")
    for path in (EXAMPLES / "asgi-echo", built.path):
        with AppPackage(path) as package:
            assert package.validate() == [], path
            assert package.description.asgi is not None and package.description.wsgi is None
    with AppPackage(built.path) as package:
        assert not [name for name in package.files() if name.startswith("deps/")]


def test_the_installed_example_serves_its_page_static_files_and_websocket(install: Any) -> None:
    echo: Installed = install("asgi-echo")
    (web,) = echo.processes()
    assert (web["process"], web["state"]) == ("web", "running")
    status, page = request(echo.socket, "/")
    assert status == 200 and "<h1>asgi-echo 1.0.0</h1>" in page
    assert '<script src="/static/echo.js" data-socket="/ws">' in page
    env = json.loads(request(echo.socket, "/env")[1])
    assert (env["root_path"], env["path"], env["lifespan"]) == ("", "/env", True)
    assert env["variables"]["PYAPP_SOCKET"].endswith(".sock")
    # No web server on this host: the daemon answers the static files itself.
    status, headers, body = fetch(echo.socket, "/static/echo.css")
    assert (status, body) == (200, CSS) and headers["content-type"].startswith("text/css")
    assert fetch(echo.socket, "/static/echo.css", headers={"If-None-Match": headers["etag"]})[0] == 304
    assert fetch(echo.socket, "/static/")[0] == 404
    assert talk(echo.socket, "/ws", ["hello", b"\x00bytes", "again"]) == ["hello", b"\x00bytes", "again"]
    assert json.loads(request(echo.socket, "/env")[1])["echoed"] == 3
    with pytest.raises(Refused):
        talk(echo.socket, "/static/echo.css", ["a static file is no WebSocket"])

    echo.mount("/echo")
    env = json.loads(request(echo.socket, "/echo/env")[1])
    assert (env["root_path"], env["path"], env["variables"]["PYAPP_MOUNT_PATH"]) == (
        "/echo",
        "/echo/env",
        "/echo",
    )
    assert '<script src="/echo/static/echo.js" data-socket="/echo/ws">' in request(echo.socket, "/echo/")[1]
    assert fetch(echo.socket, "/echo/static/echo.css")[2] == CSS
    assert talk(echo.socket, "/echo/ws", ["under the mount"]) == ["under the mount"]
    assert request(echo.socket, "/env")[0] == 404  # outside the mount path


def test_pyapp_run_of_the_checkout_serves_it_and_reloads_it_on_an_edit(
    serve_cli: Callable[..., Served], tmp_path: Path
) -> None:
    source = tmp_path / "asgi-echo"
    shutil.copytree(EXAMPLES / "asgi-echo", source, ignore=shutil.ignore_patterns("__pycache__"))
    served = serve_cli(source, "--reload")
    port = port_of(served.url)
    assert served.get_json("/env")["lifespan"] is True
    assert served.get("/static/echo.css")[:2] == (200, 'text/css; charset="utf-8"')
    assert talk(port, "/ws", ["before"]) == ["before"]

    app = source / "src" / "echo" / "app.py"
    app.write_text(app.read_text().replace("<h1>asgi-echo {version}</h1>", "<h1>edited {version}</h1>"))
    wait_until(lambda: "<h1>edited 1.0.0</h1>" in served.get("/")[2], "the edited page served")
    assert talk(port, "/ws", ["after"]) == ["after"]
    code, output = served.stop()
    assert code == 0 and "Traceback" not in output, output
    assert "src/echo/app.py changed: restarting" in output
    assert "web | INFO:     127.0.0.1" in output and '"GET /env HTTP/1.1" 200' in output  # uvicorn's lines


def test_pyapp_run_of_the_starlette_package(starnotes: Path, serve_cli: Callable[..., Served]) -> None:
    served = serve_cli(starnotes, "--set", "title=Notes")
    port = port_of(served.url)
    env = served.get_json("/env")
    assert (env["title"], env["root_path"], env["path"], env["started"]) == ("Notes", "", "/env", True)
    assert served.get("/static/notes.css")[2] == "h1 { color: teal }\n"
    assert talk(port, "/ws", ["hi", "there"]) == ["Notes: hi", "Notes: there"]
    code, output = served.stop()
    assert code == 0 and "Traceback" not in output, output


def test_the_starlette_app_on_a_host_socket_under_a_mount_and_on_a_port(
    install: Any, starnotes: Path
) -> None:
    notes: Installed = install("starnotes", {"title": "Hosted"}, package=starnotes)
    env = json.loads(request(notes.socket, "/env")[1])
    assert (env["title"], env["started"], env["version"]) == ("Hosted", True, "1.0.0")
    assert talk(notes.socket, "/ws", ["hi"]) == ["Hosted: hi"]
    assert fetch(notes.socket, "/static/notes.css")[2] == b"h1 { color: teal }\n"
    # Its own starlette from the release; uvicorn from the host's copy.
    payload = notes.launch_of("web").payload
    assert any("/host-packages/uvicorn-" in entry for entry in payload["sys_path"])
    assert payload["argument"]["asgi"] is True and payload["argument"]["factory"] is True

    notes.mount("/notes")
    env = json.loads(request(notes.socket, "/notes/env")[1])
    assert (env["root_path"], env["path"]) == ("/notes", "/notes/env")
    assert env["env_url"] == "http://localhost/notes/env"  # the links Starlette makes carry the mount path
    assert talk(notes.socket, "/notes/ws", ["mounted"]) == ["Hosted: mounted"]

    on_port: Installed = install("starnotes", package=starnotes, host="listen: port\n")
    (web,) = on_port.processes()
    assert json.loads(request(web["port"], "/env")[1])["title"] == "starnotes"
    assert talk(web["port"], "/ws", ["port"]) == ["starnotes: port"]
