"""Application processes supervised by supervisord, and the same as systemd units.

:class:`Supervisor` runs one user-mode supervisord per host state directory and
drives it over its XML-RPC unix socket; :class:`ProcessSpec` says what to run;
:func:`export_systemd` renders equivalent unit files for production hosts.
"""

from __future__ import annotations

from apppackage.lazynames import lazy_names

# Names are imported from their modules when first asked for: the supervisord client (XML-RPC over HTTP)
# only when something talks to supervisord, not when a process is only described.
_LAZY = {
    "SUN_PATH_MAX": "spec",
    "Supervisor": "control",
    "UpdateResult": "control",
    "InvalidProcessSpec": "errors",
    "NoSuchProgram": "errors",
    "ProcessFailed": "errors",
    "SupervisionError": "errors",
    "SupervisorNotRunning": "errors",
    "RESTART_POLICIES": "spec",
    "ProcessSpec": "spec",
    "RestartPolicy": "spec",
    "program_name": "spec",
    "split_program": "spec",
    "STATES": "status",
    "ProcessStatus": "status",
    "memory_rss": "status",
    "read_tail": "status",
    "export_systemd": "systemd",
    "systemd_quote": "systemd",
    "unit_name": "systemd",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .control import Supervisor, UpdateResult
    from .errors import (
        InvalidProcessSpec,
        NoSuchProgram,
        ProcessFailed,
        SupervisionError,
        SupervisorNotRunning,
    )
    from .spec import RESTART_POLICIES, SUN_PATH_MAX, ProcessSpec, RestartPolicy, program_name, split_program
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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
