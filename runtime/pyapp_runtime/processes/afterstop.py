"""``updates: start: after-stop`` (spec section 3.18): the running programs stop before the new ones start.

For an app that allows a single writer (a database file one process may open, a queue with
one consumer), two generations must never run at once. When the running release or the new
one says ``after-stop``, :class:`~pyapp_runtime.processes.daemons.DaemonManager` stops the
running web daemons and processes before it starts the new ones, at an update, a rollback and
a reload (a configuration or service change, a restore): gracefully, as at the end of a switch,
but they stay known to supervisord and to the app's run state. The new ones start and must pass
the health gate as always; when they do not, they are stopped first, then the old ones are
started again and must pass it in turn. Once the switch is committed the old ones are forgotten
as usual. The task scheduler is left alone: it moves at the switch, as at any update.

While they are stopped ``run/paused.json`` names them, so that after a crash (``kill -9``) the
next command's recovery starts them again, unless the switch went through.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from apppackage.errors import AppPackageError
from apppackage.files import write_atomic

from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..supervision import NoSuchProgram, SupervisionError, SupervisorNotRunning
from .placement import placement
from .programs import Program
from .readiness import DaemonFailed, wait_ready
from .reuseport import hold
from .runstate import AppRunState
from .supervised import STOPPED

if TYPE_CHECKING:
    from .daemons import DaemonManager

__all__ = ["PAUSED_FILE", "AfterStop", "after_stop", "start_paused"]

PAUSED_FILE = "paused.json"
AFTER_STOP = "after-stop"


def after_stop(new: LaunchSpec, old: LaunchSpec) -> bool:
    """Whether *new* must not start before *old*'s programs stopped: either of them says ``after-stop``."""
    return AFTER_STOP in (new.updates.start, old.updates.start)


def _serving(state: AppRunState) -> list[Program]:
    return [p for p in state.programs if p.role != "tasks"]


class AfterStop:
    """The programs an activation or a reload of each app stopped before its start, to start again."""

    def __init__(self, daemons: DaemonManager) -> None:
        self.daemons = daemons
        self._stopped: dict[str, LaunchSpec] = {}

    def stop_old(
        self,
        app: AppLayout,
        state: AppRunState,
        new: LaunchSpec,
        old: LaunchSpec | None,
        *,
        kept: str | None = None,
    ) -> str:
        """Stop the running programs of *state* (*old*'s) when :func:`after_stop` says so. What stays as it
        was when *new* fails: *kept* (by default: *old* keeps serving), as it is then."""
        if kept is None:
            kept = f"{old.name} {old.version} keeps serving" if old is not None else "nothing was started"
        programs = _serving(state)
        if old is None or not programs or not after_stop(new, old):
            return kept
        daemons = self.daemons
        write_atomic(
            app.run / PAUSED_FILE, json.dumps({"programs": [p.name for p in programs]}) + "\n", mode=0o644
        )
        self._stopped[app.name] = old
        daemons.progress(f"stopping {old.name} {old.version} first (updates: start: after-stop)")
        stop_wait = daemons.settings.for_app(app.name).stop_wait
        supervisor = daemons.supervisor
        for program in programs:
            with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
                supervisor.stop(program.program, wait=False)
        for program in programs:
            with contextlib.suppress(SupervisionError):
                supervisor.wait_for(program.program, STOPPED, timeout=stop_wait + 10)
        if old.release != new.release:
            return f"{old.name} {old.version}, stopped before it (updates: start: after-stop), serves again"
        return f"{kept}; its processes, stopped before the new ones (updates: start: after-stop), run again"

    def start_old(self, app: AppLayout, failure: BaseException | None = None) -> None:
        """Start again what :meth:`stop_old` stopped (the new programs are gone), and wait until it serves;
        when it does not, raise :class:`DaemonFailed` saying so after *failure* (why the new ones failed)."""
        old = self._stopped.pop(app.name, None)
        if old is None:
            return
        self.daemons.progress(f"starting {old.name} {old.version} again")
        try:
            _start(self.daemons, app, old, _serving(AppRunState.load(app)))
        except AppPackageError as exc:
            before = f"{failure}\n" if failure is not None else ""
            raise DaemonFailed(
                f"{before}and then {old.name} {old.version} did not start again: {exc}"
            ) from exc
        finally:
            (app.run / PAUSED_FILE).unlink(missing_ok=True)

    def forget(self, app: AppLayout) -> None:
        """The switch went through: what was stopped stays stopped (the commit forgets it)."""
        self._stopped.pop(app.name, None)
        (app.run / PAUSED_FILE).unlink(missing_ok=True)


def _start(daemons: DaemonManager, app: AppLayout, launch: LaunchSpec, programs: Sequence[Program]) -> None:
    for program in programs:
        if program.check_socket:
            hold(program.check_socket)  # a shared port: listened on once healthy again
        daemons.supervisor.start(program.program, wait=False)
    place = placement(daemons.layout, app.name)
    wait_ready(
        daemons.supervisor, launch, programs, place, kept="nothing else runs", progress=daemons.progress
    )


def start_paused(daemons: DaemonManager, app: AppLayout, current: LaunchSpec | None) -> str | None:
    """After a crash: start again the programs of the serving release an after-stop activation had stopped
    (``None``: there were none, or the switch went through and they were stopped for good)."""
    path = app.run / PAUSED_FILE
    try:
        names = set(json.loads(path.read_text("utf-8"))["programs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    programs = [p for p in _serving(AppRunState.load(app)) if p.name in names]
    started = None
    if programs and current is not None:
        try:
            _start(daemons, app, current, programs)
            started = "started again " + ", ".join(p.program for p in programs)
        except AppPackageError as exc:
            started = f"could not start {', '.join(p.program for p in programs)} again: {exc}"
    path.unlink(missing_ok=True)
    return started
