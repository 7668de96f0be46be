"""What many test modules need and a conftest module cannot give (conftest modules are not importable):
waiting for a condition, stopping processes a test started, a request to an app's daemon, and clients
keeping it busy while an action runs (:class:`Load`).

``tests/support/`` is on the test path (pyproject.toml): test modules ``from testkit import wait_until``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

__all__ = [
    "Load",
    "app_process",
    "fetch",
    "free_port",
    "gone",
    "ns_pid",
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


def app_process(pid: int) -> int:
    """The app's own process in the tree supervisord started as *pid*: *pid* itself, or, when the app
    runs in a sandbox (bubblewrap's processes in between), the innermost of its only children."""
    while True:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return pid
        if len(children) != 1:
            return pid
        pid = int(children[0])


def ns_pid(pid: int) -> int:
    """Process *pid* as it sees itself (its pid in its own pid namespace: a sandboxed app's pid file)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return pid


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


def parent_of(pid: int) -> int:
    """Process *pid*'s parent (0 once it has ended)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def process_trees(base: Path) -> list[int]:
    """:func:`processes_under` *base*, each tree once (its top): a sandboxed program is bubblewrap's
    processes with the app inside, one copy of it."""
    found = processes_under(base)
    return [pid for pid in found if parent_of(pid) not in found]


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


def fetch(
    where: str | Path | int,
    path: str = "/",
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    """*method* *path* on a unix socket (a path) or a loopback port, on a new connection: (status, headers,
    body), the headers by their lower-case names."""
    connection: http.client.HTTPConnection
    if isinstance(where, int):
        connection = http.client.HTTPConnection("127.0.0.1", where, timeout=timeout)
    else:
        connection = _UnixConnection(str(where), timeout)
    try:
        connection.request(method, path, headers={"Connection": "close", **(headers or {})})
        response = connection.getresponse()
        got = {name.lower(): value for name, value in response.getheaders()}
        return response.status, got, response.read()
    finally:
        connection.close()


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


class Load:
    """Clients sending requests to *where* (each on a new connection) until an action is over.

    *quick* clients send quick requests (``GET /``) one after another; another sends
    ``GET /slow``, which takes a second, so that some are in progress at any moment. All go
    on until the action has returned, however long it takes, and the quick ones have
    sent *at_least* requests between them, then send a fixed number more (*after_quick*
    each, *after_slow*): the switch is over by then, the new side answers. The action
    starts once *before* quick requests were answered: the old side was serving.
    """

    def __init__(
        self,
        where: str | Path | int,
        *,
        quick: int = 1,
        at_least: int = 0,
        after_quick: int = 50,
        after_slow: int = 2,
        before: int = 20,
    ) -> None:
        self.where = where
        self.at_least, self.before = at_least, before
        self.after_quick, self.after_slow = after_quick, after_slow
        self.results: list[tuple[int | None, str]] = []
        self.slow: list[tuple[int | None, str]] = []
        self.finished = threading.Event()
        self.threads = [threading.Thread(target=self._quick) for _ in range(quick)]
        self.threads.append(threading.Thread(target=self._slow))

    def _send(self, path: str) -> tuple[int | None, str]:
        try:
            return request(self.where, path, timeout=15)
        except Exception as exc:
            return None, repr(exc)

    def _over(self) -> bool:
        return self.finished.is_set() and len(self.results) >= self.at_least

    def _keep_sending(self, path: str, into: list[tuple[int | None, str]], after: int, pause: float) -> None:
        sent_after = 0
        while sent_after < after:
            if self._over():
                sent_after += 1
            into.append(self._send(path))
            time.sleep(pause)

    def _quick(self) -> None:
        self._keep_sending("/", self.results, self.after_quick, 0.002)

    def _slow(self) -> None:
        self._keep_sending("/slow", self.slow, self.after_slow, 0)

    def run(self, action: Callable[[], Any]) -> Any:
        """Start the clients, do *action* once a few requests got through, then let the clients finish."""
        for thread in self.threads:
            thread.start()
        try:
            deadline = time.monotonic() + 120
            while len(self.results) < self.before:
                assert time.monotonic() < deadline, (
                    f"{len(self.results)} answers in 120 s: {self.results[:5]}"
                )
                time.sleep(0.01)
            return action()
        finally:
            self.finished.set()
            for thread in self.threads:
                thread.join(timeout=600)
                assert not thread.is_alive(), "a client is still sending requests after 600 s"

    def failures(self) -> list[tuple[int | None, str]]:
        return [r for r in (*self.results, *self.slow) if r[0] != 200]

    def versions(self) -> list[str]:
        """The versions that answered, in order, each once per run of answers (one quick client)."""
        seen: list[str] = []
        for _status, body in self.results:
            if not seen or seen[-1] != body:
                seen.append(body)
        return seen
