"""Two generations of an app's programs on one port (``SO_REUSEPORT``): the new one held back until it
is healthy, then given the new connections, and what the kernel does with those of the old one.

Each generation binds the app's port with ``SO_REUSEPORT``; the kernel spreads new
connections over every listening socket of the group. A new WSGI daemon binds the
port at once (so that a port it cannot have fails its start) but listens there only
once the host has found it healthy on a socket of its own and lets it (:func:`hold`,
:func:`admit`): a release that never gets healthy never answers a client. As it
listens it attaches a classic BPF program to the group (``SO_ATTACH_REUSEPORT_CBPF``,
no eBPF) that sends every new connection to the sockets that joined after the running
generation's (the ``steer`` of its payload: how many those are, and its own copies),
so the old daemons have nothing waiting in their queues when they close.

A connection still waiting in an old socket's queue when it closes (one whose handshake
was under way as the program was attached, or where the kernel refused the program,
or a process with ``port: true``, which the host does not hold back) is reset -- unless
``net.ipv4.tcp_migrate_req`` is 1 (Linux 5.14 and later, per network namespace): then
the kernel hands it to another socket of the group. A host running as root turns it
on before it starts a generation on a port; elsewhere it is reported
(:func:`migrate_requests`) and the operator may set it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from apppackage.files import write_atomic

__all__ = ["MIGRATE_REQ", "admit", "enable_migration", "hold", "hold_file", "migrate_requests"]

MIGRATE_REQ = Path("/proc/sys/net/ipv4/tcp_migrate_req")


def migrate_requests(path: Path = MIGRATE_REQ) -> bool | None:
    """Whether the kernel hands a closing listener's waiting connections to another of its group;
    ``None`` when it cannot (a kernel before 5.14, or no ``/proc``)."""
    try:
        return path.read_text("ascii").strip() != "0"
    except (OSError, ValueError):
        return None


def enable_migration(path: Path = MIGRATE_REQ) -> bool | None:
    """Turn ``tcp_migrate_req`` on when it is off and this process is root; the setting afterwards."""
    on = migrate_requests(path)
    if on is False and os.geteuid() == 0:
        with contextlib.suppress(OSError):  # a network namespace of a container may refuse it
            path.write_text("1\n", "ascii")
        on = migrate_requests(path)
    return on


def hold_file(check_socket: str) -> Path:
    """The file that holds back a WSGI daemon's port while the host checks its health (beside its
    *check_socket*): while it says ``hold``, the daemon has bound the shared port but takes no
    connection there; the host writes ``go``, the daemon listens and removes the file."""
    return Path(check_socket).with_suffix(".hold")


def hold(check_socket: str) -> None:
    """Have the daemon about to start with *check_socket* hold its port back until :func:`admit`."""
    write_atomic(hold_file(check_socket), "hold\n", mode=0o644)


def admit(check_sockets: Sequence[str], *, ended: Callable[[], str | None], timeout: float) -> str | None:
    """Let the daemons of *check_sockets* take connections on their port; ``None`` once they all
    listen, else why not (*ended* says why a daemon ended; or *timeout* seconds passed)."""
    files = [hold_file(s) for s in check_sockets]
    for path in files:
        if path.exists():
            write_atomic(path, "go\n", mode=0o644)
    deadline = time.monotonic() + timeout
    while any(path.exists() for path in files):
        why = ended()
        if why is not None:
            return why
        if time.monotonic() > deadline:
            return f"did not listen on its port within {timeout:g} s of being told to"
        time.sleep(0.02)
    return None
