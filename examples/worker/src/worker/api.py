"""The JSON API process (metadata.yaml ``processes.api``), started through the ``serve-api`` command.

The host gives the process a port (``port: true``) and passes it as ``--port {port}``;
without ``--port`` the command falls back to ``PYAPP_PORT``. It listens on 127.0.0.1
only, with ``SO_REUSEPORT``: the port stays the same across updates, and the new
release's copy binds it while this one still serves. It stops cleanly on SIGTERM or SIGINT.

``GET /status``       how many jobs are queued, running, done and failed
``GET /jobs/<id>``    one job, with its result once done
``POST /jobs``        queue ``{"op": ..., "text": ...}``; answers 202 with the job's id and URL
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .jobs import OPERATIONS, JobQueue

__all__ = ["Handler", "Server", "serve_api"]

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    server_version = "worker-api/1.0"
    queue: JobQueue  # set on the subclass serve_api() makes

    def do_GET(self) -> None:
        if self.path == "/status":
            self._send(HTTPStatus.OK, self.queue.counts())
        elif self.path.startswith("/jobs/"):
            job = self.queue.job(self.path.removeprefix("/jobs/"))
            if job is None:
                self._send(HTTPStatus.NOT_FOUND, {"error": "no such job"})
            else:
                self._send(HTTPStatus.OK, job)
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "not found", "paths": ["/status", "/jobs/<id>"]})

    def do_POST(self) -> None:
        if self.path != "/jobs":
            self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"send at most {MAX_BODY} bytes"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            body = None
        if not (
            isinstance(body, dict) and isinstance(body.get("op"), str) and isinstance(body.get("text"), str)
        ):
            usage = 'send a JSON object {"op": "...", "text": "..."}'
            self._send(HTTPStatus.BAD_REQUEST, {"error": usage, "operations": list(OPERATIONS)})
            return
        try:
            job_id = self.queue.enqueue(body["op"], body["text"])
        except ValueError as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc), "operations": list(OPERATIONS)})
            return
        url = f"/jobs/{job_id}"
        self._send(HTTPStatus.ACCEPTED, {"id": job_id, "url": url}, location=url)

    def _send(self, status: HTTPStatus, data: Any, location: str | None = None) -> None:
        body = json.dumps(data).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    def server_bind(self) -> None:
        # The next release's copy binds the same port before this one stops (docs/daemons.md).
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def serve_api(argv: list[str]) -> int:
    """The ``serve-api`` command: serve until stopped; exit 2 without a port."""
    parser = argparse.ArgumentParser(prog="serve-api", description="Serve the job queue's JSON API.")
    parser.add_argument("--port", type=int, help="the TCP port on 127.0.0.1 (default: PYAPP_PORT)")
    try:
        options = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    port = options.port
    if port is None and os.environ.get("PYAPP_PORT", "").isdigit():
        port = int(os.environ["PYAPP_PORT"])
    if port is None:
        print("serve-api: no port: pass --port PORT or set PYAPP_PORT", file=sys.stderr)
        return 2
    handler = type("QueueHandler", (Handler,), {"queue": JobQueue.from_environ()})
    with Server((HOST, port), handler) as server:

        def stop(signum: int, frame: Any) -> None:
            # Ask the loop to end rather than raise here: an exception raised in whatever the
            # loop is doing (starting a request's thread, say) may be caught and the signal lost.
            # shutdown() waits for serve_forever() to return, so it runs in a thread of its own.
            threading.Thread(target=server.shutdown, daemon=True).start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        print(f"serve-api: listening on http://{HOST}:{server.server_port}", flush=True)
        server.serve_forever()
    print("serve-api: stopped", flush=True)
    return 0
