"""Next-run computation: every N seconds, cron in a time zone, missed runs collapsed."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pyapp_runtime.scheduler import BadSchedule, latest_due, local_zone, next_run

from apppackage.description import Task

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def at(*parts: int, tz: object = UTC) -> float:
    return datetime(*parts, tzinfo=tz).timestamp()  # type: ignore[arg-type, misc]


def cron(expression: str) -> Task:
    return Task(name="t", call="m:f", cron=expression)


def test_every_runs_after_the_interval() -> None:
    task = Task(name="t", call="m:f", every=60)
    assert next_run(task, 1000.0) == 1060.0
    assert latest_due(task, 1000.0, 1059.9) is None
    assert latest_due(task, 1000.0, 1060.0) == 1060.0
    # A long stop: one run, at the latest missed time.
    assert latest_due(task, 1000.0, 1000.0 + 60 * 50 + 7) == 1000.0 + 60 * 50


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * *", at(2024, 1, 1, 10, 7), at(2024, 1, 1, 10, 15)),
        ("*/15 * * * *", at(2024, 1, 1, 10, 15), at(2024, 1, 1, 10, 30)),
        ("0 3 * * 1", at(2024, 1, 3, 12, 0), at(2024, 1, 8, 3, 0)),  # Wednesday -> Monday 03:00
        ("30 23 31 * *", at(2024, 2, 1, 0, 0), at(2024, 3, 31, 23, 30)),  # skips February
        ("0 12 * jan,jul mon-fri", at(2024, 1, 31, 12, 0), at(2024, 7, 1, 12, 0)),
        ("5 0 29 2 *", at(2024, 3, 1), at(2028, 2, 29, 0, 5)),  # leap days only
    ],
)
def test_cron_next_run(expression: str, after: float, expected: float) -> None:
    assert next_run(cron(expression), after, tz=UTC) == expected


def test_cron_follows_daylight_saving_time() -> None:
    daily = cron("30 2 * * *")
    # 02:30 does not exist on 31 March 2024 in Berlin: it runs at the first minute after.
    assert next_run(daily, at(2024, 3, 30, 12, tz=BERLIN), tz=BERLIN) == at(2024, 3, 31, 3, 0, tz=BERLIN)
    nine = cron("0 9 * * *")
    assert next_run(nine, at(2024, 3, 30, 12, tz=BERLIN), tz=BERLIN) == at(2024, 3, 31, 7, 0)  # 09:00 CEST


def test_cron_uses_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert local_zone() == ZoneInfo("Asia/Tokyo")
    # 09:00 in Tokyo is midnight UTC.
    assert next_run(cron("0 9 * * *"), at(2024, 5, 1, 12, 0)) == at(2024, 5, 2, 0, 0)


def test_cron_latest_due() -> None:
    task = cron("*/15 * * * *")
    base = at(2024, 1, 1, 10, 0)
    assert latest_due(task, base, at(2024, 1, 1, 10, 14, 59), tz=UTC) is None
    assert latest_due(task, base, at(2024, 1, 1, 10, 15), tz=UTC) == at(2024, 1, 1, 10, 15)
    assert latest_due(task, base, at(2024, 1, 1, 10, 44), tz=UTC) == at(2024, 1, 1, 10, 30)
    assert latest_due(task, at(2024, 1, 1, 10, 30), at(2024, 1, 1, 10, 44), tz=UTC) is None
    assert latest_due(task, base, base, tz=UTC) is None


def test_unschedulable_tasks_say_which_and_why() -> None:
    with pytest.raises(BadSchedule, match=r"jobs: metadata.yaml:/tasks/t: a task needs either"):
        next_run(Task(name="t", call="m:f"), 0.0, app="jobs")
    with pytest.raises(BadSchedule, match="never matches"):
        next_run(cron("0 0 30 2 *"), at(2024, 1, 1), tz=UTC)
    with pytest.raises(BadSchedule, match="cannot be read"):
        next_run(cron("99 * * * *"), at(2024, 1, 1), tz=UTC)
    assert isinstance(BadSchedule("a", "t", "x"), ValueError)
