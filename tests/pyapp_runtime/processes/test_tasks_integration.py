"""An installed app's tasks run under its scheduler program: on schedule, one at a time, timed out."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import AppLock, Host
from pyapp_runtime.settings import HostSettings

pytestmark = pytest.mark.slow

DAEMONS_ON = {"PYAPP_DAEMONS": "1"}


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
        ticks = [r for r in runs if r.task == "tick" and r.status == "ok"]
        hangs = [r for r in runs if r.task == "hang" and r.status == "timeout"]
        return len(ticks) >= 3 and len(hangs) >= 1

    deadline = time.monotonic() + 60
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
    hang = next(r for r in runs if r["task"] == "hang" and r["status"] == "timeout")
    assert "hanging" in hang["output"] and "timeout of 1 s" in hang["output"]
    assert hang["duration"] < 10

    logged = [
        json.loads(line) for line in (home / "apps/taskprobe/data/ticks.jsonl").read_text().splitlines()
    ]
    spans = sorted((t["start"], t["end"]) for t in logged)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert {(t["task"], t["config"]["colour"]) for t in logged} == {("tick", "blue")}

    text = pyapp_cli("tasks", "taskprobe", home=home, env=DAEMONS_ON).stdout
    assert "tick" in text and "timeout" in text
    scheduler = [s for s in host.status("taskprobe") if s.process == "tasks"]
    assert [s.state for s in scheduler] == ["running"]


def test_no_task_starts_while_a_command_runs_the_apps_hooks(host: Host, home: Path, packages: Any) -> None:
    host.install(packages.taskprobe())

    def started_after(moment: float) -> bool:
        return any(r.started > moment for r in host.task_runs("taskprobe", limit=100))

    deadline = time.monotonic() + 30
    while not started_after(0):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # A backup of the app holds its lock (its hook runs): the scheduler holds back.
    with AppLock(home / "apps" / "taskprobe.lock", "taskprobe", operation="backup"):
        held_from = time.time()
        time.sleep(3)
        held_to = time.time()
    deadline = time.monotonic() + 30
    while not started_after(held_to):
        assert time.monotonic() < deadline, "no task ran after the lock was released"
        time.sleep(0.1)
    during = [r for r in host.task_runs("taskprobe", limit=100) if held_from + 0.5 < r.started < held_to]
    assert during == []
