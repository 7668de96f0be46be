"""Application processes supervised by supervisord, and the same as systemd units.

:class:`Supervisor` runs one user-mode supervisord per host state directory and
drives it over its XML-RPC unix socket; :class:`ProcessSpec` says what to run;
:func:`export_systemd` renders equivalent unit files for production hosts.
"""

from __future__ import annotations

from .control import SUN_PATH_MAX, Supervisor, UpdateResult
from .errors import (
    InvalidProcessSpec,
    NoSuchProgram,
    ProcessFailed,
    SupervisionError,
    SupervisorNotRunning,
)
from .spec import RESTART_POLICIES, ProcessSpec, RestartPolicy, program_name, split_program
from .status import STATES, ProcessStatus, memory_rss, read_tail
from .systemd import export_systemd, systemd_quote, unit_name

__all__ = [
    "RESTART_POLICIES",
    "STATES",
    "SUN_PATH_MAX",
    "InvalidProcessSpec",
    "NoSuchProgram",
    "ProcessFailed",
    "ProcessSpec",
    "ProcessStatus",
    "RestartPolicy",
    "SupervisionError",
    "Supervisor",
    "SupervisorNotRunning",
    "UpdateResult",
    "export_systemd",
    "memory_rss",
    "program_name",
    "read_tail",
    "split_program",
    "systemd_quote",
    "unit_name",
]
