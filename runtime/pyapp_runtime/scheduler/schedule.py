"""When a task runs: ``every`` N seconds, or a five-field ``cron`` expression (spec section 3.14).

Times are Unix timestamps (seconds, float). Cron expressions are read in the
host's local time zone (:func:`local_zone`: ``$TZ``, else ``/etc/localtime``, else
the current UTC offset) unless a zone is given, and follow its daylight-saving
changes: a time that does not exist that day runs at the first existing minute
after it, a time that occurs twice runs twice. Expressions are parsed by
``croniter``.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apppackage.description import Task

from .errors import BadSchedule

__all__ = ["latest_due", "local_zone", "next_run"]


def local_zone() -> tzinfo:
    """The host's local time zone, with its daylight-saving rules when they can be found."""
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError):
        pass
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _cron(app: str, task: Task, start: float, tz: tzinfo | None) -> Any:
    # Imported for a cron schedule only: importing croniter runs file(1) (platform.architecture).
    from croniter import croniter  # type: ignore[import-untyped]

    assert task.cron is not None
    try:
        return croniter(task.cron, datetime.fromtimestamp(start, tz or local_zone()))
    except (ValueError, KeyError) as exc:
        raise BadSchedule(app, task.name, f"cron {task.cron!r} cannot be read: {exc}") from None


def _step(app: str, iterator: Any, method: str, task: Task) -> float:
    try:
        value: datetime = getattr(iterator, method)(datetime)
    except Exception as exc:  # noqa: BLE001 -- croniter's errors share no base class
        raise BadSchedule(app, task.name, f"cron {task.cron!r} never matches: {exc}") from None
    return value.timestamp()


def _every(app: str, task: Task) -> int | None:
    if task.every is not None:
        if task.every <= 0:
            raise BadSchedule(app, task.name, f"every must be a positive number of seconds, not {task.every}")
        return task.every
    if task.cron is None:
        raise BadSchedule(app, task.name, "a task needs either 'every' or 'cron'")
    return None


def next_run(task: Task, after: float, *, tz: tzinfo | None = None, app: str = "") -> float:
    """The first time strictly after *after* that *task* is to run."""
    every = _every(app, task)
    if every is not None:
        return after + every
    return _step(app, _cron(app, task, after, tz), "get_next", task)


def latest_due(
    task: Task, base: float, now: float, *, tz: tzinfo | None = None, app: str = ""
) -> float | None:
    """The latest time in ``(base, now]`` that *task* was to run, or ``None`` when it is not due.

    *base* is when it last ran on schedule (or when the scheduler first saw it).
    Missed times collapse into one: after a long stop a task runs once, not once
    per missed time.
    """
    if now <= base:
        return None
    every = _every(app, task)
    if every is not None:
        steps = math.floor((now - base) / every)
        return base + steps * every if steps >= 1 else None
    if next_run(task, base, tz=tz, app=app) > now:
        return None
    latest = _step(app, _cron(app, task, now, tz), "get_prev", task)  # strictly before now
    if (upcoming := next_run(task, latest, tz=tz, app=app)) <= now:
        latest = upcoming  # now itself is a scheduled time
    return latest if latest > base else None
