"""HTTPS with cheroot (waitress has no TLS), asking the body gate before a request's body is read.

cheroot (CherryPy's WSGI server, with the standard library's :mod:`ssl` through its
``BuiltinSSLAdapter``) serves the app when the settings name a certificate and key.
Unlike waitress it streams a body to the app; its request class is extended here to ask
:class:`~pyapp_server.gate.BodyGate` first, as :mod:`pyapp_server.listener` does for
waitress: a refused request reaches the app with an empty body and the verdict in its
environ, is answered with ``Connection: close``, and what is left of its body is read in
small pieces and thrown away (for :data:`~pyapp_server.listener.DRAIN_SECONDS` at most)
instead of cheroot's reading it in one piece. A chunked body the gate lets through is
read, up to the verdict's limit, into a temporary file before the app sees it.
"""

from __future__ import annotations

import dataclasses
import ssl
import tempfile
import threading
import time
from typing import IO, Any

from cheroot import errors as cheroot_errors
from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .gate import VERDICT, BodyGate, Verdict
from .listener import DRAIN_SECONDS

__all__ = ["TlsServer", "check_certificate", "create_server"]

CHUNK = 64 * 1024


def check_certificate(certificate: str, key: str) -> None:
    """Load the PEM *certificate* and *key* as the server will; raise :class:`ssl.SSLError` or ``OSError``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)


class _Request(cheroot_server.HTTPRequest):
    """cheroot's request, asking the gate before the app reads the body."""

    verdict: Verdict | None = None

    def respond(self) -> None:
        length_text = self.inheaders.get(b"Content-Length", b"0")
        length = None if self.chunked_read else int(length_text or b"0")
        if length == 0:
            super().respond()
            return
        gate: BodyGate = self.server.gate
        verdict = gate.check(
            self.method.decode("latin-1"),
            self.path.decode("utf-8", "replace"),
            content_type=self.inheaders.get(b"Content-Type", b"").decode("latin-1"),
            authorization=self.inheaders.get(b"Authorization", b"").decode("latin-1") or None,
            length=length,
            cookie=self.inheaders.get(b"Cookie", b"").decode("latin-1") or None,
        )
        body: IO[bytes] | None = None
        if verdict.refusal is None and self.chunked_read:
            body, size = self._read_chunked(verdict.limit)
            if body is None:
                verdict = dataclasses.replace(verdict, refusal="too-large")
            else:
                self._replace_body(body, size)
        self.verdict = verdict
        try:
            if verdict.refusal is not None:
                self._replace_body(None, 0)
                self.close_connection = True
                self._call_app()
                self._drain(length)
                return
            if body is None:
                self.rfile = cheroot_server.KnownLengthRFile(self.conn.rfile, length)
            self._call_app()
            if getattr(self.rfile, "remaining", 0) and body is None:
                self._drain(self.rfile.remaining)  # what the app did not read
        finally:
            if body is not None:
                body.close()

    def _read_chunked(self, limit: int) -> tuple[IO[bytes] | None, int]:
        """The chunked body in a temporary file, or ``None`` when it passes *limit*."""
        source = cheroot_server.ChunkedRFile(self.conn.rfile, limit)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115 (closed by respond)
        size = 0
        try:
            while data := source.read(CHUNK):
                spool.write(data)
                size += len(data)
        except cheroot_errors.MaxSizeExceeded:
            spool.close()
            return None, 0
        spool.seek(0)
        return spool, size

    def _replace_body(self, body: IO[bytes] | None, size: int) -> None:
        """What the app reads: *body* (``None``: nothing), announced as *size* bytes."""
        self.chunked_read = False
        self.inheaders.pop(b"Transfer-Encoding", None)
        self.inheaders[b"Content-Length"] = str(size).encode()
        self.rfile = cheroot_server.KnownLengthRFile(body if body is not None else _Empty(), size)

    def _call_app(self) -> None:
        self.server.gateway(self).respond()
        if self.ready:
            self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def send_headers(self) -> None:
        if getattr(self.rfile, "remaining", 0):
            # A body the app left unread is thrown away after the answer, then the connection closes
            # (cheroot would read all of it into memory first).
            self.close_connection = True
        super().send_headers()

    def _drain(self, remaining: int | None) -> None:
        """Read and throw away the rest of the body: *remaining* bytes (``None``: until the client stops)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        self.conn.wfile.flush()
        try:
            while (remaining is None or remaining > 0) and time.monotonic() < deadline:
                data = self.conn.rfile.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
        except OSError:
            pass
        self.close_connection = True


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI gateway, giving the app the gate's verdict."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]  # (cheroot's stub says None)
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        verdict = getattr(self.req, "verdict", None)
        if verdict is not None:
            environ[VERDICT] = verdict
        return environ


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request


class _Server(wsgi.Server):
    """cheroot's WSGI server with the gated request and gateway; *gate* is set once made."""

    gate: BodyGate
    ConnectionClass = _Connection


class TlsServer:
    """A cheroot server listening with TLS: :meth:`run` serves until :meth:`close`."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    @property
    def effective_port(self) -> int:
        return int(self._server.bind_addr[1])

    def run(self) -> None:
        self._server.serve()

    def close(self) -> None:
        self._server.stop()

    def stop_soon(self) -> None:
        """Stop serving from another thread: what a signal handler calls, so a stop signal is never lost
        (the exception it raises can be swallowed by code the signal interrupts)."""
        threading.Thread(target=self._server.stop, name="pyapp-server-stop", daemon=True).start()


def create_server(
    app: Any, gate: BodyGate, *, host: str, port: int, threads: int, certificate: str, key: str
) -> TlsServer:
    """Listen with TLS on *host*:*port* (bound, not serving yet); *certificate* and *key* are PEM files."""
    server = _Server((host, port), app, numthreads=threads, server_name="pyapp-server")
    server.ssl_adapter = BuiltinSSLAdapter(certificate, key)
    server.gate = gate
    server.gateway = _Gateway
    server.max_request_body_size = 0  # the gate's limits apply (cheroot's answer is plain text)
    server.prepare()
    return TlsServer(server)
