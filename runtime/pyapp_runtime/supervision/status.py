"""What ``pyapp ps`` shows about a supervised process: state, pid, uptime, memory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .spec import split_program

__all__ = ["STATES", "ProcessStatus", "memory_rss", "read_tail"]

STATES = ("stopped", "starting", "running", "backoff", "stopping", "exited", "fatal", "unknown")
"""supervisord's process states, lower-cased. ``fatal`` is "failed": it kept crashing on start."""

_ALIVE = frozenset({"starting", "running", "backoff", "stopping"})


@dataclass(frozen=True, kw_only=True)
class ProcessStatus:
    """One process as supervisord sees it, plus its memory from ``/proc``.

    ``started``/``stopped`` are Unix times of the last start and stop (``None`` when
    never); ``uptime`` is in seconds while the process runs; ``memory`` its resident
    set size in bytes (``VmRSS``), when it runs.
    """

    program: str
    app: str
    name: str
    state: str
    pid: int | None
    started: float | None
    stopped: float | None
    uptime: float | None
    exit_status: int | None
    spawn_error: str
    description: str
    stdout_log: str
    stderr_log: str | None
    memory: int | None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def failed(self) -> bool:
        """It kept exiting before it had started; supervisord gave up (``fatal``)."""
        return self.state == "fatal"

    @property
    def alive(self) -> bool:
        return self.state in _ALIVE

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> ProcessStatus:
        """Build from supervisord's ``getProcessInfo`` struct."""
        program = str(info["name"])
        try:
            app, name = split_program(program)
        except ValueError:
            app, name = "", program
        state = str(info["statename"]).lower()
        pid = int(info["pid"]) or None
        start = int(info["start"]) or None
        stop = int(info["stop"]) or None
        uptime = None
        if pid is not None and start is not None and state in _ALIVE:
            uptime = float(max(0, int(info["now"]) - start))
        stdout_log = str(info.get("stdout_logfile") or "")
        stderr_log = str(info.get("stderr_logfile") or "") or None
        return cls(
            program=program,
            app=app,
            name=name,
            state=state,
            pid=pid,
            started=float(start) if start else None,
            stopped=float(stop) if stop else None,
            uptime=uptime,
            exit_status=int(info["exitstatus"]) if state in ("exited", "fatal", "backoff") else None,
            spawn_error=str(info.get("spawnerr") or ""),
            description=str(info.get("description") or ""),
            stdout_log=stdout_log,
            stderr_log=stderr_log,
            memory=memory_rss(pid) if pid is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def memory_rss(pid: int) -> int | None:
    """The resident set size of *pid* in bytes (``VmRSS`` of ``/proc/<pid>/status``), or ``None``."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                unit = fields[2].lower() if len(fields) > 2 else "kb"
                scale = {"kb": 1024, "mb": 1024 * 1024, "b": 1}.get(unit, 1024)
                return int(fields[1]) * scale
    return None


def read_tail(path: str | os.PathLike[str], max_bytes: int) -> str:
    """The last *max_bytes* of the file at *path*, decoded leniently; ``""`` when it does not exist."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", "replace")
