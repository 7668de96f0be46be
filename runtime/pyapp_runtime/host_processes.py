"""What a :class:`~pyapp_runtime.Host` does with its apps' processes: start, stop, reload, watch them.

The processes run under supervisord (:mod:`pyapp_runtime.processes`) and outlive the
command that started them. A change takes the app's lock like every change of an app.
Each operation imports what it uses when called: a command that starts nothing (``pyapp install
--no-start``, ``pyapp config``) loads none of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .boot import HealReport, ShutdownReport
    from .host import Host
    from .layout import AppLayout, HostLayout
    from .processes.daemons import DaemonManager
    from .processes.health import HealthResult
    from .processes.logs import LogFile
    from .processes.runstate import ControlResult, DaemonStatus
    from .releases.launch import LaunchSpec
    from .releases.release import Release
    from .scheduler import TaskRun

__all__ = ["HostProcesses"]


class HostProcesses:
    """The process operations of :class:`~pyapp_runtime.Host` (a base class of it)."""

    layout: HostLayout

    if TYPE_CHECKING:  # what Host, the class this is a base of, gives these operations

        @property
        def daemons(self) -> DaemonManager: ...

        def locked(
            self, name: str, *, operation: str = "", wait: float = 0.0
        ) -> AbstractContextManager[tuple[AppLayout, str | None]]: ...

        def release(self, name: str) -> Release: ...

        def _try_recover(self, name: str) -> tuple[int | None, str | None]: ...

        def launch(self, name: str) -> LaunchSpec: ...

    @contextmanager
    def _starting(self, name: str, operation: str, wait: float) -> Iterator[LaunchSpec]:
        """Hold *name*'s lock and yield its current launch facts, once its required services have values.

        Spec section 3.9: an app does not start without them (a ``sqlite`` one is provisioned).
        """
        from .lifecycle.configure import ensure_services

        with self.locked(name, operation=operation, wait=wait) as (app, _recovered):
            launch = self.launch(name)
            ensure_services(app, launch)
            yield launch

    def start(self, name: str, *, wait: float = 0.0) -> ControlResult:
        """Start app *name*'s WSGI daemon, processes and task scheduler; wait until it is healthy."""
        from .processes.runstate import ControlResult

        with self._starting(name, "start", wait) as launch:
            return ControlResult(name=name, action="start", processes=tuple(self.daemons.start(name, launch)))

    def reload(self, name: str, *, wait: float = 0.0) -> ControlResult:
        """Replace a running app's processes with new ones, without a moment out of service.

        The new ones start beside the running ones and take over once healthy (as for an
        update); when they do not, the running ones go on. A stopped app stays stopped.
        """
        from .processes.runstate import ControlResult

        with self._starting(name, "reload", wait) as launch:
            self.daemons.reconfigure(name, launch)
            return ControlResult(name=name, action="reload", processes=tuple(self.daemons.status(name)))

    def stop(self, name: str, *, wait: float = 0.0) -> ControlResult:
        """Stop app *name*'s processes gracefully; it stays stopped, also across updates, until started."""
        from .processes.runstate import ControlResult

        with self.locked(name, operation="stop", wait=wait):
            self.release(name)
            return ControlResult(name=name, action="stop", processes=tuple(self.daemons.stop(name)))

    def restart(self, name: str, *, wait: float = 0.0) -> ControlResult:
        """Stop app *name*'s processes, then start them again (a stopped app is started)."""
        from .processes.runstate import ControlResult

        with self._starting(name, "restart", wait) as launch:
            processes = tuple(self.daemons.restart(name, launch))
            return ControlResult(name=name, action="restart", processes=processes)

    def status(self, name: str) -> list[DaemonStatus]:
        """Every process of app *name*: state, pid, socket or port, uptime, memory.

        What a crashed command left is recovered first (unless another command holds the app's lock),
        and a supervisord that died is restored.
        """
        from .processes.watchdog import restore_supervisor

        self.release(name)
        self._try_recover(name)
        restore_supervisor(self.daemons)
        return self.daemons.status(name)

    def health(self, name: str) -> HealthResult | None:
        """One health check of app *name* as it serves now (spec section 7.3), ``None`` when it serves
        nothing; nothing is recovered or restored on the way (a reader may ask often)."""
        from .processes.probe import probe_app

        return probe_app(self.layout, name, self.launch(name))

    def ps(self) -> list[DaemonStatus]:
        """Every process of every app on this host (each app recovered first, as for :meth:`status`, then
        what died restored: :meth:`heal`)."""
        for name in self.layout.app_names():
            self._try_recover(name)
        self.heal()
        return self.daemons.ps()

    def heal(self, *, boot: bool = False, wait: float = 0.0) -> HealReport:
        """Restore what died: supervisord, the web server, programs that keep crashing; with *boot*, also
        recover interrupted commands and start every app that should run (:func:`pyapp_runtime.boot.heal`)."""
        from .boot import heal

        return heal(cast("Host", self), boot=boot, wait=wait)

    def shutdown(self) -> ShutdownReport:
        """Stop every app's processes and the web server, keeping what should run (``pyapp boot`` after)."""
        from .boot import shutdown

        return shutdown(cast("Host", self))

    def logs(self, name: str, *, process: str | None = None) -> list[LogFile]:
        """The log files of app *name*'s processes (or of one: ``web``, ``queue#0``, ``tasks``, ``hooks``)."""
        from .processes.logs import app_logs

        current = self.release(name)
        return app_logs(self.layout.app(name), self.daemons.status(name), process=process, release=current.id)

    def task_runs(self, name: str, *, task: str | None = None, limit: int = 20) -> list[TaskRun]:
        """The last runs of app *name*'s tasks (of one *task*), newest first."""
        from .scheduler import RunStore

        self.release(name)
        return RunStore(self.daemons.store_dir(self.layout.app(name))).history(name, task, limit=limit)

    def systemd_units(self, name: str, **options: Any) -> dict[str, str]:
        """systemd unit files equivalent to app *name*'s supervised processes: ``{file name: text}``."""
        return self.daemons.systemd_units(name, self.launch(name), **options)
