"""Apps' processes under supervisord, and health-gated, zero-downtime activation (spec sections 7.3-7.8).

:class:`DaemonManager` is the :class:`~pyapp_runtime.lifecycle.activation.Activator` a
:class:`~pyapp_runtime.Host` uses when supervision is available. For an install,
update or rollback::

    prepare   start the new release's programs beside the old ones (new names, new socket
              or port), wait until its WSGI daemon answers the health check and its
              processes run; with listen: port, point the web server at the new port
    (switch)  the Host switches ``current``
    commit    point the stable socket ``web.sock`` at the new release's socket (an atomic
              rename), move the task scheduler to it, then stop the old release's programs
              gracefully: they finish the requests they hold
    abort     stop whatever prepare started; the old release never stopped

With ``updates: start: after-stop`` the old release's programs stop before the new ones
start, and start again when those fail (:mod:`~pyapp_runtime.processes.afterstop`).
A release that does not become healthy is stopped and the error shows its output.
The caller holds the app's lock for each of these (see :meth:`Host.locked`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

from ..errors import DaemonsDisabled
from ..faults import pause_point
from ..isolation.perms import TASKS_DIR
from ..layout import AppLayout, HostLayout
from ..releases.launch import LaunchSpec
from ..settings import HostSettings, supervisor_available
from ..supervision import SUN_PATH_MAX
from ..webservers import Upstream
from .afterstop import AfterStop
from .placement import placement
from .ports import PortRegistry
from .programs import Planned, Program, generation_tag, short_dir, socket_dir
from .readiness import DaemonFailed, wait_ready
from .recovery import recover_programs
from .runstate import AppRunState, DaemonStatus, all_program_statuses, program_statuses
from .supervised import ensure, forget_configs, prune_logs, replace_scheduler, stop_programs, stray_programs

if TYPE_CHECKING:
    from ..supervision import Supervisor

__all__ = ["SUPERVISOR_DIR", "TASKS_DIR", "DaemonFailed", "DaemonManager", "DaemonsDisabled"]

SUPERVISOR_DIR = "supervisor"


Route = Callable[[str, Upstream], bool]
"""Points an app's mount at the address its new daemons listen on; ``False`` when it is not mounted."""


