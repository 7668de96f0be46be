"""What runs for an app (``apps/<name>/run/daemons.json``) and how each of its processes is doing.

The file names the release whose programs run, each program (its socket or port, its
log), the programs being started for a release not yet active (``pending``), whether
the operator stopped the app, and where its stable socket is. Only the host's
commands read it, under the app's lock.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.files import replace_link, write_atomic

from ..errors import HostError
from ..layout import AppLayout, HostLayout
from ..supervision import NoSuchProgram, ProcessStatus, SupervisorNotRunning, read_tail
from .failures import Failure, load_failures
from .programs import STABLE_SOCKET, Program

if TYPE_CHECKING:
    from ..supervision import Supervisor

__all__ = [
    "STATE_FILE",
    "AppRunState",
    "ControlResult",
    "DaemonStatus",
    "all_program_statuses",
    "last_output",
    "overall_state",
    "program_statuses",
]

STATE_FILE = "daemons.json"


@dataclass(kw_only=True)
class AppRunState:
    """The daemons of one app (mutable; :meth:`save` writes it atomically)."""

    app: AppLayout
    release: str | None = None
    """The release whose programs run (or would run, when ``stopped``)."""
    programs: list[Program] = field(default_factory=list)
    pending: list[Program] = field(default_factory=list)
    pending_release: str | None = None
    stopped: bool = False
    socket: str | None = None
    """The stable unix socket (a symbolic link to the serving release's socket)."""
    port: int | None = None
    """The port of the serving release's WSGI daemons (listen: port)."""

    @property
    def path(self) -> Path:
        return self.app.run / STATE_FILE

    @classmethod
    def load(cls, app: AppLayout) -> AppRunState:
        state = cls(app=app)
        try:
            raw = json.loads(state.path.read_text("utf-8"))
        except FileNotFoundError:
            return state
        except ValueError as exc:
            raise HostError(
                f"{state.path}: not valid JSON ({exc}); stop the app's processes and remove it"
            ) from None
        state.release = raw.get("release")
        state.programs = [Program.from_dict(app.name, p) for p in raw.get("programs", ())]
        state.pending = [Program.from_dict(app.name, p) for p in raw.get("pending", ())]
        state.pending_release = raw.get("pending_release")
        state.stopped = bool(raw.get("stopped"))
        state.socket = raw.get("socket")
        state.port = raw.get("port")
        return state

    def switch_to(self, programs: Sequence[Program]) -> Path | None:
        """Point the stable socket at the socket of *programs*' WSGI daemon (an atomic rename), or record
        its port. The stable socket's path (``None``: the daemon listens on a port, or there is none)."""
        web = next((p for p in programs if p.role == "web"), None)
        stable = Path(self.socket) if self.socket else None
        if web is None or not web.socket:
            if stable is not None:
                stable.unlink(missing_ok=True)
            self.socket, self.port = None, web.port if web is not None else None
            return None
        link = Path(web.socket).parent / STABLE_SOCKET
        replace_link(link, Path(web.socket).name)
        if stable is not None and stable != link:
            stable.unlink(missing_ok=True)
        self.socket, self.port = str(link), None
        return link

    def save(self) -> None:
        data = {
            "release": self.release,
            "stopped": self.stopped,
            "socket": self.socket,
            "port": self.port,
            "programs": [p.to_dict() for p in self.programs],
            "pending_release": self.pending_release,
            "pending": [p.to_dict() for p in self.pending],
        }
        write_atomic(self.path, json.dumps(data, indent=2) + "\n", mode=0o644)


@dataclass(frozen=True, kw_only=True)
class DaemonStatus:
    """One process of an app as ``pyapp status``/``pyapp ps`` show it.

    ``state`` is supervisord's (``running``, ``starting``, ``backoff``, ``fatal``,
    ``stopped``...), or ``absent`` when supervisord does not know the program (not
    started, or supervisord is not running). ``failing``: it keeps exiting at its start
    (``fatal``, ``backoff``, or retried by the host and not running since); ``retries`` says how
    often the host retried it, ``output`` holds its last lines of output while it fails.
    """

    app: str
    process: str
    program: str
    role: str
    release: str
    state: str
    pid: int | None = None
    socket: str | None = None
    port: int | None = None
    uptime: float | None = None
    memory: int | None = None
    log: str = ""
    exit_status: int | None = None
    failing: bool = False
    retries: int = 0
    output: str = ""

    @property
    def listen(self) -> str:
        return f"unix:{self.socket}" if self.socket else f"127.0.0.1:{self.port}" if self.port else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "process": self.process,
            "program": self.program,
            "role": self.role,
            "release": self.release,
            "state": self.state,
            "pid": self.pid,
            "socket": self.socket,
            "port": self.port,
            "listen": self.listen,
            "uptime": self.uptime,
            "memory": self.memory,
            "log": self.log,
            "exit_status": self.exit_status,
            "failing": self.failing,
            "retries": self.retries,
            "output": self.output,
        }


