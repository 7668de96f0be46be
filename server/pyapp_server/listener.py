"""Plain HTTP with waitress, asking the body gate before a request's body is read.

waitress reads a whole request, body included (in memory, then a temporary file), before
it calls the app; its ``max_request_body_size`` answers in plain text. Here its request
parser asks :class:`~pyapp_server.gate.BodyGate` as soon as the headers are in. A request
the gate refuses goes to the app at once, with an empty body and the verdict in its
environ (no ``100 Continue`` is sent); the app answers (401, 403, 404, 405, 413 as JSON)
with ``Connection: close``; the channel then throws away what the client still sends,
storing none of it, until the announced body has passed (so that a client that sends its
whole body before reading still gets the answer) or :data:`DRAIN_SECONDS` have, and
closes the connection. A body the gate lets through is held to the verdict's limit as it
arrives, chunked or not.

This subclasses waitress's channel, parser and task (``HTTPChannel.parser_class``,
``task_class``, the ``channel_class`` of its servers): the hooks waitress's own design has
for them, pinned by the tests against a real server.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]
from waitress.task import WSGITask  # type: ignore[import-untyped]
from waitress.utilities import RequestEntityTooLarge  # type: ignore[import-untyped]

from .gate import VERDICT, BodyGate, Verdict

__all__ = ["DRAIN_SECONDS", "create_server"]

DRAIN_SECONDS = 10.0
"""How long a refused request's body is read and thrown away at most before the connection closes."""


class _Drain:
    """Throws away the rest of a refused request's body: *remaining* bytes (``None``: until the deadline)."""

    def __init__(self, remaining: int | None) -> None:
        self.remaining = remaining
        self.deadline = time.monotonic() + DRAIN_SECONDS
        self.done = remaining is not None and remaining <= 0

    def discard(self, data: bytes) -> None:
        if self.remaining is not None:
            self.remaining -= len(data)
        if (self.remaining is not None and self.remaining <= 0) or time.monotonic() > self.deadline:
            self.done = True


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's request parser, asking the gate once the headers are in."""

    verdict: Verdict | None = None
    body_rcv: Any
    error: Any

    def __init__(self, adj: Any, channel: _Channel) -> None:
        super().__init__(adj)
        self._channel = channel
        self._limit: int = adj.max_request_body_size

    def received(self, data: bytes) -> int:
        return self._in_body(data) if self.headers_finished else self._in_headers(data)

    def _in_body(self, data: bytes) -> int:
        consumed: int = super().received(data)
        over = self.body_bytes_received > self._limit or isinstance(self.error, RequestEntityTooLarge)
        if over and self.verdict is not None and self.verdict.refusal is None:
            self._withhold(dataclasses.replace(self.verdict, refusal="too-large"), data[consumed:], None)
            return len(data)
        return consumed

    def _in_headers(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if not self.headers_finished or self.body_rcv is None:
            return consumed  # still in the headers, or no body (or waitress refused the request itself)
        if self.error is not None and not isinstance(self.error, RequestEntityTooLarge):
            return consumed
        length = None if self.chunked else self.content_length
        path = "/" + self.path.lstrip("/")
        verdict = self._channel.gate.check(
            self.command,
            path.encode("latin-1").decode("utf-8", "replace"),
            content_type=self.headers.get("CONTENT_TYPE", ""),
            authorization=self.headers.get("AUTHORIZATION"),
            length=length,
            cookie=self.headers.get("COOKIE"),
        )
        if verdict.refusal is None and self.error is not None:  # over waitress's own ceiling
            verdict = dataclasses.replace(verdict, refusal="too-large", length=length)
        self.verdict = verdict
        if verdict.refusal is None:
            self._limit = verdict.limit
            return consumed
        self._withhold(verdict, data[consumed:], length)
        return len(data)

    def _withhold(self, verdict: Verdict, rest: bytes, remaining: int | None) -> None:
        """Complete the request without its body; what is left of the body is thrown away."""
        self.close()
        self.verdict = verdict
        self.body_rcv = None
        self.error = None
        self.completed = True
        self.expect_continue = False
        self.content_length = 0
        self.headers["CONTENT_LENGTH"] = "0"
        drain = self._channel.drain = _Drain(remaining)
        drain.discard(rest)


class _Task(WSGITask):  # type: ignore[misc]
    """waitress's WSGI task, giving the app the gate's verdict and closing after a refusal."""

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        verdict = getattr(self.request, "verdict", None)
        if verdict is not None:
            environ[VERDICT] = verdict
        return environ

    def build_response_header(self) -> bytes:
        verdict = getattr(self.request, "verdict", None)
        if verdict is not None and verdict.refusal is not None:
            # The connection stays open only while the unread body drains (the channel closes it).
            self.response_headers.append(("Connection", "close"))
        header: bytes = super().build_response_header()
        return header


class _Channel(HTTPChannel):  # type: ignore[misc]
    """waitress's channel, with the gated parser, and draining after a refused request."""

    task_class = _Task
    gate: BodyGate
    drain: _Drain | None = None

    def parser_class(self, adj: Any) -> _Parser:
        return _Parser(adj, self)

    def received(self, data: bytes) -> bool:
        if self.drain is None:
            result: bool = super().received(data)
            return result
        with self.requests_lock:
            if not (self.will_close or self.close_when_flushed):
                self.drain.discard(data)
                self._close_when_answered()
        return True

    def service(self) -> None:
        super().service()
        if self.drain is not None:
            with self.requests_lock:
                self._close_when_answered()
            self.server.pull_trigger()

    def _close_when_answered(self) -> None:
        # Called with requests_lock held: once the refusal is answered (no request waits) and the
        # body drained, the channel closes as soon as the answer is sent.
        if self.drain is not None and self.drain.done and not self.requests:
            self.close_when_flushed = True


def create_server(app: Any, gate: BodyGate, **options: Any) -> Any:
    """``waitress.create_server(app, **options)``, its channels asking *gate* before reading bodies."""
    import waitress  # type: ignore[import-untyped]

    channel_class = type("GatedChannel", (_Channel,), {"gate": gate})
    sockets: dict[int, Any] = {}
    server = waitress.create_server(app, map=sockets, **options)
    for dispatcher in [server, *sockets.values()]:
        if hasattr(dispatcher, "channel_class"):
            dispatcher.channel_class = channel_class
    return server
