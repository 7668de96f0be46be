"""What many test modules need and a conftest module cannot give (conftest modules are not importable):
waiting for a condition, stopping processes a test started, and a request to an app's daemon.

``tests/support/`` is on the test path (pyproject.toml): test modules ``from testkit import wait_until``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import pytest

__all__ = [
    "free_port",
    "gone",
    "processes_under",
    "request",
    "stop_process",
    "stop_supervisord",
    "wait_until",
]

T = TypeVar("T")

WAIT = 60.0
"""How long a test waits for what a process does on its own: a generous deadline, never a measure."""


def wait_until(predicate: Callable[[], T], what: str = "the condition", timeout: float = WAIT) -> T:
    """*predicate*'s first true value; the test fails naming *what* when none came within *timeout* s.

    An :class:`OSError` from *predicate* (a socket not listening yet) counts as not yet.
    """
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            value = predicate()
        except OSError as exc:
            value, last = None, f" (last: {exc})"  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s{last}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """Whether process *pid* has ended (no such process, or a zombie its parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def stop_process(pid: int, timeout: float = WAIT) -> None:
    """SIGTERM *pid*, then SIGKILL when it is still there after *timeout* s; return once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if gone(pid):
                return
            time.sleep(0.05)


def stop_supervisord(state_dir: Path) -> None:
    """Stop the supervisord of *state_dir* (``<home>/supervisor``) and so every app process under it."""
    try:
        pid = int((state_dir / "supervisord.pid").read_text())
    except (OSError, ValueError):
        return
    stop_process(pid)


def processes_under(base: Path) -> list[int]:
    """The live processes (but this one) whose command line names a path under *base*."""
    inside = str(base) + os.sep
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(inside in arg for arg in argv) and not gone(int(entry)):
            found.append(int(entry))
    return found


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def request(
    where: str | Path | int,
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, str]:
    """``GET path`` on a unix socket (a path) or a loopback port, on a new connection: (status, body)."""
    connection: http.client.HTTPConnection
    if isinstance(where, int):
        connection = http.client.HTTPConnection("127.0.0.1", where, timeout=timeout)
    else:
        connection = _UnixConnection(str(where), timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()
