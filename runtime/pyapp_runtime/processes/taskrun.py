"""The task scheduler program of one app (``<app>@tasks``): ``python -m pyapp_runtime.taskrun``.

It runs the :class:`~pyapp_runtime.scheduler.Scheduler` over the tasks of the release
it was started for (spec section 3.14). Each run starts a fresh interpreter of the
app's in the app's environment (:func:`apppackage.hooks.run_callable`) with the
hook context of section 6.4 -- the configuration values and the services' values
(section 3.9) as they are when the run starts -- and is killed at its timeout; outcomes go to the app's
:class:`~pyapp_runtime.scheduler.RunStore`. While a lifecycle operation that runs
the app's hooks holds the app's lock (install, update, remove, backup, restore) no
task starts (spec section 7.1): a run due meanwhile starts once it is over.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from apppackage.description import Task
from apppackage.hooks import RunResult, run_callable

from ..appconfig.values import filled_values
from ..isolation.walls import scheduler_walls
from ..layout import HostLayout
from ..locking import read_holder
from ..pids import pid_alive
from ..releases.launch import LaunchSpec
from ..scheduler import RunStore, Scheduler, TaskRunner
from .placement import placement

__all__ = ["HOOK_OPERATIONS", "main"]

HOOK_OPERATIONS = ("install", "remove", "backup", "restore")
"""Operations (the first word of a lock holder's operation) that run the app's hooks."""

log = logging.getLogger("pyapp_runtime.scheduler")


def _hooks_running(lock_file: Path) -> bool:
    pid, operation = read_holder(lock_file)
    if pid is None or operation.split(" ", 1)[0] not in HOOK_OPERATIONS:
        return False
    return pid_alive(pid)  # a holder that died lost its lock with it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyapp_runtime.taskrun", description=__doc__)
    parser.add_argument("--release", required=True, type=Path, help="the release directory")
    parser.add_argument("--app-dir", required=True, type=Path, help="the app's directory (apps/<name>)")
    parser.add_argument("--store", required=True, type=Path, help="the RunStore directory")
    parser.add_argument("--poll", type=float, default=5.0, help="longest sleep between looks (seconds)")
    parser.add_argument("--walls", default="{}", help="what each task runs behind (JSON, from the host)")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    launch = LaunchSpec.read(options.release)
    app_dir: Path = options.app_dir
    lock_file = app_dir.parent / f"{launch.name}.lock"
    home = app_dir.parent.parent
    mount = placement(HostLayout(home), launch.name)
    mount_path = mount.mount_path if mount.mounted else None
    tasks = list(launch.tasks)
    walls = scheduler_walls(HostLayout(home).app(launch.name), options.walls)

    def run(app: str, task: Task) -> RunResult:
        env = launch.environment(mount_path=mount_path)  # reads the services' values now
        config = filled_values(app_dir / "config.yaml", Path(launch.root))  # as they are now
        context = {
            "task": task.name, "name": launch.name, "version": launch.version, "root": launch.root,
            "config": config, "data_path": launch.data_path,
            "tmp_path": launch.tmp_path, "log_path": launch.log_path, "writable": dict(launch.writable),
            "from_version": None, "to_version": None, "backup_path": None,
        }  # fmt: skip
        result = run_callable(
            env, kind="task", ref=task.call, argument=context, name=task.name, timeout=task.timeout,
            cwd=launch.data_path, python=launch.python, launcher=walls.launcher(launch),
        )  # fmt: skip
        if result.output.strip():
            # The app's log keeps what the run printed; the run store keeps its tail.
            sys.stderr.write(f"--- output of task {task.name} ---\n{result.output.rstrip()}\n")
            sys.stderr.flush()
        return result

    def due() -> list[tuple[str, Task]]:
        if _hooks_running(lock_file):
            return []
        return [(launch.name, task) for task in tasks]

    scheduler = Scheduler(due, TaskRunner(RunStore(options.store), run))
    log.info(
        "%s %s: scheduling %s", launch.name, launch.version, ", ".join(t.name for t in tasks) or "no tasks"
    )
    scheduler.serve(poll=options.poll)
    log.info("%s %s: scheduler stopped", launch.name, launch.version)
    return 0
