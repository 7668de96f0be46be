"""Starting and stopping an app's programs under supervisord, finding its strays, and tidying what they
leave in ``run/`` and ``logs/``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..supervision import NoSuchProgram, SupervisionError, SupervisorNotRunning, program_name
from .ports import PortRegistry
from .programs import SCHEDULER, Planned, Program, Role, release_tag
from .reuseport import hold, hold_file
from .runstate import AppRunState

if TYPE_CHECKING:
    from ..supervision import Supervisor

__all__ = ["ensure", "forget_configs", "prune_logs", "replace_scheduler", "stop_programs", "stray_programs"]

STOPPED = ("stopped", "exited", "fatal")
_WEB = re.compile(r"web-([0-9a-f]{12})(?:-\d+)?")
_TAG = re.compile(r"(?:^web-([0-9a-f]{12})(?:-\d+)?|-\d+-([0-9a-f]{12}))\.log(?:\.\d+)?$")


def ensure(supervisor: Supervisor, planned: Planned) -> None:
    """Add or update *planned*'s program, and start it if it is not running.

    A WSGI daemon on a shared port starts held back (:func:`~pyapp_runtime.processes.reuseport.hold`):
    :func:`~pyapp_runtime.processes.readiness.wait_ready` lets it listen there once healthy.
    """
    program = planned.program.program
    check = planned.program.check_socket
    if check is not None:
        with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
            if supervisor.status(program).alive:
                check = None  # running already: it listens
        if check is not None:
            hold(check)
    if supervisor.update(planned.spec) == "unchanged" and not supervisor.status(program).alive:
        supervisor.start(program, wait=False)


def stop_programs(
    supervisor: Supervisor,
    app: AppLayout,
    programs: Sequence[Program],
    *,
    stop_wait: int,
    ports: PortRegistry | None,
) -> None:
    """Stop *programs* gracefully, all at once, and forget them; release their ports unless *ports* is None.

    Each gets its stop signal together; supervisord kills what still runs after its
    stop wait (a scheduler's covers its longest task).
    """
    if not programs:
        return
    if supervisor.is_running():
        for program in programs:
            with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
                supervisor.stop(program.program, wait=False)
        for program in programs:
            limit = stop_wait + 10 if program.role != "tasks" else 3600
            with contextlib.suppress(SupervisionError):
                supervisor.wait_for(program.program, STOPPED, timeout=limit)
    for program in programs:
        with contextlib.suppress(SupervisorNotRunning):
            supervisor.remove(program.program)
        (app.run / f"{program.name}.json").unlink(missing_ok=True)
        if program.pid_file:
            Path(program.pid_file).unlink(missing_ok=True)
        if program.check_socket:
            Path(program.check_socket).unlink(missing_ok=True)
            hold_file(program.check_socket).unlink(missing_ok=True)
    if ports is not None:
        owners = {program.program for program in programs}
        owners |= {program_name(app.name, f"web-{p.tag}") for p in programs if p.role == "web"}
        ports.release(owners)


def forget_configs(app: AppLayout, state: AppRunState) -> None:
    """Delete the configuration copies of releases no program uses any more."""
    used = {p.tag for p in (*state.programs, *state.pending)}
    for path in app.run.glob("config-*"):
        if path.stem.removeprefix("config-") not in used:
            path.unlink(missing_ok=True)


def prune_logs(app: AppLayout, state: AppRunState) -> None:
    """Delete the logs of programs of releases that no longer exist (the releases pruned after updates)."""
    kept = {release_tag(rid) for rid in app.release_ids()}
    kept |= {p.tag for p in (*state.programs, *state.pending)}
    for path in app.output.glob("*.log*"):
        match = _TAG.search(path.name)
        tag = match and (match[1] or match[2])
        if tag and tag not in kept:
            path.unlink(missing_ok=True)


def replace_scheduler(
    supervisor: Supervisor, planned: Planned | None, launch: LaunchSpec, running: Sequence[Program]
) -> None:
    """Start *planned*, *launch*'s task scheduler, in place of a *running* one of another release.

    The old scheduler's running tasks end first (it stops within their timeout).
    """
    if planned is None:
        return
    program = planned.program.program
    if any(p.release != launch.release for p in running):
        with contextlib.suppress(NoSuchProgram, SupervisorNotRunning):
            if supervisor.status(program).alive:
                supervisor.stop(program, wait=False)
                supervisor.wait_for(program, STOPPED, timeout=planned.spec.stop_wait + 10)
    ensure(supervisor, planned)


def stray_programs(supervisor: Supervisor, app: AppLayout, state: AppRunState) -> list[Program]:
    """Programs of *app* supervisord has that the app's state does not know (left by a crash)."""
    known = {p.program for p in (*state.programs, *state.pending)}
    out = []
    for program in supervisor.programs():
        owner, _, name = program.partition("@")
        if owner != app.name or program in known:
            continue
        web = _WEB.fullmatch(name)
        role: Role = "web" if web else "tasks" if name == SCHEDULER else "process"
        release = f"0-{web[1]}" if web else "0-000000000000"
        out.append(Program(app=app.name, name=name, role=role, process=name, release=release, log=""))
    return out
