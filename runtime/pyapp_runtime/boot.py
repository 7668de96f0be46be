"""The host brought to what it should run: at boot (``pyapp boot``), then again and again while it runs.

What should run is recorded, so nothing has to be told again after a reboot or a crash:

- every installed app runs unless the operator stopped it (``pyapp stop``, an install with
  ``--no-start``): ``run/daemons.json`` says so (:class:`~pyapp_runtime.processes.runstate.AppRunState`);
  its programs are supervisord's program files, which a new supervisord starts by itself;
- the web server runs while it has virtual hosts, unless ``pyapp web stop`` stopped it.

:func:`heal` restores what died: supervisord (once what it left has stopped:
:mod:`pyapp_runtime.supervision`), the web server (once its workers left have stopped), and
retries programs that keep crashing (:mod:`pyapp_runtime.processes.watchdog`). With *boot*
it first finishes or undoes what interrupted commands left on each app (:meth:`Host.recover_all`:
the journal and the programs of an interrupted update), then starts every app that should run
and has no programs. :func:`watch` heals every few seconds until told to stop; :func:`shutdown`
stops everything for a reboot without changing what should run (and nothing is restored until the
next boot).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from apppackage.errors import AppPackageError

from ._plain import Plain
from .errors import AppLocked
from .hostevents import record_event
from .processes.programs import STABLE_SOCKET, socket_dir
from .processes.runstate import AppRunState
from .processes.watchdog import restore_supervisor, retry_failing
from .settings import HostSettings
from .supervision import NoSuchProgram, SupervisorNotRunning, systemd_quote

if TYPE_CHECKING:
    from .host import Host

__all__ = [
    "HOST_UNIT",
    "WATCH_INTERVAL",
    "HealReport",
    "ShutdownReport",
    "heal",
    "host_unit",
    "shutdown",
    "watch",
]

T = TypeVar("T")

WATCH_INTERVAL = 5.0
"""Seconds between two checks of :func:`watch` (``pyapp boot --watch``, the management server)."""


@dataclass(frozen=True, kw_only=True)
class HealReport(Plain):
    """What :func:`heal` did (each ``None`` or empty: nothing to do)."""

    recovered: dict[str, str] = field(default_factory=dict)
    """What recovery did, by app (with *boot*)."""
    supervisord: str | None = None
    started: tuple[str, ...] = ()
    """The apps started (with *boot*)."""
    retried: tuple[str, ...] = ()
    """The programs retried after they kept crashing."""
    failing: tuple[str, ...] = ()
    """The programs failing now."""
    web_server: str | None = None
    errors: tuple[str, ...] = ()


def _wanted(host: Host) -> list[str]:
    """The installed apps that should run (the operator did not stop them)."""
    return [
        name
        for name in host.layout.app_names()
        if host.is_installed(name) and not AppRunState.load(host.layout.app(name)).stopped
    ]


def _has_programs(host: Host, state: AppRunState) -> bool:
    if not state.programs:
        return False
    with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
        for program in state.programs:
            host.daemons.supervisor.status(program.program)
        return True
    return False


def _sockets(host: Host, name: str) -> None:
    """The app's socket directory and stable socket link, gone with a reboot when they live in ``/tmp``."""
    state = AppRunState.load(host.layout.app(name))
    socket_dir(state.app).mkdir(parents=True, exist_ok=True)
    if state.socket and state.programs and not (socket_dir(state.app) / STABLE_SOCKET).is_symlink():
        with host.locked(name, operation="boot"):
            state = AppRunState.load(host.layout.app(name))
            state.switch_to(state.programs)
            state.save()


class _Steps:
    """Runs the steps of one :func:`heal`: an error stops its step only, and is reported and recorded as an
    event of *kind* -- unless *seen* (kept from round to round by :func:`watch`) says it was already."""

    def __init__(self, host: Host, seen: dict[str, str] | None) -> None:
        self.events = host.layout.events_file
        self.seen = {} if seen is None else seen
        self.errors: list[str] = []

    def run(
        self, kind: str, what: str, step: Callable[..., T], *args: Any, app: str | None = None
    ) -> T | None:
        try:
            result = step(*args)
        except AppLocked:  # another command works on the app: it is left to it
            return None
        except AppPackageError as exc:
            self.errors.append(f"{what}: {exc}")
            if self.seen.get(what) != str(exc):
                self.seen[what] = str(exc)
                record_event(self.events, kind, f"{what}: {exc}", app=app, failed=True)
            return None
        self.seen.pop(what, None)
        return result


