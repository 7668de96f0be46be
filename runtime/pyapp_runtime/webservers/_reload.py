"""A graceful reload of a running server, and how to tell when it is done or has failed.

nginx (SIGHUP) and Apache (SIGUSR1) start workers on the new configuration and let
the old ones finish the requests they hold: the reload is done when every worker of
the old generation is gone, so the caller may then stop what only the old
configuration sent requests to. lighttpd (SIGUSR1) restarts gracefully in one process
and logs when it serves again. A master that cannot bind a new address exits (Apache,
lighttpd) or keeps its old configuration and logs ``[emerg]`` (nginx).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ..pids import pid_alive
from . import _proc

__all__ = ["graceful_reload"]

_LOG_SCAN = 1 << 20  # how much of the error log a reload reads back
_APACHE_RESUMED = "resuming normal operations"  # Apache's notice once a (re)start is done


def _wait_for_new_workers(kind: str, pid: int, error_log: Path, since: int, timeout: float) -> bool:
    old, tick = _proc.children(pid), _proc.clock_ticks()
    os.kill(pid, signal.SIGHUP if kind == "nginx" else signal.SIGUSR1)
    # Apache forks workers of its own accord too: one forked while the list was read
    # (before the signal) belongs to the old generation all the same.
    old |= _proc.started_before(_proc.children(pid), tick)

    def renewed() -> bool:
        logged = _proc.tail(error_log, since, limit=_LOG_SCAN)
        if not pid_alive(pid) or "[emerg]" in logged:
            return True
        now = _proc.children(pid)
        if kind == "apache":
            # Done once the master has read and bound the new configuration (until then it
            # may still exit on a failed bind) and the old workers are gone. The new ones
            # may take up to a second to come (the master's maintenance tick): connections
            # wait in the listen queue meanwhile, none is refused.
            return _APACHE_RESUMED in logged and not (now & old)
        # nginx starts the new workers before it lets the old ones go.
        return bool(now) and not (now & old)

    return _proc.wait_until(renewed, timeout)


def graceful_reload(kind: str, pid: int, error_log: Path, *, since: int, timeout: float) -> str | None:
    """Reload the server whose master is *pid*; ``None`` when done, else what went wrong.

    *since* is the size of *error_log* before the reload: only what follows is read.
    """
    if kind == "lighttpd":
        os.kill(pid, signal.SIGUSR1)
        done = _proc.wait_until(
            lambda: not pid_alive(pid) or "server started" in _proc.tail(error_log, since, limit=_LOG_SCAN),
            timeout,
        )
    else:
        done = _wait_for_new_workers(kind, pid, error_log, since, timeout)
    if not pid_alive(pid):
        return "the server exited"
    if kind == "nginx" and "[emerg]" in _proc.tail(error_log, since, limit=_LOG_SCAN):
        # nginx keeps its old configuration, after retrying for a while (binds are tried
        # five times): let it finish, so the next signal finds it listening.
        _proc.settle(error_log, quiet=1.0, timeout=timeout)
        return "nginx kept its old configuration"
    if not done:
        return f"not done after {timeout:g}s"
    return None