class DaemonManager:
    """The supervised processes of the apps under *layout* (an :class:`Activator`).

    *route* tells the host's web part where a mounted app's new daemons listen when
    the address changes (a new port); without it the routes are left as they are.
    """

    def __init__(
        self,
        layout: HostLayout,
        *,
        settings: HostSettings | None = None,
        progress: Any = None,
        route: Route | None = None,
    ) -> None:
        self.layout = layout
        self.route = route
        self._settings = settings
        self.progress = progress or (lambda _message: None)
        self._supervisor: Supervisor | None = None
        self._no_start: set[str] = set()
        self._skipped: set[str] = set()
        self._routed: dict[str, Upstream | None] = {}
        self._was_stopped: dict[str, bool] = {}
        self.after_stop = AfterStop(self)  # what ``updates: start: after-stop`` stopped (section 3.18)

    # -- the parts -------------------------------------------------------------------

    @property
    def settings(self) -> HostSettings:
        if self._settings is None:
            self._settings = HostSettings.load(self.layout.home)
        return self._settings

    @property
    def enabled(self) -> bool:
        """Whether this host runs apps' processes."""
        return self.settings.daemons and supervisor_available()

    @property
    def supervisor(self) -> Supervisor:
        """The host's supervisord (``$PYAPP_HOME/supervisor``), started when first needed."""
        if self._supervisor is None:
            from ..supervision import Supervisor  # its XML-RPC client only for a command that talks to it

            state = self.layout.home / SUPERVISOR_DIR
            socket = state / "supervisor.sock"
            # supervisord binds "<socket>.<its pid>" first, then renames it: leave room for that.
            if len(os.fsencode(socket)) > SUN_PATH_MAX - 12:
                socket = short_dir(self.layout.home) / "supervisor.sock"
            self._supervisor = Supervisor(state, socket_path=socket)
        return self._supervisor

    @property
    def ports(self) -> PortRegistry:
        return PortRegistry(self.layout.home, self.settings.ports)

    def store_dir(self, app: AppLayout) -> Path:
        """Where *app*'s task runs are recorded (a :class:`~pyapp_runtime.scheduler.RunStore` directory)."""
        return app.dir / TASKS_DIR

    def _require(self) -> None:
        if not self.settings.daemons:
            where = self.settings.source or str(self.layout.home / "host.yaml")
            raise DaemonsDisabled(
                f"this host does not run apps' processes (daemons: false in {where}, or PYAPP_DAEMONS=0);"
                " turn it on to start, stop or watch them"
            )
        if not supervisor_available():
            raise DaemonsDisabled(
                "supervisord is not available to this Python: install the `supervisor` distribution"
                " (pip install 'apppackage[tools]')"
            )

    @contextlib.contextmanager
    def not_starting(self, name: str) -> Iterator[None]:
        """Within the block, an activation of app *name* leaves it stopped (``pyapp install --no-start``)."""
        self._no_start.add(name)
        try:
            yield
        finally:
            self._no_start.discard(name)

    def _plan(
        self, app: AppLayout, launch: LaunchSpec, config: Mapping[str, Any] | None, tag: str | None = None
    ) -> list[Planned]:
        from .planning import plan_release  # the walls and the programs' files: for programs to start

        return plan_release(
            app, launch, settings=self.settings, ports=self.ports, store=self.store_dir(app), config=config,
            tag=tag,
        )  # fmt: skip

    def _stop(self, app: AppLayout, programs: Sequence[Program], *, release_ports: bool = True) -> None:
        stop_wait = self.settings.for_app(app.name).stop_wait
        ports = self.ports if release_ports else None
        stop_programs(self.supervisor, app, programs, stop_wait=stop_wait, ports=ports)

    def _route(self, app: str, upstream: Upstream) -> bool:
        return self.route is not None and self.route(app, upstream)

    def _discard_pending(self, app: AppLayout, state: AppRunState) -> None:
        """Stop programs a failed or crashed activation left (never those of the serving release)."""
        keep = {p.name for p in state.programs}
        leftovers = [
            p for p in (*state.pending, *stray_programs(self.supervisor, app, state)) if p.name not in keep
        ]
        state.pending, state.pending_release = [], None
        self._stop(app, leftovers)
        state.save()

    # -- the Activator -------------------------------------------------------------------

    def prepare(
        self, name: str, new: LaunchSpec, old: LaunchSpec | None, *, config: Mapping[str, Any] | None = None
    ) -> None:
        """Start *new*'s programs beside *old*'s; wait until they are healthy, or raise :class:`DaemonFailed`.

        *config* holds the values *new* is to run with (by default the stored ones).
        """
        if not self.enabled:
            return
        app = self.layout.app(name)
        state = AppRunState.load(app)
        self._discard_pending(app, state)
        self._routed.pop(name, None)
        if name in self._no_start or (old is not None and state.stopped):
            self._skipped.add(name)
            return
        self._skipped.discard(name)
        kept = self.after_stop.stop_old(app, state, new, old)
        self._activate(app, state, new, config=config, kept=kept)

    def _activate(
        self,
        app: AppLayout,
        state: AppRunState,
        new: LaunchSpec,
        *,
        config: Mapping[str, Any] | None,
        kept: str,
        tag: str | None = None,
    ) -> None:
        planned = self._plan(app, new, config, tag)
        programs = [p.program for p in planned]
        state.pending, state.pending_release = programs, new.release
        state.save()
        self.progress(f"starting {app.name} {new.version}")
        try:
            for item in planned:
                if item.program.role != "tasks":
                    ensure(self.supervisor, item)
            pause_point("programs-started")
            place = placement(self.layout, app.name)
            serving = [p for p in programs if p.role != "tasks"]
            wait_ready(self.supervisor, new, serving, place, kept=kept, progress=self.progress)
            pause_point("healthy")
            web = next((p for p in programs if p.role == "web"), None)
            if web is not None and web.port is not None:
                previous = Upstream.tcp("127.0.0.1", state.port) if state.port else None
                if self._route(app.name, Upstream.tcp("127.0.0.1", web.port)):
                    self._routed[app.name] = previous
        except BaseException as exc:
            self._discard_pending(app, state)
            self.after_stop.start_old(app, exc)
            raise

    def commit(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None:
        """Route to *new*'s daemons, move the tasks to it, stop *old*'s programs."""
        if not self.enabled:
            return
        app = self.layout.app(name)
        state = AppRunState.load(app)
        skipped = name in self._skipped
        self._skipped.discard(name)
        self._routed.pop(name, None)
        planned = state.pending if state.pending_release == new.release and not skipped else []
        names = {p.name for p in planned}
        old_programs = [p for p in state.programs if p.name not in names]
        schedulers = [p for p in state.programs if p.role == "tasks"]
        link = state.switch_to(planned)
        if link is not None:
            with contextlib.suppress(AppPackageError):
                self._route(name, Upstream.unix(link))
        # From here the new programs serve: record it before anything else can fail.
        state.release, state.programs, state.stopped = new.release, planned, skipped
        state.pending, state.pending_release = [], None
        state.save()
        pause_point("switched")
        try:
            if any(p.role == "tasks" for p in planned):
                from .planning import walled_scheduler

                replace_scheduler(
                    self.supervisor,
                    walled_scheduler(app, new, settings=self.settings, store=self.store_dir(app)),
                    new,
                    schedulers,
                )
            self._stop(app, old_programs)
            if planned:  # the ports of processes the release no longer has (its app's stay assigned)
                self.ports.release_app(name, keep={p.port_owner for p in planned if p.port_owner})
        except AppPackageError as exc:
            # The switch is done; what is left over is swept at the app's next start or activation.
            self.progress(f"warning: {app.name}: the previous release's processes did not all stop: {exc}")
        forget_configs(app, state)
        prune_logs(app, state)
        self.after_stop.forget(app)

    def abort(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None:
        """Stop what :meth:`prepare` started; point the web server back at the old port if it was moved."""
        if not self.enabled:
            return
        app = self.layout.app(name)
        self._skipped.discard(name)
        if name in self._routed:
            previous = self._routed.pop(name)
            if previous is not None:
                with contextlib.suppress(AppPackageError):
                    self._route(name, previous)
        state = AppRunState.load(app)
        self._discard_pending(app, state)
        self.after_stop.start_old(app)
        forget_configs(app, state)

    def recover(self, name: str, current: LaunchSpec | None) -> str | None:
        """After a crashed command: finish its switch to *current*, stop every other program it left."""
        return recover_programs(self, name, current) if self.enabled else None

    def remove(self, name: str, current: LaunchSpec | None) -> None:
        """Stop every program of the app (spec section 7.8, step 1)."""
        if not self.enabled:
            return
        app = self.layout.app(name)
        state = AppRunState.load(app)
        self._was_stopped[name] = state.stopped
        self._stop_all(app, state)
        self.ports.release_app(name)
        sockets = socket_dir(app)
        if sockets != app.run:  # a short directory outside the app's: nothing else removes it
            shutil.rmtree(sockets, ignore_errors=True)
        with contextlib.suppress(AppPackageError):
            # Nothing left to supervise: no supervisord outlives the host's last app.
            self.supervisor.shutdown_if_idle()

    def remove_aborted(self, name: str, current: LaunchSpec | None) -> None:
        """Start the app again as it was (a removal failed)."""
        if not self.enabled or current is None or self._was_stopped.pop(name, False):
            return
        self.start(name, current)

    def _stop_all(self, app: AppLayout, state: AppRunState) -> None:
        if state.socket:
            Path(state.socket).unlink(missing_ok=True)
        strays = stray_programs(self.supervisor, app, state)
        scheduler = [p for p in state.programs if p.role == "tasks"]
        # The scheduler first: no task starts while the rest stops.
        self._stop(app, scheduler, release_ports=False)
        others = [p for p in (*state.programs, *state.pending, *strays) if p.role != "tasks"]
        self._stop(app, others, release_ports=False)
        state.programs, state.pending, state.pending_release = [], [], None

    # -- operations (the caller holds the app's lock) ---------------------------------------

    def start(self, name: str, launch: LaunchSpec) -> list[DaemonStatus]:
        """Start app *name*'s programs for *launch* (its current release) and wait until it is healthy."""
        self._require()
        app = self.layout.app(name)
        state = AppRunState.load(app)
        self._discard_pending(app, state)
        self._activate(app, state, launch, config=None, kept="nothing else of the app runs")
        self._routed.pop(name, None)
        self.commit(name, launch, None)
        return self.status(name)

    def stop(self, name: str) -> list[DaemonStatus]:
        """Stop every program of app *name* gracefully; it stays stopped (updates too) until started."""
        self._require()
        app = self.layout.app(name)
        state = AppRunState.load(app)
        self._stop_all(app, state)
        state.stopped, state.socket = True, None
        state.save()
        return self.status(name)

    def restart(self, name: str, launch: LaunchSpec) -> list[DaemonStatus]:
        """Stop app *name*'s programs, then start them (a stopped app is started)."""
        self._require()
        app = self.layout.app(name)
        state = AppRunState.load(app)
        self._stop(app, [*state.programs, *state.pending], release_ports=False)
        state.programs, state.pending, state.pending_release = [], [], None
        state.save()
        return self.start(name, launch)

    def reconfigure(self, name: str, launch: LaunchSpec, *, kept: str = "") -> bool:
        """Let a running app read its new configuration, services or mount (spec section 7.10).

        A new generation of its programs starts beside the running ones, as for an
        update; once healthy it takes over and the running ones finish their requests
        and stop. When it does not become healthy it is stopped and
        :class:`DaemonFailed` raised (*kept* says what the caller left as it was): the
        running programs never stopped. Whether the app was running (and so reloaded).
        """
        if not self.enabled:
            return False
        app = self.layout.app(name)
        state = AppRunState.load(app)
        if state.stopped or not state.programs:
            return False
        self._discard_pending(app, state)
        tag = generation_tag(launch.release, (p.tag for p in state.programs if p.role != "tasks"))
        kept = kept or f"{launch.name} {launch.version} keeps running as it was"
        kept = self.after_stop.stop_old(app, state, launch, launch, kept=kept)
        self._activate(app, state, launch, config=None, kept=kept, tag=tag)
        self.commit(name, launch, launch)
        return True

    def status(self, name: str) -> list[DaemonStatus]:
        """Every program of app *name* with its state (``absent``: supervisord does not run it)."""
        supervisor = self.supervisor if self.enabled and self.supervisor.is_running() else None
        return program_statuses(AppRunState.load(self.layout.app(name)), supervisor)

    def statuses(self, names: Iterable[str]) -> dict[str, list[DaemonStatus]]:
        """:meth:`status` of each app of *names*, supervisord asked once for all."""
        supervisor = self.supervisor if self.enabled and self.supervisor.is_running() else None
        return all_program_statuses(self.layout, names, supervisor)

    def ps(self) -> list[DaemonStatus]:
        """Every program of every app."""
        return [s for found in self.statuses(self.layout.app_names()).values() for s in found]

    def systemd_units(self, name: str, launch: LaunchSpec, **options: Any) -> dict[str, str]:
        """systemd unit files equivalent to app *name*'s programs for *launch* (:func:`export_systemd`)."""
        from ..supervision import export_systemd

        app = self.layout.app(name)
        return export_systemd([p.spec for p in self._plan(app, launch, None)], **options)
