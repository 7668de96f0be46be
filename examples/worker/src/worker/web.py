"""The WSGI front: a status page of the queue, and the same as JSON.

Every value on the page is escaped; links start with ``SCRIPT_NAME``, so they work
when the application is mounted under a path prefix.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from typing import Any

from .jobs import JobQueue

__all__ = ["application"]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(queue: JobQueue, script_name: str) -> str:
    counts = "".join(f"<tr><th>{_esc(s)}</th><td>{n}</td></tr>" for s, n in queue.counts().items())
    recent = "".join(
        f"<tr><td><code>{_esc(j['id'])}</code></td><td>{_esc(j.get('op', ''))}</td>"
        f"<td>{_esc(j['state'])}</td><td>{_esc(j.get('result', j.get('error', '')))}</td></tr>"
        for j in queue.recent()
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>worker: queue status</title></head>\n"
        f"<body><h1>Queue status</h1>\n<table>{counts}</table>\n"
        "<h2>Recent jobs</h2>\n"
        f"<table><tr><th>id</th><th>operation</th><th>state</th><th>result</th></tr>{recent}</table>\n"
        f'<p><a href="{_esc(script_name)}/">Refresh</a> · '
        f'<a href="{_esc(script_name)}/status.json">The same as JSON</a></p></body></html>\n'
    )


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO") or "/"
    if path == "/health":
        status, kind, body = "200 OK", "text/plain; charset=utf-8", "ok"
    elif path == "/status.json":
        queue = JobQueue.from_environ()
        data = {"counts": queue.counts(), "recent": queue.recent()}
        status, kind, body = "200 OK", "application/json", json.dumps(data, indent=2)
    elif path == "/":
        status, kind = "200 OK", "text/html; charset=utf-8"
        body = _page(JobQueue.from_environ(), environ.get("SCRIPT_NAME", ""))
    else:
        status, kind, body = "404 Not Found", "text/plain; charset=utf-8", "not found"
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]
