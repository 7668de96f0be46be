"""An ASGI 3 application with no dependencies: a page, what the server gave it, a health check and a
WebSocket echo, with the lifespan protocol.

Its static files (``/static``) never reach this code: the web server, or the server in front of it
when there is none, answers them (spec section 3.10).
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

VERSION = os.environ.get("PYAPP_VERSION", "dev")
STATE: dict[str, Any] = {"started": None, "echoed": 0}
"""What the lifespan start-up set (``started``: when) and how many messages were echoed since."""

PAGE = """<!doctype html>
<title>asgi-echo</title>
<link rel="stylesheet" href="{root}/static/echo.css">
<h1>asgi-echo {version}</h1>
<p>Up since {started}. Type something: it comes back through a WebSocket.</p>
<form id="say"><input id="text" autocomplete="off" autofocus> <button>Send</button></form>
<ul id="log"></ul>
<p><a href="{root}/env">What the server gave this app</a></p>
<script src="{root}/static/echo.js" data-socket="{root}/ws"></script>
"""


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """The application (``asgi.app`` in metadata.yaml)."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "websocket":
        await echo(scope, receive, send)
    elif scope["type"] == "http":
        await page(scope, send)


def route(scope: Scope) -> str:
    """The request's path within the app: its ``path`` after the mount path (``root_path``)."""
    root = scope.get("root_path", "")
    return scope["path"][len(root) :] or "/"


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            STATE["started"] = time.time()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """``/ws``: every text or bytes message comes back as it was sent."""
    await receive()  # websocket.connect
    if route(scope) != "/ws":
        await send({"type": "websocket.close", "code": 1008})  # refused: 403
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        STATE["echoed"] += 1
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def respond(send: Send, status: int, kind: str, body: bytes) -> None:
    headers = [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def page(scope: Scope, send: Send) -> None:
    path = route(scope)
    if path == "/health":
        ok = STATE["started"] is not None
        await respond(send, 200 if ok else 503, "text/plain", b"ok" if ok else b"starting")
    elif path == "/env":
        client = scope.get("client")
        seen = {
            "root_path": scope.get("root_path", ""),
            "path": scope["path"],
            "scheme": scope["scheme"],
            "client": client[0] if client else None,
            "host": dict(scope["headers"]).get(b"host", b"").decode("latin-1"),
            "lifespan": STATE["started"] is not None,
            "echoed": STATE["echoed"],
            "variables": {k: v for k, v in os.environ.items() if k in _SHOWN},
        }
        await respond(send, 200, "application/json", json.dumps(seen, indent=2).encode())
    elif path == "/":
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(STATE["started"] or time.time()))
        root = html.escape(scope.get("root_path", ""))
        body = PAGE.format(root=root, version=html.escape(VERSION), started=started)
        await respond(send, 200, "text/html; charset=utf-8", body.encode())
    else:
        await respond(send, 404, "text/plain", b"not found")


_SHOWN = frozenset(
    {"PYAPP_NAME", "PYAPP_VERSION", "PYAPP_ROOT", "PYAPP_MOUNT_PATH", "PYAPP_SOCKET", "PYAPP_PORT"}
)
