"""A WebSocket client for the tests: a plain socket (unix or TCP) driven by wsproto, the sans-I/O WebSocket
library uvicorn serves WebSockets with.

``talk(where, path, messages)`` opens a WebSocket at *path*, sends each message and returns what came
back, one answer per message; :class:`Refused` is raised when the server answers the handshake with
an HTTP response instead (its status). :class:`WebSocket` keeps one open: ``send``, ``receive`` (which
raises :class:`Closed` with the server's close code once it closes).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

__all__ = ["Closed", "Refused", "WebSocket", "talk"]

Where = str | Path | int | tuple[str, int]


class Refused(Exception):
    """The server refused the WebSocket handshake with an HTTP answer of *status*."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the WebSocket handshake was answered with {status}")
        self.status = status


class Closed(Exception):
    """The server closed the WebSocket with *code* (``None``: the connection ended without a close frame)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"the server closed the WebSocket ({code})")
        self.code = code


def _connect(where: Where, timeout: float) -> socket.socket:
    if isinstance(where, int):
        return socket.create_connection(("127.0.0.1", where), timeout=timeout)
    if isinstance(where, tuple):
        return socket.create_connection(where, timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(where))
    return sock


class WebSocket:
    """A WebSocket open at *path* on a unix socket (a path), a loopback port or a ``(host, port)``."""

    def __init__(
        self,
        where: Where,
        path: str,
        *,
        host: str = "localhost",
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> None:
        self.sock = _connect(where, timeout)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.received: list[str | bytes] = []
        self._parts: list[str | bytes] = []
        self._accepted = False
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        try:
            self.sock.sendall(self.ws.send(Request(host=host, target=path, extra_headers=extra)))
            while not self._accepted:
                self._read()
        except BaseException:
            self.sock.close()
            raise

    def _read(self) -> None:
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self._accepted = True
            elif isinstance(event, RejectConnection):
                raise Refused(event.status_code)
            elif isinstance(event, Message):
                self._parts.append(event.data)
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        self.received.append("".join(p for p in self._parts if isinstance(p, str)))
                    elif isinstance(event, BytesMessage):
                        self.received.append(b"".join(p for p in self._parts if isinstance(p, bytes)))
                    self._parts = []
            elif isinstance(event, CloseConnection):
                raise Closed(event.code)
        if not data:
            raise Closed(None)

    def send(self, message: str | bytes) -> None:
        self.sock.sendall(self.ws.send(Message(data=message)))

    def receive(self) -> str | bytes:
        """The next message (raises :class:`Closed` once the server closes)."""
        while not self.received:
            self._read()
        return self.received.pop(0)

    def close(self) -> None:
        with contextlib.suppress(OSError, LocalProtocolError):  # closed already: nothing more to say
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        self.sock.close()


def talk(
    where: Where,
    path: str,
    messages: Sequence[str | bytes],
    *,
    host: str = "localhost",
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> list[str | bytes]:
    """Open a WebSocket at *path*, send each of *messages* in turn and wait for one answer to each; close
    it; the answers."""
    ws = WebSocket(where, path, host=host, headers=headers, timeout=timeout)
    try:
        answers = []
        for message in messages:
            ws.send(message)
            answers.append(ws.receive())
        return answers
    finally:
        ws.close()
