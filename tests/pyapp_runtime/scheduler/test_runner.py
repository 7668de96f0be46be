"""TaskRunner with a real package: outcomes recorded, timeouts killed, never two runs at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pyapp_runtime.scheduler import SKIPPED_OUTPUT, RunStore, TaskRun, TaskRunner

if TYPE_CHECKING:
    from conftest import Jobs

from testkit import gone

from apppackage.description import Task
from apppackage.hooks import RunResult, run_callable


def wait_for_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def test_a_run_is_recorded(jobs: Jobs) -> None:
    run = jobs.runner.run("jobs", jobs.task("cleanup"), scheduled=1000.0)
    assert run.status == "ok"
    assert run.exit_code == 0
    assert "cleaned up for jobs" in run.output
    assert run.scheduled == 1000.0
    assert run.ended is not None and run.ended >= run.started
    assert run.duration is not None and run.duration >= 0
    assert (jobs.data / "cleanup.txt").read_text() == "cleanup\n"
    assert jobs.store.history("jobs") == [run]
    assert jobs.store.last("jobs", "cleanup") == run


def test_failures_are_recorded_with_their_output(jobs: Jobs) -> None:
    broken = jobs.runner.run("jobs", jobs.task("broken"))
    assert broken.status == "failed"
    assert broken.exit_code == 1
    assert "about to fail" in broken.output
    assert "RuntimeError: disk full" in broken.output

    refused = jobs.runner.run("jobs", jobs.task("refuse"))
    assert refused.status == "failed"
    assert "nothing to do" in refused.output and "returned False" in refused.output

    assert [r.status for r in jobs.store.history("jobs")] == ["failed", "failed"]


def test_a_runner_callback_returning_results(jobs: Jobs) -> None:
    def run(app: str, task: Task) -> RunResult:
        env = jobs.package.environment(jobs.host)
        context = jobs.package.hook_context(task.name, jobs.host)
        return run_callable(env, kind="task", ref=task.call, argument=context, timeout=task.timeout)

    runner = TaskRunner(jobs.store, run)
    assert runner.run("jobs", jobs.task("exit3")).exit_code == 3
    assert runner.run("jobs", jobs.task("exit3")).status == "failed"
    assert runner.run("jobs", jobs.task("hang")).status == "timeout"


def test_a_task_is_killed_at_its_timeout(jobs: Jobs) -> None:
    run = jobs.runner.run("jobs", jobs.task("hang"))
    assert run.status == "timeout"
    assert "hanging" in run.output
    assert "timed out after 10 s" in run.output
    pid = int((jobs.data / "hang.pid").read_text())  # written before "hanging" was printed
    assert gone(pid)


def test_never_two_runs_of_a_task_at_once(jobs: Jobs) -> None:
    gated = jobs.task("gated")
    first: list[TaskRun] = []
    thread = threading.Thread(target=lambda: first.append(jobs.runner.run("jobs", gated)))
    thread.start()
    try:
        wait_for_file(jobs.data / "gated.started")

        # Another thread...
        second = jobs.runner.run("jobs", gated, scheduled=5.0)
        assert second.status == "skipped"
        assert second.output == SKIPPED_OUTPUT
        assert second.scheduled == 5.0

        # ...and another process find it running too.
        other = textwrap.dedent(
            f"""
            from pyapp_runtime.scheduler import RunStore, TaskRunner
            from apppackage.description import Task
            def must_not_run(app, task):
                raise SystemExit("ran a task that was running already")
            runner = TaskRunner(RunStore({str(jobs.store.directory)!r}), must_not_run)
            print(runner.run("jobs", Task(name="gated", call="jobs.tasks:gated", every=1)).status)
            """
        )
        done = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True, timeout=60)
        assert done.stdout.strip() == "skipped", done.stderr
        assert [r.status for r in jobs.store.history("jobs", "gated")] == ["skipped", "skipped", "running"]
    finally:
        (jobs.data / "gated.go").write_text("")
        thread.join()
    assert first[0].status == "ok"
    assert "gated done" in first[0].output
    assert [r.status for r in jobs.store.history("jobs", "gated")] == ["skipped", "skipped", "ok"]

    # Once it has finished, it runs again.
    assert jobs.runner.run("jobs", gated).status == "ok"


def test_history_is_bounded_per_task(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "tasks", keep=3)
    runner = TaskRunner(store, lambda app, task: RunResult(returncode=0, output=task.name, duration=0.0))
    one, two = Task(name="one", call="m:f", every=1), Task(name="two", call="m:f", every=1)
    runs = [runner.run("app", one) for _ in range(5)]
    runner.run("app", two)

    kept = store.history("app", "one")
    assert [r.id for r in kept] == [r.id for r in reversed(runs[-3:])]
    assert len(store.history("app", "one", limit=2)) == 2
    assert [r.task for r in store.history("app")] == ["two", "one", "one", "one"]
    assert store.history("other-app") == []
    assert store.apps() == ["app"]


def test_output_is_kept_to_its_tail(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "tasks")
    text = "".join(f"line {i}\n" for i in range(1000))
    runner = TaskRunner(
        store, lambda app, task: RunResult(returncode=0, output=text, duration=0.0), output_tail=100
    )
    run = runner.run("app", Task(name="t", call="m:f", every=1))
    assert len(run.output) == 100 and run.output.endswith("line 999\n")
    assert store.history("app")[0].output == run.output


def test_a_run_left_running_by_a_dead_runner_is_marked_failed(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "tasks")
    store.add(TaskRun(app="app", task="t", started=1.0, status="running", output="half way"))
    runner = TaskRunner(store, lambda app, task: RunResult(returncode=0, output="", duration=0.0))
    runner.run("app", Task(name="t", call="m:f", every=1))
    latest, earlier = store.history("app", "t")
    assert latest.status == "ok"
    assert earlier.status == "failed" and "interrupted" in earlier.output


def test_a_broken_callback_is_recorded_not_raised(tmp_path: Path) -> None:
    def run(app: str, task: Task) -> RunResult:
        raise OSError("no such interpreter")

    runner = TaskRunner(RunStore(tmp_path / "tasks"), run)
    run_ = runner.run("app", Task(name="t", call="m:f", every=1))
    assert run_.status == "failed"
    assert "OSError: no such interpreter" in run_.output


def test_bad_names_are_refused(tmp_path: Path) -> None:
    from pyapp_runtime.scheduler import SchedulerError

    store = RunStore(tmp_path / "tasks")
    with pytest.raises(SchedulerError, match=r"app name '\.\./x'"):
        store.history("../x")
    with pytest.raises(SchedulerError, match="task name"):
        store.lock_path("app", "a/b")
