"""An installed app's tasks run under its scheduler program: on schedule, one at a time, timed out.

What is asserted comes from the scheduler's own records (the run store, ``Host.task_runs``: each run's
due time, start, end and status) and from the processes themselves, never from how long the test waited.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import AppLock, Host
from pyapp_runtime.scheduler import TaskRun
from pyapp_runtime.settings import HostSettings

pytestmark = pytest.mark.slow

DAEMONS_ON = {"PYAPP_DAEMONS": "1"}
DEADLINE = 180  # seconds: generous, for a busy machine; a test that passes never waits this long


def test_tasks_run_on_schedule_never_twice_at_once_and_are_killed_at_their_timeout(
    home: Path, packages: Any, helpers: Any, pyapp_cli: Any
) -> None:
    helpers.write_host_yaml(home)
    installed = pyapp_cli("install", packages.taskprobe(), home=home, env=DAEMONS_ON)
    assert installed.returncode == 0, installed.stderr
    assert "process tasks: starting" in installed.stdout or "process tasks: running" in installed.stdout
    host = Host(home, settings=HostSettings(daemons=True))

    def enough() -> bool:
        runs = host.task_runs("taskprobe", limit=100)
        ticks = {r.status for r in runs if r.task == "tick"}
        oks = [r for r in runs if r.task == "tick" and r.status == "ok"]
        hangs = [r for r in runs if r.task == "hang" and r.status == "timeout"]
        return len(oks) >= 3 and "skipped" in ticks and len(hangs) >= 1

    deadline = time.monotonic() + DEADLINE
    while not enough():
        assert time.monotonic() < deadline, host.task_runs("taskprobe", limit=100)
        time.sleep(0.2)

    shown = pyapp_cli("tasks", "taskprobe", "--json", "-n", "100", home=home, env=DAEMONS_ON)
    assert shown.returncode == 0, shown.stderr
    runs = json.loads(shown.stdout)
    ticks = [r for r in runs if r["task"] == "tick"]
    # tick takes 1.5 s and is due every second: the runs due while one goes are skipped.
    assert {r["status"] for r in ticks} <= {"ok", "skipped", "running"}
    assert any(r["status"] == "skipped" for r in ticks)
    # Two runs of tick never overlap, by the scheduler's own record of each finished one.
    spans = sorted((r["started"], r["ended"]) for r in ticks if r["status"] == "ok")
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))

    # hang sleeps far longer than the test waits: a run recorded as timed out was killed, and its
    # process (it says which) is gone.
    hang = next(r for r in runs if r["task"] == "hang" and r["status"] == "timeout")
    assert "timeout of 10 s" in hang["output"]
    found = re.search(r"hanging in process (\S+)", hang["output"])
    assert found, hang["output"]
    assert not helpers.running_as(found[1])
    assert hang["ended"] is not None and hang["ended"] >= hang["started"]

    logged = [
        json.loads(line) for line in (home / "apps/taskprobe/data/ticks.jsonl").read_text().splitlines()
    ]
    logged_spans = sorted((t["start"], t["end"]) for t in logged)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(logged_spans))
    assert {(t["task"], t["config"]["colour"]) for t in logged} == {("tick", "blue")}

    text = pyapp_cli("tasks", "taskprobe", home=home, env=DAEMONS_ON).stdout
    assert "tick" in text and "timeout" in text
    scheduler = [s for s in host.status("taskprobe") if s.process == "tasks"]
    assert [s.state for s in scheduler] == ["running"]


def test_no_task_starts_while_a_command_runs_the_apps_hooks(host: Host, home: Path, packages: Any) -> None:
    host.install(packages.taskprobe())

    def runs() -> list[TaskRun]:
        return host.task_runs("taskprobe", limit=100)

    deadline = time.monotonic() + DEADLINE
    while not runs():
        assert time.monotonic() < deadline, "the scheduler ran no task"
        time.sleep(0.1)
    # A backup of the app holds its lock (its hook runs): the scheduler holds back. The lock is held
    # while several due times of tick (every second) and hang (every 2 s) pass.
    with AppLock(home / "apps" / "taskprobe.lock", "taskprobe", operation="backup"):
        taken = time.time()
        time.sleep(3)
        released = time.time()
    deadline = time.monotonic() + DEADLINE
    while not any(r.started > released for r in runs()):
        assert time.monotonic() < deadline, "no task ran after the lock was released"
        time.sleep(0.1)

    # The scheduler reads its clock, then looks at the lock, and records the due time it acted on: a
    # run that started while the lock was held was due (and decided on) before it was taken. A
    # scheduler that did not hold back would have started runs due after that.
    during = [r for r in runs() if taken < r.started < released]
    assert [r for r in during if r.scheduled is None or r.scheduled >= taken] == []
