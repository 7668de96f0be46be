"""What the host did by itself, for the operator and the management server: ``$PYAPP_HOME/events.jsonl``.

No command asked for these: a supervisord restored after it died (and the leftovers it left
stopped), the web server restarted, a program that kept crashing and is retried with back-off,
an app started at boot. One JSON object per line, appended (a line is written in one
``write`` of an ``O_APPEND`` file, so writers never interleave)::

    {"time": 1733480000.5, "app": "hello", "kind": "crash", "outcome": "failed", "message": "..."}

``kind`` is ``supervisord``, ``web-server``, ``crash``, ``recovered`` or ``boot``; ``app`` is ``null``
for the host itself. The management server reads it from where it last stopped
(:func:`read_events` with an offset) into its own history. Past :data:`MAX_BYTES` the file is
rotated once (``events.jsonl.1``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._plain import Plain

__all__ = ["KINDS", "MAX_BYTES", "HostEvent", "read_events", "record_event"]

KINDS = ("supervisord", "web-server", "crash", "recovered", "boot")
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class HostEvent(Plain):
    """One thing the host did by itself."""

    time: float
    app: str | None
    kind: str
    outcome: str
    """``succeeded`` or ``failed``."""
    message: str


def record_event(
    path: Path, kind: str, message: str, *, app: str | None = None, failed: bool = False
) -> HostEvent:
    """Append an event to the file at *path* (``HostLayout.events_file``) and return it."""
    event = HostEvent(
        time=time.time(), app=app, kind=kind, outcome="failed" if failed else "succeeded", message=message
    )
    line = (json.dumps(event.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.stat().st_size > MAX_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return event


def read_events(path: Path, offset: int = 0) -> tuple[list[HostEvent], int]:
    """The events written after byte *offset* of *path*, and the offset after the last whole line.

    A file smaller than *offset* was rotated: it is read from its start.
    """
    try:
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) < offset:
                offset = 0
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1
    return _parse(data[:end].splitlines()), offset + end


def _parse(lines: Sequence[bytes]) -> list[HostEvent]:
    out = []
    for line in lines:
        try:
            raw: dict[str, Any] = json.loads(line)
            out.append(
                HostEvent(
                    time=float(raw["time"]), app=raw.get("app"), kind=str(raw["kind"]),
                    outcome=str(raw.get("outcome", "succeeded")), message=str(raw.get("message", "")),
                )
            )  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a full disk: the others still count
    return out
