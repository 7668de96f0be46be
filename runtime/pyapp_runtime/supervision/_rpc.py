"""XML-RPC to supervisord over its unix socket (the way supervisorctl talks to it)."""

from __future__ import annotations

import http.client
import xmlrpc.client
from typing import Any

from ..unixhttp import UnixHTTPConnection
from ._faults import RpcFault
from .errors import SupervisorNotRunning

__all__ = ["UnixTransport", "call", "server_proxy"]


class UnixTransport(xmlrpc.client.Transport):
    """An :class:`xmlrpc.client.Transport` that connects to a unix socket."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        super().__init__()
        self._path = path
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # Cached like the base class does, so close() (ServerProxy's __exit__) closes it.
        cached = self._connection[1]
        if cached is not None and self._connection[0] == host:
            return cached
        connection = UnixHTTPConnection(self._path, timeout=self._timeout)
        self._connection = host, connection
        return connection


def server_proxy(path: str, timeout: float = 60.0) -> xmlrpc.client.ServerProxy:
    """A proxy for supervisord's XML-RPC on the socket *path*; use it in ``with`` (not thread-safe)."""
    return xmlrpc.client.ServerProxy(
        "http://localhost/RPC2", transport=UnixTransport(path, timeout), allow_none=False
    )


def call(path: str, timeout: float, method: str, *args: Any) -> Any:
    """Call ``supervisor.<method>`` on the socket *path*: a fault raises :class:`RpcFault`, no answer
    :class:`SupervisorNotRunning`."""
    try:
        with server_proxy(path, timeout) as proxy:
            return getattr(proxy.supervisor, method)(*args)
    except xmlrpc.client.Fault as fault:
        raise RpcFault(fault.faultCode, fault.faultString) from None
    except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
        raise SupervisorNotRunning(
            f"{path}: supervisord does not answer ({exc}); start it with Supervisor.ensure_running()"
        ) from None
