"""Static files answered by an application's own WSGI or ASGI server (spec section 3.10), with WhiteNoise.

Where no separate web server stands in front of the application (``pyapp run``, a host with
``web_server: none``, a daemon reached on its own socket or port), its server answers the
description's ``static`` directories itself: :func:`with_static` wraps a WSGI application and
:func:`with_static_asgi` an ASGI one so that a static request -- its path, after the mount path,
equal to a key or under it followed by ``/``; the longest key wins -- is answered from the
directory and never reaches the application (a WebSocket handshake there is refused).

Files only, and only inside their directory: a directory, a missing file, a path with an empty,
``.`` or ``..`` segment, or a file whose real path (symbolic links followed) is outside the
directory answers 404; no directory is listed. WhiteNoise gives each file its content type,
``Last-Modified`` and ``ETag``, answers conditional requests (304), ranges and ``HEAD``, and
refuses other methods (405). Each request looks at the file as it is then, so a checkout's files
may change while it runs.

The bootstrap loads this module by its path, in the application's process: it imports the
standard library only, and WhiteNoise once an application has static directories (from the
application's own ``sys.path``, or the host's copy after it).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["static_file", "static_request", "static_routes", "with_static", "with_static_asgi"]

WSGIApp = Callable[..., Any]
ASGIApp = Callable[..., Any]

NOT_FOUND = b"Not Found\n"
CHUNK = 64 * 1024
"""Bytes of a file an ASGI server is sent at a time."""


def static_routes(static: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """``(url, directory)`` pairs as requests are matched against them, the longest URL first: each URL
    without its trailing ``/`` (``""`` for ``/``), each directory by its real path."""
    routes = {str(url).rstrip("/"): os.path.realpath(directory) for url, directory in static}
    return sorted(routes.items(), key=lambda route: len(route[0]), reverse=True)


def static_request(routes: Sequence[tuple[str, str]], path: str) -> tuple[str, str] | None:
    """``(directory, rest)`` when the request path *path* is a static request (*rest*: what follows the
    key, e.g. ``/css/site.css``), else ``None``."""
    for prefix, root in routes:
        if path == prefix or path.startswith(prefix + "/"):
            return root, path[len(prefix) :]
    return None


def static_file(root: str, rest: str) -> tuple[str, os.stat_result] | None:
    """The regular file *rest* names under the directory *root* and its ``stat``; ``None`` when there is
    none, or it is not a regular file, or it lies outside *root* (``..``, a symbolic link)."""
    parts = rest.split("/")[1:]
    if not parts or any(part in ("", ".", "..") or "\0" in part for part in parts):
        return None
    file = os.path.join(root, *parts)
    if not os.path.realpath(file).startswith(root.rstrip(os.sep) + os.sep):
        return None
    try:
        found = os.stat(file)
    except (OSError, ValueError):
        return None
    return (file, found) if stat.S_ISREG(found.st_mode) else None


def _not_found(start_response: Callable[..., Any]) -> list[bytes]:
    start_response(
        "404 Not Found",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(NOT_FOUND)))],
    )
    return [NOT_FOUND]


def with_static(app: WSGIApp, static: Iterable[Sequence[str]]) -> WSGIApp:
    """*app* with the static requests of *static* (``(url, directory)`` pairs) answered from the files.

    Returns *app* itself when there is no static directory.
    """
    routes = static_routes(static)
    if not routes:
        return app
    from whitenoise import WhiteNoise  # type: ignore[import-untyped, unused-ignore]

    # As a web server serves them: no Cache-Control or CORS header of its own.
    files = WhiteNoise(None, max_age=None, allow_all_origins=False)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # PEP 3333: PATH_INFO is bytes decoded as latin-1; URLs are UTF-8.
        path = (environ.get("PATH_INFO") or "/").encode("latin-1", "replace").decode("utf-8", "replace")
        request = static_request(routes, path)
        if request is None:
            return app(environ, start_response)  # type: ignore[no-any-return]
        found = static_file(*request)
        if found is None:
            return _not_found(start_response)
        file, stat_result = found
        # Only the file itself: no compressed variant beside it is offered in its place.
        served = files.get_static_file(file, path, stat_cache={file: stat_result})
        return files.serve(served, environ, start_response)  # type: ignore[no-any-return]

    return application


def with_static_asgi(app: ASGIApp, static: Iterable[Sequence[str]]) -> ASGIApp:
    """The ASGI application *app* with the static requests of *static* answered from the files, as
    :func:`with_static` does for WSGI (WhiteNoise's own answers: types, conditional requests, ranges).

    The path matched is the scope's ``path`` after its ``root_path`` (the mount path). The file is read
    in a worker thread, a chunk at a time. Returns *app* itself when there is no static directory.
    """
    routes = static_routes(static)
    if not routes:
        return app
    import asyncio

    from whitenoise import WhiteNoise  # type: ignore[import-untyped, unused-ignore]

    files = WhiteNoise(None, max_age=None, allow_all_origins=False)

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path") or ""
        request = static_request(routes, path[len(root) :] if path.startswith(root) else path)
        if request is None:
            await app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before the handshake: refused (403)
            return
        found = static_file(*request)
        if found is None:
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(NOT_FOUND)),
            ]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": NOT_FOUND})
            return
        file, stat_result = found
        served = files.get_static_file(file, path, stat_cache={file: stat_result})
        environ: dict[str, str] = {"QUERY_STRING": scope.get("query_string", b"").decode("latin-1")}
        for name, value in scope["headers"]:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            environ[key] = (
                f"{environ[key]}, {value.decode('latin-1')}" if key in environ else value.decode("latin-1")
            )
        response = served.get_response(scope["method"], environ)
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers]
        await send({"type": "http.response.start", "status": int(response.status), "headers": headers})
        body = response.file
        if body is None:
            await send({"type": "http.response.body", "body": b""})
            return
        loop = asyncio.get_running_loop()
        try:
            while True:
                chunk = await loop.run_in_executor(None, body.read, CHUNK)
                await send({"type": "http.response.body", "body": chunk, "more_body": bool(chunk)})
                if not chunk:
                    break
        finally:
            body.close()

    return application