def heal(
    host: Host, *, boot: bool = False, wait: float = 0.0, seen: dict[str, str] | None = None
) -> HealReport:
    """Restore what died on *host* (see the module); with *boot*, recover and start what should run too.

    An app another command works on is left to it. *wait* is how long *boot* waits for an app's lock;
    an error already in *seen* is not recorded again.
    """
    if boot:
        host.layout.shutdown_file.unlink(missing_ok=True)
    elif host.layout.shutdown_file.exists():
        return HealReport()  # pyapp shutdown: nothing comes back before pyapp boot
    steps = _Steps(host, seen)
    started: list[str] = []
    retried: list[str] = []
    failing: list[str] = []
    # Interrupted installs and updates first: their programs are stopped or taken over (Host.recover_all).
    recover = lambda: host.recover_all(wait=wait)  # noqa: E731
    recovered = (steps.run("boot", "recovering interrupted commands", recover) if boot else None) or {}
    daemons = host.daemons
    supervisord = None
    if daemons.enabled:
        wanted = _wanted(host)
        for name in wanted if boot else ():
            steps.run("boot", f"preparing {name}'s sockets", _sockets, host, name, app=name)
        supervisord = steps.run("supervisord", "restoring supervisord", restore_supervisor, daemons)
        for name in wanted:
            missing = boot and not _has_programs(host, AppRunState.load(host.layout.app(name)))
            if missing and steps.run("boot", f"starting {name}", _start, host, name, wait, app=name):
                started.append(name)
            retried += steps.run("crash", f"retrying {name}'s programs", _retry, host, name, app=name) or []
            failing += [p.program for p in daemons.status(name) if p.failing]
    web_server = steps.run("web-server", "restoring the web server", _restore_web, host)
    return HealReport(
        recovered=recovered, supervisord=supervisord, started=tuple(started), retried=tuple(retried),
        failing=tuple(failing), web_server=web_server, errors=tuple(steps.errors),
    )  # fmt: skip


def _start(host: Host, name: str, wait: float) -> bool:
    host.start(name, wait=wait)
    record_event(host.layout.events_file, "boot", f"{name} should run and did not: started it", app=name)
    return True


def _restore_web(host: Host) -> str | None:
    state = host.web.restore()
    if state is None:
        return None
    message = f"{state.kind} did not run: started it again (pid {state.pid})"
    record_event(host.layout.events_file, "web-server", message)
    return message


def _retry(host: Host, name: str) -> list[str]:
    with host.locked(name, operation="watch"):
        return retry_failing(host.daemons, name)


def watch(
    open_host: Callable[[], Host],
    stop: threading.Event,
    *,
    interval: float = WATCH_INTERVAL,
    boot: bool = True,
    report: Callable[[HealReport], None] | None = None,
) -> None:
    """Heal the host *open_host* gives (first with *boot*), then again every *interval* seconds, until *stop*
    is set. Each round opens the host anew: a change of its settings counts from the next round."""
    first = True
    seen: dict[str, str] = {}
    while not stop.is_set():
        try:
            result = heal(open_host(), boot=boot and first, seen=seen)
        except AppPackageError as exc:  # a broken app's state: the others are still watched next time
            result = HealReport(errors=(str(exc),))
        first = False
        if report is not None:
            report(result)
        stop.wait(interval)


@dataclass(frozen=True, kw_only=True)
class ShutdownReport(Plain):
    supervisord: bool = False
    """Whether supervisord was running (and so stopped, with every app's processes)."""
    web_server: bool = False


def shutdown(host: Host) -> ShutdownReport:
    """Stop every app's processes gracefully and the web server, keeping what should run (for a reboot).

    Until :func:`heal` with *boot* (``pyapp boot``), nothing is restored.
    """
    host.layout.shutdown_file.parent.mkdir(parents=True, exist_ok=True)
    host.layout.shutdown_file.write_text("pyapp shutdown; pyapp boot brings back what ran\n", "utf-8")
    server = host.web.server()
    web = server is not None and server.is_running()
    if server is not None and web:
        server.stop(graceful=True)
    stopped = host.daemons.enabled and host.daemons.supervisor.shutdown()
    if stopped or web:
        record_event(
            host.layout.events_file, "boot", "the host was shut down; pyapp boot brings back what ran"
        )
    return ShutdownReport(supervisord=stopped, web_server=web)


HOST_UNIT = "pyapp-host.service"


def host_unit(
    home: Path,
    pyapp: str,
    *,
    settings: HostSettings,
    user: str | None = None,
    group: str | None = None,
    wanted_by: str = "multi-user.target",
) -> tuple[str, str]:
    """The systemd unit that runs the host at *home* from boot: ``(file name, text)``.

    ``pyapp boot --watch`` (the command *pyapp*) brings back what should run and heals it while
    the unit is active; stopping the unit (a shutdown) runs ``pyapp shutdown``, which stops the
    apps gracefully without changing what should run. Only the watcher is the unit's own
    process (``KillMode=process``): when it fails and is restarted, the apps keep running.
    """
    where = ["--home", str(home)]
    stop_wait = max(app.stop_wait for app in (settings.defaults, *settings.apps.values()))
    quoted = " ".join
    unit = [
        "[Unit]",
        f"Description=pyapp host {str(home).replace('%', '%%')}: its apps and web server",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={quoted(systemd_quote(a) for a in (pyapp, 'boot', '--watch', *where))}",
        f"ExecStop={quoted(systemd_quote(a) for a in (pyapp, 'shutdown', *where))}",
        "KillMode=process",
        "Restart=on-failure",
        "RestartSec=5",
        # The apps stop gracefully: each gets its stop wait, the web server its own.
        f"TimeoutStopSec={stop_wait + 60}",
    ]
    unit += [f"User={user}"] if user else []
    unit += [f"Group={group}"] if group else []
    unit += ["", "[Install]", f"WantedBy={wanted_by}", ""]
    return HOST_UNIT, "\n".join(unit)
