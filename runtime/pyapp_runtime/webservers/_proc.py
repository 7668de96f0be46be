"""Small process helpers for the managed web servers (Linux ``/proc`` where it helps)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..pids import leftovers, read_pid, stop_groups

__all__ = [
    "children",
    "clear_leftovers",
    "clock_ticks",
    "cmdline",
    "port_open",
    "read_pid",
    "settle",
    "spawn_detached",
    "started_before",
    "tail",
    "wait_until",
]

_PROC = Path("/proc")

# Started by a throw-away interpreter so the server is re-parented to init at once: it
# outlives the caller, and the caller never has to reap it.
_DETACH = """\
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, close_fds=True)
print(child.pid)
"""


def spawn_detached(argv: Sequence[str], log: Path) -> int:
    """Start *argv* in its own session with its output appended to *log*; its pid."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _DETACH, str(log), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(f"cannot start {argv[0]}: {done.stderr.strip()}")
    return int(done.stdout.strip())


def _stat(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> set[int]:
    """The live child processes of *pid* (empty where ``/proc`` is missing)."""
    found = set()
    with contextlib.suppress(OSError):
        for entry in _PROC.iterdir():
            if entry.name.isdigit():
                fields = _stat(int(entry.name))
                if fields is not None and fields[1] == str(pid) and fields[0] not in ("Z", "X"):
                    found.add(int(entry.name))
    return found


def clock_ticks() -> int:
    """Clock ticks since boot, the unit of process start times (0 where ``/proc`` is missing)."""
    try:
        uptime = float((_PROC / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return int(uptime * os.sysconf("SC_CLK_TCK"))


def started_before(pids: set[int], tick: int) -> set[int]:
    """Those of *pids* started in a clock tick before *tick*."""
    found = set()
    for pid in pids:
        fields = _stat(pid)
        # Field 22 of stat (the 20th after the name and state): start time in clock ticks after boot.
        if fields is not None and len(fields) > 19 and int(fields[19]) < tick:
            found.add(pid)
    return found


def cmdline(pid: int) -> list[str]:
    """The command line of *pid* (empty if unknown)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def clear_leftovers(pid_file: Path, wait: float) -> list[int]:
    """Stop what a dead server whose pid *pid_file* names left (its workers), then remove the file.

    The server ran in a session of its own (:func:`spawn_detached`): its workers are the rest of
    that session (:func:`pyapp_runtime.pids.leftovers`). SIGTERM, then SIGKILL after *wait* s.
    """
    left = leftovers(pid_file)
    if left:
        stop_groups(left, wait=wait)
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    return left


def port_open(address: str, port: int) -> bool:
    """Whether something accepts TCP connections on *address*:*port*."""
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    # A server listening on every address is reached on the loopback one.
    host = ("::1" if ip.version == 6 else "127.0.0.1") if ip.is_unspecified else address
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect((host, port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll *condition* until it is true (True) or *timeout* seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def settle(path: Path, quiet: float, timeout: float) -> None:
    """Wait until *path* has not grown for *quiet* seconds (at most *timeout*)."""
    last, since = -1, time.monotonic()
    deadline = since + timeout
    while time.monotonic() < deadline:
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def tail(path: Path, start: int = 0, limit: int = 4000) -> str:
    """What *path* holds after byte *start*, at most its last *limit* characters."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    return data.decode(errors="replace")[-limit:]
