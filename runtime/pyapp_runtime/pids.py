"""Whether a process lives, and what a dead session leader left: the checks the supervisor, the web
servers and the scheduler share (Linux ``/proc`` where it helps)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection
from pathlib import Path

__all__ = ["leftovers", "pid_alive", "read_pid", "started_at", "stop_groups"]

_PROC = Path("/proc")
_SLACK = 2.0
"""Seconds a pid file's time may differ from its process's start (the clock runs apart from the ticks)."""


def pid_alive(pid: int) -> bool:
    """Whether process *pid* runs: it exists and is not a zombie.

    A zombie (``Z``) or dead (``X``) process has ended, but waits for a parent that
    may never reap it (supervisord or a web server is not our child). A process of
    another user counts as alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False  # it ended since
    except OSError:
        return True  # no /proc here: the signal check is all there is
    # The command name is in parentheses and may contain spaces.
    return stat.rpartition(b")")[2].split()[:1] not in ([b"Z"], [b"X"])


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or ``None``."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or ``None``."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _boot_time() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in (_PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def started_at(pid: int) -> float | None:
    """When process *pid* started (a Unix time, to the clock tick), or ``None`` when it is gone."""
    fields = _stat(pid)
    if fields is None or len(fields) < 20:
        return None
    # Field 22 of stat (the 20th after the name): the start in clock ticks after boot.
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def leftovers(pid_file: Path) -> list[int]:
    """The processes left of the session led by the process *pid_file* names, once that leader is gone.

    A daemon that made its own session (``setsid``: supervisord, a web server started by the
    runtime) and wrote *pid_file* leads the session of everything it started; killed, it
    leaves them running in that session. Linux does not give the leader's pid to a new process
    while one of them lives, so they are the live processes whose session id is that pid and
    that started after the pid file was written (this boot). Empty while a process has the
    leader's pid: the leader itself, or another one, when all it left is gone.
    """
    leader = read_pid(pid_file)
    try:
        written = pid_file.stat().st_mtime
    except OSError:
        return []
    if leader is None or written < _boot_time():
        return []
    if pid_alive(leader):
        return []
    found = []
    for entry in _PROC.iterdir() if _PROC.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        fields = _stat(int(entry.name))
        # After the name: state, ppid, pgrp, session (the 4th)...
        if fields is None or fields[0] in ("Z", "X") or fields[3] != str(leader):
            continue
        start = started_at(int(entry.name))
        if start is not None and start >= written - _SLACK:
            found.append(int(entry.name))
    return sorted(found)


def stop_groups(pids: Collection[int], *, wait: float, sig: int = signal.SIGTERM) -> None:
    """Send *sig* to the process group of each of *pids* (and to each), then SIGKILL what still runs
    after *wait* seconds; return once they are gone (or after 10 s more)."""
    groups = set()
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            groups.add(int(fields[2]))
    for target in (*(-g for g in groups if g > 1), *pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, sig)
    for limit, then in ((wait, signal.SIGKILL), (10.0, None)):
        deadline = time.monotonic() + limit
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        if then is None or not any(pid_alive(p) for p in pids):
            return
        for target in (*(-g for g in groups if g > 1), *pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, then)
