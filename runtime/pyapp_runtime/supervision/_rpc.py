"""XML-RPC to supervisord over its unix socket (the way supervisorctl talks to it), and its faults."""

from __future__ import annotations

import http.client
import os
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..unixhttp import UnixHTTPConnection
from .errors import NoSuchProgram, ProcessFailed, SupervisionError

__all__ = ["UnixTransport", "fault_error", "server_proxy"]

# supervisor.xmlrpc.Faults
BAD_NAME = 10
NO_FILE = 20
NOT_EXECUTABLE = 21
ABNORMAL_TERMINATION = 40
SPAWN_ERROR = 50
ALREADY_STARTED = 60
NOT_RUNNING = 70
ALREADY_ADDED = 90


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


def fault_error(
    program: str, fault: xmlrpc.client.Fault, programs_dir: Path, output: Callable[[], str]
) -> SupervisionError:
    """The error for supervisord's *fault* about *program*; *output* reads its last output."""
    if fault.faultCode == BAD_NAME:
        return NoSuchProgram(program, os.fspath(programs_dir))
    if fault.faultCode in (SPAWN_ERROR, ABNORMAL_TERMINATION, NO_FILE, NOT_EXECUTABLE):
        try:
            tail = output()
        except SupervisionError:
            tail = ""
        cause = "could not be spawned" if fault.faultCode != ABNORMAL_TERMINATION else "exited while starting"
        return ProcessFailed(program, f"{cause} ({fault.faultString})", tail)
    return SupervisionError(f"supervisord refused for {program!r}: {fault.faultString}")
