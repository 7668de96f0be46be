"""An app's programs after a command that changed it crashed (``kill -9``, a power cut) part-way.

Run by the next command holding the app's lock, once the journal has put the app's files back
(:mod:`pyapp_runtime.lifecycle.recovery`), so ``current`` is a complete release. What a
crash can leave, and what becomes of it:

- programs started for a release that is not current (the crash came before the switch was
  committed, and the journal undid it): stopped and forgotten;
- programs of the current release still pending (the switch was committed, their health gate
  had passed, the crash came before they took over): the switch is finished -- the stable
  socket points at them, the scheduler moves, the programs of the release before stop;
- programs supervisord has that the app's state does not know (the crash came while the old
  ones stopped, or during a first install that was undone): stopped and forgotten;
- programs of the serving release an after-stop activation had stopped before its start
  (:mod:`~pyapp_runtime.processes.afterstop`) when the switch did not go through: started again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..releases.launch import LaunchSpec
from .afterstop import start_paused
from .runstate import AppRunState
from .supervised import stop_programs, stray_programs

if TYPE_CHECKING:
    from .daemons import DaemonManager

__all__ = ["recover_programs"]


def recover_programs(daemons: DaemonManager, name: str, current: LaunchSpec | None) -> str | None:
    """Finish or undo what a crashed command left of app *name*'s programs; ``None``: nothing was left."""
    app = daemons.layout.app(name)
    state = AppRunState.load(app)
    finished = current is not None and state.pending_release == current.release != state.release
    if finished and current is not None:
        daemons.commit(name, current, None)
        state = AppRunState.load(app)
    keep = {p.name for p in state.programs}
    found = (*state.pending, *stray_programs(daemons.supervisor, app, state))
    left = [p for p in found if p.name not in keep]
    if left:
        stop_wait = daemons.settings.for_app(name).stop_wait
        stop_programs(daemons.supervisor, app, left, stop_wait=stop_wait, ports=daemons.ports)
    if state.pending:
        state.pending, state.pending_release = [], None
        state.save()
    done = [f"finished switching its processes to {current.release}"] if finished and current else []
    if left:
        done.append("stopped " + ", ".join(p.program for p in left))
    started = start_paused(daemons, app, current)
    if started:
        done.append(started)
    return "; ".join(done) or None