@dataclass(frozen=True, kw_only=True)
class ControlResult:
    """What ``start``, ``stop`` or ``restart`` of an app left running."""

    name: str
    action: str
    processes: tuple[DaemonStatus, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "action": self.action, "processes": [p.to_dict() for p in self.processes]}


def program_statuses(
    state: AppRunState, supervisor: Supervisor | None, known: Mapping[str, ProcessStatus] | None = None
) -> list[DaemonStatus]:
    """Every program of *state* with its state in *supervisor* (``absent``: it does not run it, or
    supervisord is not running: ``None``), or in *known* (what supervisord said of every program, in one
    call: see :func:`all_program_statuses`)."""
    programs = [*state.programs, *(p for p in state.pending if p not in state.programs)]
    failures = load_failures(state.app)
    out = []
    for program in programs:
        info = None
        if known is not None:
            info = known.get(program.program)
        elif supervisor is not None:
            with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
                info = supervisor.status(program.program)
        failure = failures.get(program.program)
        failing = _failing(info.state if info else "absent", failure)
        out.append(
            DaemonStatus(
                app=state.app.name, process=program.label, program=program.program, role=program.role,
                release=program.release, state=info.state if info else "absent",
                pid=info.pid if info else None, socket=program.socket, port=program.port,
                uptime=info.uptime if info else None, memory=info.memory if info else None,
                log=program.log, exit_status=info.exit_status if info else None, failing=failing,
                retries=failure.retries if failure else 0, output=last_output(program.log) if failing else "",
            )
        )  # fmt: skip
    return out


def all_program_statuses(
    layout: HostLayout, names: Iterable[str], supervisor: Supervisor | None
) -> dict[str, list[DaemonStatus]]:
    """:func:`program_statuses` of each app of *names*, asking *supervisor* once for all of them (a page
    listing a hundred apps makes one call, not one per program)."""
    known: dict[str, ProcessStatus] = {}
    if supervisor is not None:
        with contextlib.suppress(SupervisorNotRunning):
            known = {info.program: info for info in supervisor.status_all()}
    return {name: program_statuses(AppRunState.load(layout.app(name)), None, known) for name in names}


def _failing(state: str, failure: Failure | None) -> bool:
    return state in ("fatal", "backoff") or (failure is not None and state in ("starting", "exited"))


def last_output(log: str, lines: int = 10) -> str:
    """The last *lines* lines a program wrote to its *log*."""
    if not log:
        return ""
    return "\n".join(read_tail(log, 8192).splitlines()[-lines:])


def overall_state(processes: Sequence[DaemonStatus]) -> str:
    """One word for an app's *processes*: ``stopped`` (none), ``failing`` (one keeps crashing), ``running``
    (all run), ``down`` (supervisord does not run one: it died) or ``starting``."""
    if not processes:
        return "stopped"
    if any(p.failing for p in processes):
        return "failing"
    if all(p.state == "running" for p in processes):
        return "running"
    return "down" if any(p.state == "absent" for p in processes) else "starting"
