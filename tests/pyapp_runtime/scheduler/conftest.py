"""Fixtures for the scheduler tests: a real small package, "jobs", whose tasks run in their own processes.

``hang`` writes its pid and says so, then sleeps past its timeout. The timeout (10 s) covers a
fresh interpreter's start on a busy machine: a run killed before it got going would show nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyapp_runtime.scheduler import RunStore, TaskRunner

from apppackage import AppPackage
from apppackage.description import Task
from apppackage.environment import HostPaths
from apppackage.hooks import RunResult

METADATA = """\
pyapp: "1.0"
name: jobs
version: "1.0.0"
tasks:
  cleanup: {call: "jobs.tasks:cleanup", every: 1}
  broken: {call: "jobs.tasks:broken", every: 60}
  refuse: {call: "jobs.tasks:refuse", every: 60}
  exit3: {call: "jobs.tasks:exit3", every: 60}
  gated: {call: "jobs.tasks:gated", every: 1}
  hang: {call: "jobs.tasks:hang", every: 60, timeout: 10}
  nightly: {call: "jobs.tasks:cleanup", cron: "*/5 * * * *"}
"""

TASKS = '''\
import os, sys, time
from pathlib import Path


def cleanup(context):
    with open(Path(context["data_path"]) / "cleanup.txt", "a") as f:
        f.write(context["task"] + "\\n")
    print("cleaned up for", context["name"])


def broken(context):
    print("about to fail")
    raise RuntimeError("disk full")


def refuse(context):
    print("nothing to do")
    return False


def exit3(context):
    sys.exit(3)


def gated(context):
    """Signal that it runs, then wait (at most 30 s) for the test to let it finish."""
    data = Path(context["data_path"])
    (data / "gated.started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not (data / "gated.go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("gated done")


def hang(context):
    (Path(context["data_path"]) / "hang.pid").write_text(str(os.getpid()))
    print("hanging", flush=True)
    time.sleep(120)
'''


@dataclass
class Jobs:
    """The "jobs" package, its host paths and a runner for it."""

    package: AppPackage
    host: HostPaths
    store: RunStore
    runner: TaskRunner

    @property
    def data(self) -> Path:
        return self.host.data_path

    def task(self, name: str) -> Task:
        task = self.package.description.task(name)
        assert task is not None
        return task

    def run(self, app: str, task: Task) -> RunResult:
        """The runner callback: the package's own run_task (timeout and kill included)."""
        assert app == self.package.name
        return self.package.run_task(task.name, self.host)


def make_jobs(tmp_path: Path) -> Jobs:
    """Write the package under *tmp_path* and return it with host paths, a store and a runner."""
    root = tmp_path / "jobs"
    (root / "src" / "jobs").mkdir(parents=True)
    (root / "metadata.yaml").write_text(METADATA)
    (root / "src" / "jobs" / "__init__.py").write_text("")
    (root / "src" / "jobs" / "tasks.py").write_text(TASKS)
    package = AppPackage(root)
    host = package.host_paths(tmp_path / "state", config_file=None)
    host.create_dirs(package.description)
    store = RunStore(tmp_path / "tasks")
    jobs = Jobs(package=package, host=host, store=store, runner=None)  # type: ignore[arg-type]
    jobs.runner = TaskRunner(store, jobs.run)
    return jobs


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    """The "jobs" package with its host paths, a run store and a runner using its run_task."""
    jobs = make_jobs(tmp_path)
    try:
        yield jobs
    finally:
        jobs.package.close()
