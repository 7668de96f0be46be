"""supervisord's faults: the codes it answers an XML-RPC call with, and the error each one is.

Kept apart from the XML-RPC client (:mod:`._rpc`, imported by the first call) so that a command
that never talks to supervisord does not load it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .errors import NoSuchProgram, ProcessFailed, SupervisionError

__all__ = ["RpcFault", "fault_error"]

# supervisor.xmlrpc.Faults
BAD_NAME = 10
NO_FILE = 20
NOT_EXECUTABLE = 21
ABNORMAL_TERMINATION = 40
SPAWN_ERROR = 50
ALREADY_STARTED = 60
NOT_RUNNING = 70
ALREADY_ADDED = 90


class RpcFault(SupervisionError):
    """supervisord answered a call with a fault: its *code* (above) and *text*."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"supervisord fault {code}: {text}")


def fault_error(
    program: str, fault: RpcFault, programs_dir: Path, output: Callable[[], str]
) -> SupervisionError:
    """The error for supervisord's *fault* about *program*; *output* reads its last output."""
    if fault.code == BAD_NAME:
        return NoSuchProgram(program, os.fspath(programs_dir))
    if fault.code in (SPAWN_ERROR, ABNORMAL_TERMINATION, NO_FILE, NOT_EXECUTABLE):
        try:
            tail = output()
        except SupervisionError:
            tail = ""
        cause = "could not be spawned" if fault.code != ABNORMAL_TERMINATION else "exited while starting"
        return ProcessFailed(program, f"{cause} ({fault.text})", tail)
    return SupervisionError(f"supervisord refused for {program!r}: {fault.text}")
