"""What to supervise: one :class:`ProcessSpec` per long-running process of an application.

A process is named by its application and its own name within it (``web-0``,
``worker-1``...). Under supervisord it is the program ``<app>@<name>`` (each
program its own group, so one can be replaced without touching any other); a
systemd export names the unit ``pyapp-<app>@<name>.service``. ``@`` cannot occur
in application or process names (spec section 3.2), so the program name splits
back unambiguously.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .errors import InvalidProcessSpec

__all__ = [
    "RESTART_POLICIES",
    "SUN_PATH_MAX",
    "ProcessSpec",
    "RestartPolicy",
    "program_name",
    "split_program",
]

RestartPolicy = Literal["always", "on-failure", "never"]
RESTART_POLICIES: tuple[RestartPolicy, ...] = ("always", "on-failure", "never")

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SEPARATOR = "@"
SUN_PATH_MAX = 107
"""The longest unix socket path the kernel takes (``sun_path`` is 108 bytes with its NUL)."""


def program_name(app: str, name: str) -> str:
    """The supervisord program name of process *name* of *app*: ``<app>@<name>``."""
    return f"{app}{SEPARATOR}{name}"


def split_program(program: str) -> tuple[str, str]:
    """``"hello@web-0"`` -> ``("hello", "web-0")``; raise ``ValueError`` for other names."""
    app, sep, name = program.partition(SEPARATOR)
    if not sep or not _NAME.fullmatch(app) or not _NAME.fullmatch(name):
        raise ValueError(f"{program!r} is not a pyapp program name ('<app>@<process>')")
    return app, name


@dataclass(frozen=True, kw_only=True)
class ProcessSpec:
    """One supervised process.

    ``environment`` is the process's *whole* environment: nothing is inherited from
    supervisord (or systemd), so it must carry ``PATH`` and the rest the process needs.

    Restarts: a process that exits before it has run ``start_seconds`` counts as a
    failed start; supervisord retries it ``start_retries`` times, waiting one second
    more each time (back-off), then gives up: state ``fatal``, its last output kept
    in its log. A process that exits later is restarted at once according to
    ``restart``: ``always``, ``on-failure`` (an exit code not in ``exit_codes``, or
    death by a signal) or ``never``.

    Stopping is graceful: ``stop_signal`` goes to the process group, then supervisord
    waits up to ``stop_wait`` seconds (in-flight requests finish) before SIGKILL.
    """

    app: str
    name: str
    argv: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    stdout_log: str
    stderr_log: str | None = None
    """``None`` sends stderr into ``stdout_log``."""
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    stop_signal: str = "TERM"
    stop_wait: int = 10
    start_seconds: int = 1
    start_retries: int = 3
    restart: RestartPolicy = "on-failure"
    exit_codes: tuple[int, ...] = (0,)
    autostart: bool = True
    """Start when added, and whenever supervisord itself starts."""
    umask: int | None = None
    description: str = ""
    user: str | None = None
    """The user the process runs as (supervisord must run as root); ``None``: supervisord's own."""
    prefix: tuple[str, ...] = ()
    """Commands supervisord starts ``argv`` in (a sandbox, limits); a systemd export leaves them out and
    says the same with :attr:`unit_settings`."""
    unit_settings: tuple[tuple[str, str], ...] = ()
    """Settings a systemd export adds to the ``[Service]`` section (hardening, limits)."""

    @property
    def program(self) -> str:
        """The supervisord program name, ``<app>@<name>``."""
        return program_name(self.app, self.name)

    def problems(self) -> list[str]:
        """Every reason this spec cannot be supervised (empty when it can)."""
        out: list[str] = []
        for label, value in (("app", self.app), ("name", self.name)):
            if not _NAME.fullmatch(value):
                out.append(f"{label} {value!r} must match [a-z0-9][a-z0-9._-]* (at most 64 characters)")
        if not self.argv or not self.argv[0]:
            out.append("argv must name a program to run")
        for key, value in self.environment.items():
            if not _ENV_KEY.fullmatch(key):
                out.append(f"environment variable name {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
            if "\0" in value:
                out.append(f"environment variable {key} holds a NUL character")
        if self.user is not None and not _NAME.fullmatch(self.user):
            out.append(f"user {self.user!r} is not a user name")
        if any("\0" in a for a in (*self.prefix, *self.argv)):
            out.append("argv holds a NUL character")
        paths = [("cwd", self.cwd), ("stdout_log", self.stdout_log), ("stderr_log", self.stderr_log)]
        for label, path in paths:
            if path is None:
                continue
            if not os.path.isabs(path):
                out.append(f"{label} {path!r} must be an absolute path")
            if any(c in path for c in "\n\r\0"):
                out.append(f"{label} {path!r} holds a line break or NUL")
        if self.stop_signal not in _signal_names():
            out.append(f"stop_signal {self.stop_signal!r} is not a signal name such as TERM, INT or QUIT")
        if self.restart not in RESTART_POLICIES:
            out.append(f"restart {self.restart!r} must be one of {', '.join(RESTART_POLICIES)}")
        for label, number in (
            ("stop_wait", self.stop_wait),
            ("start_seconds", self.start_seconds),
            ("start_retries", self.start_retries),
            ("log_max_bytes", self.log_max_bytes),
            ("log_backups", self.log_backups),
        ):
            if not isinstance(number, int) or number < 0:
                out.append(f"{label} must be a whole number >= 0, not {number!r}")
        return out

    def check(self) -> None:
        """Raise :class:`InvalidProcessSpec` listing every problem, if there is any."""
        problems = self.problems()
        if problems:
            raise InvalidProcessSpec(self.program, problems)


def _signal_names() -> set[str]:
    return {s.name.removeprefix("SIG") for s in signal.Signals if not s.name.startswith("SIG_")}
