"""What runs for a release: its WSGI daemons, its processes and its task scheduler, as supervised programs.

Program names (``<app>@<name>`` under supervisord) carry the release's tag (the 12 hex
digits of its id), so a new release's programs start beside the old ones::

    web-<tag>              the WSGI daemon (method: threads)
    web-<tag>-<i>          the i-th WSGI daemon (method: processes)
    <process>-<i>-<tag>    the i-th copy of a process of the description (section 3.12)
    tasks                  the app's task scheduler (one per app, replaced at each activation)

Ports are not the programs' but the app's: one for its WSGI daemons, one for each copy
of a process with ``port: true`` (:func:`port_owner`), kept from generation to
generation, which share them with ``SO_REUSEPORT`` while they switch.

How each one starts is :mod:`pyapp_runtime.processes.specs`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import HostError
from ..layout import AppLayout
from ..supervision import SUN_PATH_MAX, ProcessSpec, program_name

__all__ = [
    "SCHEDULER",
    "STABLE_SOCKET",
    "Planned",
    "Program",
    "Role",
    "generation_tag",
    "port_owner",
    "process_program_name",
    "release_tag",
    "short_dir",
    "socket_dir",
    "web_program_name",
]

SCHEDULER = "tasks"
STABLE_SOCKET = "web.sock"
Role = Literal["web", "process", "tasks"]


def release_tag(release: str) -> str:
    """The 12 hex digits that end a release id."""
    return release.rsplit("-", 1)[-1]


def generation_tag(release: str, running: Iterable[str]) -> str:
    """The tag for a new generation of *release*'s programs, not one of the *running* programs' tags.

    A release's programs carry its own tag; a reload of the same release (new
    configuration, services or mount) starts its programs beside the running ones
    under the other of two tags, so that the two generations never share a name,
    socket or port.
    """
    own = release_tag(release)
    if own not in set(running):
        return own
    return hashlib.sha256(f"{release}/reload".encode()).hexdigest()[:12]


def web_program_name(tag: str, index: int, copies: int) -> str:
    return f"web-{tag}" if copies == 1 else f"web-{tag}-{index}"


def process_program_name(process: str, index: int, tag: str) -> str:
    """``<process>-<i>-<tag>``; a long process name is shortened (and made unique with a hash)."""
    suffix = f"-{index}-{tag}"
    if len(process) + len(suffix) > 64:
        digest = hashlib.sha256(process.encode()).hexdigest()[:6]
        process = f"{process[: 64 - len(suffix) - 7]}-{digest}"
    return process + suffix


def port_owner(app: str, process: str, index: int = 0) -> str:
    """Who a port belongs to in the host's registry: ``<app>@web`` (every WSGI daemon of the app),
    ``<app>@<process>-<i>`` (copy *i* of a process); the same for every release and generation."""
    return program_name(app, "web" if process == "web" else process_program_name(process, index, "")[:-1])


def short_dir(home: Path) -> Path:
    """A private directory with a short path for unix sockets of a host whose own paths are too long.

    ``<tmp>/pyapp-<uid>/<12 hex digits of the home's path>``, mode 0700, checked to be ours.
    """
    base = Path(tempfile.gettempdir()) / f"pyapp-{os.getuid()}"
    digest = hashlib.sha256(os.fsencode(home)).hexdigest()[:12]
    for path in (base, base / digest):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = os.lstat(path)
        # Passed through by others (0711) when apps with users of their own bind their sockets below.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o066:
            raise HostError(
                f"{path}: not a private directory of this user; remove it (it holds the sockets of"
                f" apps under {home}, whose own paths are too long for unix sockets)"
            )
    return base / digest


def socket_dir(app: AppLayout) -> Path:
    """Where *app*'s unix sockets (and its WSGI daemons' pid files) go: its ``run/`` -- its ``sockets/``
    when it has a user of its own (:mod:`pyapp_runtime.isolation.perms`) --, or a short directory when
    that path is too long."""
    base = app.dir / "sockets"
    base = base if base.is_dir() else app.run
    longest = base / "web-000000000000-63.sock"
    if len(os.fsencode(longest)) <= SUN_PATH_MAX:
        return base
    return short_dir(app.host.home) / app.name


@dataclass(frozen=True, kw_only=True)
class Program:
    """One supervised program of a release, and where it listens."""

    app: str
    name: str
    role: Role
    process: str
    """``web``, ``tasks`` or the process's name in the description."""
    index: int = 0
    release: str
    socket: str | None = None
    port: int | None = None
    log: str
    pid_file: str | None = None
    generation: str = ""
    """The tag in the program's name when it is not the release's (a reload of the same release)."""
    check_socket: str | None = None
    """A WSGI daemon on a shared port: its own unix socket, where the host checks this daemon's health."""

    @property
    def program(self) -> str:
        return program_name(self.app, self.name)

    @property
    def port_owner(self) -> str | None:
        """Whose port this program listens on in the host's registry (``None``: it has none)."""
        return None if self.port is None else port_owner(self.app, self.process, self.index)

    @property
    def tag(self) -> str:
        """The 12 hex digits in the program's name (see :func:`generation_tag`)."""
        return self.generation or release_tag(self.release)

    @property
    def label(self) -> str:
        """What ``pyapp ps`` calls it: ``web``, ``queue#1``, ``tasks``."""
        if self.role == "tasks" or (self.role == "web" and self.name == f"web-{self.tag}"):
            return self.process
        return f"{self.process}#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "name": self.name,
            "role": self.role,
            "process": self.process,
            "label": self.label,
            "index": self.index,
            "release": self.release,
            "socket": self.socket,
            "port": self.port,
            "log": self.log,
            "pid_file": self.pid_file,
            "generation": self.generation,
            "check_socket": self.check_socket,
        }

    @classmethod
    def from_dict(cls, app: str, raw: Mapping[str, Any]) -> Program:
        return cls(
            app=app, name=raw["name"], role=raw["role"], process=raw["process"], index=int(raw["index"]),
            release=raw["release"], socket=raw.get("socket"), port=raw.get("port"), log=raw["log"],
            pid_file=raw.get("pid_file"), generation=raw.get("generation") or "",
            check_socket=raw.get("check_socket"),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A program and the supervisord spec that runs it."""

    program: Program
    spec: ProcessSpec
