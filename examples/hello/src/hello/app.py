"""A WSGI application that greets, counts its visits and shows what the host gave it."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from . import settings

__version__ = os.environ.get("PYAPP_VERSION", "dev")


def _count_visit() -> int:
    counters = os.environ.get("PYAPP_WRITABLE_COUNTERS")
    if not counters:
        return 0
    path = Path(counters) / "visits"
    visits = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(visits))
    return visits


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/") or "/"
    script_name = environ.get("SCRIPT_NAME", "")
    if path == "/health":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path == "/env":
        body = json.dumps(
            {
                "script_name": script_name,
                "path_info": path,
                "variables": {k: v for k, v in os.environ.items() if k.startswith("PYAPP_")},
            },
            indent=2,
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    greeting = html.escape(settings.load()["greeting"])
    visits = _count_visit()
    name = html.escape(os.environ.get("PYAPP_NAME", "hello"))
    body = (
        "<!doctype html><title>hello</title>"
        f"<h1>{greeting} from {name} {html.escape(__version__)}</h1>"
        f"<p>Visit number {visits}.</p>"
        f'<p><a href="{html.escape(script_name)}/env">What the host gave this app</a></p>'
    ).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]
