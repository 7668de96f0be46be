"""Programs that keep crashing: ``apps/<name>/run/failures.json``, how often each was retried and when next.

supervisord retries a program that exits at its start a few times (``startretries``), then
gives up (``fatal``). The host does not: :mod:`.watchdog` retries it with a growing back-off
and records it here, which ``pyapp ps``, ``pyapp status`` and the API read to show the program
as failing. A program forgets its failures once it has run :data:`STABLE` seconds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from apppackage.files import write_atomic

from ..layout import AppLayout

__all__ = ["BACKOFF", "FAILURES_FILE", "STABLE", "Failure", "load_failures", "save_failures"]

FAILURES_FILE = "failures.json"
BACKOFF = (5, 10, 30, 60, 120, 300)
"""Seconds before each retry of a program supervisord gave up on; the last one repeats."""
STABLE = 60
"""Seconds a retried program must run to count as recovered."""


@dataclass(kw_only=True)
class Failure:
    """One failing program: when it was first seen failing, how often retried, when next."""

    since: float
    retries: int = 0
    next_retry: float
    exit_status: int | None = None

    def backoff(self) -> int:
        """Seconds from the retry just made (or the failure just seen) to the next one."""
        return BACKOFF[min(self.retries, len(BACKOFF) - 1)]


def _path(app: AppLayout) -> str:
    return str(app.run / FAILURES_FILE)


def load_failures(app: AppLayout) -> dict[str, Failure]:
    """The failing programs of *app*, by program name (empty: none, or the file is unreadable)."""
    try:
        with open(_path(app), encoding="utf-8") as f:
            raw = json.load(f)
        return {str(k): Failure(**v) for k, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def save_failures(app: AppLayout, failures: dict[str, Failure]) -> None:
    if not failures and not (app.run / FAILURES_FILE).exists():
        return
    app.run.mkdir(parents=True, exist_ok=True)
    data = {name: asdict(f) for name, f in sorted(failures.items())}
    write_atomic(app.run / FAILURES_FILE, json.dumps(data, indent=2) + "\n", mode=0o644)
