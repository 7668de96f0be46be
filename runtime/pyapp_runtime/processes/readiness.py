"""When a started release is ready to serve (spec section 7.3), and what to say when it is not.

Its WSGI daemons must answer the health check (:mod:`pyapp_runtime.processes.health`) within
``health.start`` seconds, and every program must reach supervisord's ``running``
state (it ran for its ``start_seconds``) without ending first. A release that does
not is reported with the last output of the programs that failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import HostError
from ..releases.launch import LaunchSpec
from ..supervision import read_tail
from .health import Address, wait_healthy
from .placement import Placement
from .programs import Program
from .reuseport import admit

if TYPE_CHECKING:
    from ..supervision import Supervisor

__all__ = ["ENDED", "DaemonFailed", "ended", "failure", "wait_ready"]

ENDED = ("backoff", "exited", "fatal", "stopped")
"""supervisord states of a program that is not running and not about to."""
TAIL_BYTES = 3000


class DaemonFailed(HostError):
    """A release's processes did not start, or it did not become healthy; ``output`` is their last output."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message + (f"\n{output.rstrip()}" if output.strip() else ""))


def ended(supervisor: Supervisor, programs: Sequence[Program]) -> str | None:
    """Why one of *programs* is not running (``None`` while all are starting or running)."""
    for program in programs:
        status = supervisor.status(program.program)
        if status.state in ENDED:
            code = f", exit status {status.exit_status}" if status.exit_status is not None else ""
            return f"{program.label} ended ({status.state}{code})"
    return None


def failure(launch: LaunchSpec, detail: str, programs: Sequence[Program], kept: str) -> DaemonFailed:
    """The error for *launch* not starting: *detail*, what still runs (*kept*), the programs' output."""
    parts = []
    for program in programs:
        tail = read_tail(program.log, TAIL_BYTES).rstrip()
        if tail:
            parts.append(f"--- last output of {program.label} ({program.log}) ---\n{tail}")
    return DaemonFailed(
        f"{launch.name} {launch.version} (release {launch.release}) did not start: {detail}\n{kept}",
        "\n".join(parts),
    )


def wait_ready(
    supervisor: Supervisor,
    launch: LaunchSpec,
    programs: Sequence[Program],
    place: Placement,
    *,
    kept: str,
    progress: Callable[[str], None],
) -> None:
    """Wait until the WSGI daemon is healthy and every program runs; raise :class:`DaemonFailed`."""
    start = launch.health.start
    deadline = time.monotonic() + start
    webs = [p for p in programs if p.role == "web"]
    path = place.mount_path + launch.health.path
    if webs:
        progress(f"waiting for {launch.name} {launch.version} to answer GET {path}")
    for web in webs:
        # A daemon on a port the running generation shares is asked on its own socket.
        own = web.check_socket or web.socket
        if web is not webs[0] and own is None:
            continue  # copies sharing a port without sockets of their own: the first one answers
        result = wait_healthy(
            Address(socket=own) if own else Address(port=web.port), path, host=place.host,
            timeout=launch.health.timeout,
            start=start if web is webs[0] else max(deadline - time.monotonic(), 0.0),
            alive=lambda: ended(supervisor, webs),
        )  # fmt: skip
        if not result.healthy:
            raise failure(launch, result.detail, webs, kept)
    held = [p.check_socket for p in webs if p.check_socket]
    if held:  # healthy: now they may take connections on the port the running generation shares
        why = admit(held, ended=lambda: ended(supervisor, webs), timeout=start)
        if why is not None:
            raise failure(launch, why, webs, kept)
    for program in programs:
        while True:
            state = supervisor.status(program.program).state
            if state == "running":
                break
            if state in ENDED:
                raise failure(
                    launch, ended(supervisor, [program]) or f"{program.label} ended", [program], kept
                )
            if time.monotonic() > deadline:
                raise failure(launch, f"{program.label} did not start within {start:g} s", [program], kept)
            time.sleep(0.1)
