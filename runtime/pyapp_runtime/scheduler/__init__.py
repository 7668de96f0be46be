"""Applications' recurring tasks (spec section 3.14): when they are due, running them, their history.

:func:`next_run`/:func:`latest_due` compute schedules (``every`` seconds, or cron
in local time); :class:`TaskRunner` runs one task through a callback, never two
runs of the same task at once, and records each run in a :class:`RunStore`;
:class:`Scheduler` is the loop that runs what is due (one per application, as a
supervised process).
"""

from __future__ import annotations

from .errors import BadSchedule, SchedulerError
from .loop import Due, Scheduler, TaskSource
from .runner import SKIPPED_OUTPUT, RunTask, TaskRunner
from .schedule import latest_due, local_zone, next_run
from .store import STATUSES, RunStatus, RunStore, TaskRun

__all__ = [
    "SKIPPED_OUTPUT",
    "STATUSES",
    "BadSchedule",
    "Due",
    "RunStatus",
    "RunStore",
    "RunTask",
    "Scheduler",
    "SchedulerError",
    "TaskRun",
    "TaskRunner",
    "TaskSource",
    "latest_due",
    "local_zone",
    "next_run",
]
