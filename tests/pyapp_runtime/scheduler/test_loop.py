"""Scheduler: due tasks run on schedule (driven with explicit times), survive restarts, never overlap."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pyapp_runtime.scheduler import RunStore, Scheduler, TaskRunner

from apppackage.description import Task
from apppackage.hooks import RunResult

if TYPE_CHECKING:
    from conftest import Jobs

T0 = 1_700_000_000.0
UTC = timezone.utc


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[arg-type]


def wait_for_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def test_an_every_1_task_runs_on_schedule(jobs: Jobs) -> None:
    scheduler = Scheduler([("jobs", jobs.task("cleanup"))], jobs.runner)
    assert scheduler.tick(T0) == []  # first seen: due one interval later
    assert scheduler.next_time(T0) == T0 + 1
    assert scheduler.tick(T0 + 0.5) == []

    [run] = scheduler.tick(T0 + 1)
    assert (run.app, run.task, run.status, run.scheduled) == ("jobs", "cleanup", "ok", T0 + 1)
    assert scheduler.tick(T0 + 1.5) == []
    assert [r.scheduled for r in scheduler.tick(T0 + 2.2)] == [T0 + 2]

    # Stopped for a while: it runs once, not once per missed second.
    assert [r.scheduled for r in scheduler.tick(T0 + 60.5)] == [T0 + 60]
    assert scheduler.tick(T0 + 60.9) == []
    assert (jobs.data / "cleanup.txt").read_text() == "cleanup\n" * 3
    assert [r.status for r in jobs.store.history("jobs", "cleanup")] == ["ok"] * 3


def test_a_restarted_scheduler_keeps_the_schedule(jobs: Jobs, tmp_path: Path) -> None:
    task = jobs.task("cleanup")
    Scheduler([("jobs", task)], jobs.runner).tick(T0)
    assert len(Scheduler([("jobs", task)], jobs.runner).tick(T0 + 1)) == 1

    # A new process: new objects on the same store directory.
    store = RunStore(tmp_path / "tasks")
    again = Scheduler([("jobs", task)], TaskRunner(store, jobs.run))
    assert again.tick(T0 + 1.9) == []
    assert [r.scheduled for r in again.tick(T0 + 2)] == [T0 + 2]


def test_cron_tasks_run_at_their_times(jobs: Jobs) -> None:
    scheduler = Scheduler([("jobs", jobs.task("nightly"))], jobs.runner, tz=UTC)
    assert scheduler.tick(at(2024, 1, 1, 10, 1)) == []
    assert scheduler.next_time(at(2024, 1, 1, 10, 1)) == at(2024, 1, 1, 10, 5)
    assert scheduler.tick(at(2024, 1, 1, 10, 4, 59)) == []
    assert [r.scheduled for r in scheduler.tick(at(2024, 1, 1, 10, 5))] == [at(2024, 1, 1, 10, 5)]
    assert scheduler.tick(at(2024, 1, 1, 10, 7)) == []
    assert [r.scheduled for r in scheduler.tick(at(2024, 1, 1, 10, 31))] == [at(2024, 1, 1, 10, 30)]


def test_an_overlapping_run_is_skipped(jobs: Jobs) -> None:
    scheduler = Scheduler([("jobs", jobs.task("gated"))], jobs.runner)
    scheduler.tick(T0)
    assert scheduler.tick(T0 + 1, wait=False) == []
    try:
        wait_for_file(jobs.data / "gated.started")
        assert scheduler.running() == 1
        [skipped] = scheduler.tick(T0 + 2)
        assert skipped.status == "skipped" and skipped.output == "skipped: still running"
    finally:
        (jobs.data / "gated.go").write_text("")
        scheduler.wait()
    assert scheduler.running() == 0
    assert [(r.status, r.scheduled) for r in jobs.store.history("jobs", "gated")] == [
        ("skipped", T0 + 2),
        ("ok", T0 + 1),
    ]


def test_two_schedulers_do_not_both_run_a_due_time(tmp_path: Path) -> None:
    calls: list[str] = []

    def run(app: str, task: Task) -> RunResult:
        calls.append(task.name)
        return RunResult(returncode=0, output="", duration=0.0)

    task = Task(name="t", call="m:f", every=10)
    first = Scheduler([("app", task)], TaskRunner(RunStore(tmp_path), run))
    second = Scheduler([("app", task)], TaskRunner(RunStore(tmp_path), run))
    first.tick(T0)
    assert len(first.tick(T0 + 10)) == 1
    assert second.tick(T0 + 10) == []
    assert calls == ["t"]


def test_failures_and_timeouts_are_recorded_by_the_loop(jobs: Jobs) -> None:
    tasks = [("jobs", jobs.task("broken")), ("jobs", jobs.task("hang"))]
    scheduler = Scheduler(tasks, jobs.runner)
    scheduler.tick(T0)
    runs = {r.task: r for r in scheduler.tick(T0 + 60)}
    assert runs["broken"].status == "failed" and "disk full" in runs["broken"].output
    assert runs["hang"].status == "timeout"


def test_an_unschedulable_task_is_logged_and_the_others_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RunStore(tmp_path)
    runner = TaskRunner(store, lambda app, task: RunResult(returncode=0, output="", duration=0.0))
    tasks = [
        ("app", Task(name="never", call="m:f", cron="0 0 30 2 *")),
        ("app", Task(name="ok", call="m:f", every=5)),
    ]
    scheduler = Scheduler(tasks, runner, tz=UTC)
    with caplog.at_level(logging.ERROR, logger="pyapp_runtime.scheduler"):
        scheduler.tick(T0)
        assert [r.task for r in scheduler.tick(T0 + 5)] == ["ok"]
    assert "app: metadata.yaml:/tasks/never: cron '0 0 30 2 *' never matches" in caplog.text


def test_the_task_list_may_change_between_ticks(tmp_path: Path) -> None:
    runner = TaskRunner(
        RunStore(tmp_path), lambda app, task: RunResult(returncode=0, output="", duration=0.0)
    )
    current: list[tuple[str, Task]] = [("a", Task(name="t", call="m:f", every=5))]
    scheduler = Scheduler(lambda: current, runner)
    scheduler.tick(T0)
    current.append(("b", Task(name="t", call="m:f", every=5)))
    scheduler.tick(T0 + 1)
    assert sorted(r.app for r in scheduler.tick(T0 + 5)) == ["a"]
    assert sorted(r.app for r in scheduler.tick(T0 + 6)) == ["b"]


def test_run_forever_runs_due_tasks_until_stopped(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    runner = TaskRunner(store, lambda app, task: RunResult(returncode=0, output="ran", duration=0.0))
    scheduler = Scheduler([("app", Task(name="t", call="m:f", every=1))], runner)
    stop = threading.Event()
    loop = threading.Thread(target=scheduler.run_forever, args=(stop,), kwargs={"poll": 0.1})
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while not store.history("app", "t") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join()
    assert [r.status for r in store.history("app", "t")][-1:] == ["ok"]


SERVE = """
import sys
from apppackage.description import Task
from apppackage.hooks import RunResult
from pyapp_runtime.scheduler import RunStore, Scheduler, TaskRunner

def run(app, task):
    print("ran", flush=True)
    return RunResult(returncode=0, output="", duration=0.0)

runner = TaskRunner(RunStore(sys.argv[1]), run)
Scheduler([("app", Task(name="t", call="m:f", every=1))], runner).serve(poll=0.1)
print("stopped", flush=True)
"""


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ran"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.strip().endswith("stopped")
    assert RunStore(tmp_path).history("app", "t")[-1].status == "ok"
