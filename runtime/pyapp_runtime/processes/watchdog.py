"""Keeping the apps' programs running by themselves: supervisord restored when it died, programs that
keep crashing retried with back-off.

Both are called again and again (by ``pyapp boot --watch``, the management server's watcher, and
on the way by ``pyapp ps``/``status``), and each does nothing when all is well. What they do is
recorded in the host's events (:mod:`pyapp_runtime.hostevents`).

- :func:`restore_supervisor`: supervisord should run while it has programs (a stopped app has
  none) and the host is not shut down (``pyapp shutdown``); when it does not answer it is started
  again, once what the dead one left has stopped (:meth:`Supervisor.ensure_running`); it starts
  every program it has.
- :func:`retry_failing`: a serving program supervisord gave up on (``fatal``: it kept exiting at
  its start) is started again after 5 s, 10 s, 30 s, 1, 2, then every 5 minutes
  (:data:`~.failures.BACKOFF`), and shown as failing with its last output meanwhile.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..hostevents import record_event
from ..supervision import NoSuchProgram, SupervisorNotRunning
from .failures import STABLE, Failure, load_failures, save_failures
from .runstate import AppRunState, last_output

if TYPE_CHECKING:
    from .daemons import DaemonManager

__all__ = ["restore_supervisor", "retry_failing"]


def restore_supervisor(daemons: DaemonManager) -> str | None:
    """Start supervisord again when it has programs and does not answer; what was done (``None``: nothing)."""
    if not daemons.enabled or daemons.layout.shutdown_file.exists():
        return None
    supervisor = daemons.supervisor
    if not supervisor.programs() or supervisor.is_running():
        return None
    if not supervisor.ensure_running():
        return None
    left = supervisor.leftovers
    message = f"supervisord did not run: started it again with its {len(supervisor.programs())} programs"
    if left:
        message += f", once the {len(left)} processes the dead one left had stopped (pids {_pids(left)})"
    record_event(daemons.layout.events_file, "supervisord", message)
    return message


def _pids(pids: tuple[int, ...]) -> str:
    return ", ".join(str(p) for p in pids)


def retry_failing(daemons: DaemonManager, name: str, *, now: float | None = None) -> list[str]:
    """Retry app *name*'s serving programs supervisord gave up on, each when its back-off has passed.

    The programs retried now. The caller holds the app's lock (an activation's new programs
    are its own business).
    """
    app = daemons.layout.app(name)
    state = AppRunState.load(app)
    failures = load_failures(app)
    now = time.time() if now is None else now
    kept: dict[str, Failure] = {}
    retried: list[str] = []
    changed = False
    events = daemons.layout.events_file
    for program in [] if state.stopped else state.programs:
        try:
            status = daemons.supervisor.status(program.program)
        except (NoSuchProgram, SupervisorNotRunning):
            continue
        failure = failures.get(program.program)
        if status.state == "fatal" and failure is None:
            failure = Failure(since=now, next_retry=now, exit_status=status.exit_status)
            failure.next_retry = now + failure.backoff()
            output = last_output(program.log, 5)
            record_event(
                events, "crash", f"{program.program} keeps exiting at its start (exit status"
                f" {status.exit_status}); retrying it in {failure.backoff()} s. Its last output:\n{output}",
                app=name, failed=True,
            )  # fmt: skip
            changed = True
        elif status.state == "fatal" and failure is not None and now >= failure.next_retry:
            daemons.supervisor.start(program.program, wait=False)
            failure.retries += 1
            failure.exit_status = status.exit_status
            failure.next_retry = now + failure.backoff()
            retried.append(program.program)
            changed = True
            record_event(
                events, "crash", f"{program.program} retried (retry {failure.retries}, exit status"
                f" {status.exit_status}); the next one in {failure.backoff()} s if it fails again",
                app=name, failed=True,
            )  # fmt: skip
        elif failure is not None and status.state == "running" and (status.uptime or 0) >= STABLE:
            message = f"{program.program} runs again after {failure.retries} retries"
            record_event(events, "recovered", message, app=name)
            failure, changed = None, True
        if failure is not None:
            kept[program.program] = failure
    if changed or kept.keys() != failures.keys():
        save_failures(app, kept)
    return retried
