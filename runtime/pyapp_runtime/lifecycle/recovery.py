"""Recovery: what a command that changed an app left when it died part-way (``kill -9``, a power cut).

The next command that takes the app's lock calls :func:`recover_app` first (``Host.locked``), and
a host's boot or repair calls it for every app (``Host.recover_all``). In this order:

1. hooks the dead command started and that still run (they run in a session of their own, so
   they outlive it) are stopped: nothing of an unfinished release keeps running or writing;
2. the journal finishes or undoes the command's changes to the files
   (:mod:`pyapp_runtime.lifecycle.journal`): ``current`` is a complete release, old or new;
3. the activator brings the processes in line with ``current``
   (:mod:`pyapp_runtime.processes.recovery`): a committed switch is finished, any other program
   the command started is stopped.

The lock itself needs nothing: it is an ``flock`` the kernel drops with its holder.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..layout import AppLayout
from ..pids import started_at, stop_groups
from ..releases.launch import LaunchSpec
from ..releases.release import current_release
from .activation import Activator
from .journal import Journal, recover

__all__ = ["recover_app"]

HOOK_STOP_WAIT = 10.0
"""How long a leftover hook has to end on SIGTERM before it is killed."""


def recover_app(app: AppLayout, activator: Activator) -> str | None:
    """Finish or undo what a crashed command left on *app* (the caller holds its lock); ``None``: nothing."""
    done = []
    journal = Journal(app)
    started = journal.load().get("started") if journal.file.exists() else None
    if isinstance(started, (int, float)):
        hooks = _leftover_hooks(app, started)
        if hooks:
            stop_groups(hooks, wait=HOOK_STOP_WAIT)
            done.append(f"stopped the hook processes {', '.join(map(str, hooks))} of the interrupted command")
    files = recover(app)
    if files:
        done.insert(0, files)
    current = current_release(app)
    processes = activator.recover(app.name, LaunchSpec.read(current.path) if current else None)
    if processes:
        done.append(processes)
    return "; ".join(done) or None


def _leftover_hooks(app: AppLayout, since: float) -> list[int]:
    """The hook processes of *app* started since *since* whose command is gone.

    A hook runs in a session of its own, with the app's variables but no ``PYAPP_PROCESS``
    (section 5.3: that is for its supervised processes). A task the scheduler runs looks the
    same but descends from supervisord, and is left alone.
    """
    marker = f"PYAPP_DATA_PATH={app.data}".encode()
    try:
        entries = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []  # no /proc here: hooks end at their timeout
    found = []
    for pid in entries:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            fields = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        if marker not in environ or any(v.startswith(b"PYAPP_PROCESS=") for v in environ):
            continue
        start = started_at(pid)
        if int(fields[3]) == pid and start is not None and start >= since - 1 and not _under_supervisord(pid):
            found.append(pid)
    return found


def _under_supervisord(pid: int) -> bool:
    while pid > 1:
        try:
            if b"supervisord" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
            pid = int(Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False
