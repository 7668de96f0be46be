"""Making way for a new supervisord: one that no longer answers is ended, and what a dead one left runs no
more.

supervisord leads a session of its own (it ``setsid``s when it daemonizes) and starts every
program in it, each in its own process group. Killed (``kill -9``, the OOM killer), it leaves
them running, re-parented to init: serving still, holding their sockets and ports, and never
reaped or restarted by anyone. A new supervisord would start a second copy of each. So before
it starts, they are found by that session (:func:`pyapp_runtime.pids.leftovers`) and stopped
as supervisord would have: the stop signal to each process group, then SIGKILL after the
programs' longest stop wait. The new supervisord then starts the programs afresh.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..pids import leftovers, pid_alive, read_pid, stop_groups

if TYPE_CHECKING:
    from .control import Supervisor

__all__ = ["clear"]

MAX_STOP_WAIT = 60
"""The longest a leftover program is given to stop (a scheduler's stop wait covers hour-long tasks)."""

_STOP_WAIT = re.compile(r"^stopwaitsecs\s*=\s*(\d+)\s*$", re.M)


def _stop_wait(supervisor: Supervisor) -> int:
    waits = [10]
    for conf in supervisor.programs_dir.glob("*.conf") if supervisor.programs_dir.is_dir() else ():
        with contextlib.suppress(OSError):
            waits += [int(m) for m in _STOP_WAIT.findall(conf.read_text("utf-8"))]
    return min(max(waits), MAX_STOP_WAIT)


def _is_supervisord(pid: int, supervisor: Supervisor) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"supervisor.supervisord" in argv and os.fsencode(supervisor.config_file) in argv


def clear(supervisor: Supervisor) -> tuple[int, ...]:
    """End a supervisord of *supervisor*'s that does not answer, then stop the programs a dead one left.

    The pids of the leftovers it stopped. A supervisord still starting or shutting down gets
    ``start_timeout`` seconds to answer or end first; the caller holds the supervisor's lock.
    """
    pid = read_pid(supervisor.pid_file)
    if pid is not None and pid_alive(pid) and _is_supervisord(pid, supervisor):
        deadline = time.monotonic() + supervisor.start_timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            if supervisor.is_running():
                return ()
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)  # it neither answers nor ends: hung
        while pid_alive(pid) and time.monotonic() < deadline + 10:
            time.sleep(0.05)
    left = leftovers(supervisor.pid_file)
    if left:
        stop_groups(left, wait=_stop_wait(supervisor))
    return tuple(left)
