"""Whether a process is alive: the one check the supervisor, the web servers and the scheduler share."""

from __future__ import annotations

import os

__all__ = ["pid_alive"]


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
