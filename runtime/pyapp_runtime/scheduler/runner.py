"""``TaskRunner``: run one task now, never two runs of the same task at once, record the outcome.

The task itself runs through a callback the caller provides, ``run(app, task) ->
RunResult``, which starts it in the application's environment and kills it at its
timeout -- :meth:`apppackage.AppPackage.run_task` or
:func:`apppackage.hooks.run_callable` do both. The callback may also raise
:class:`~apppackage.errors.HookFailed` (as ``run_task`` does for a failed run);
the runner records that as ``failed`` or ``timeout``.

While a run goes, the runner holds an ``fcntl`` lock on the task's lock file. A
second runner -- another thread or another process -- that finds it held does not
run the task but records a ``skipped`` run ("skipped: still running"). The kernel
drops the lock when its holder dies, so a crash never blocks a task for good.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Callable

from apppackage.description import Task
from apppackage.errors import AppPackageError, HookFailed
from apppackage.hooks import RunResult

from .store import RunStatus, RunStore, TaskRun

__all__ = ["SKIPPED_OUTPUT", "RunTask", "TaskRunner"]

RunTask = Callable[[str, Task], RunResult]
"""``run(app, task) -> RunResult``: run *task* of *app* once, killing it at ``task.timeout``."""

SKIPPED_OUTPUT = "skipped: still running"
OUTPUT_TAIL = 8192

log = logging.getLogger("pyapp_runtime.scheduler")

_EXIT = re.compile(r"exited with status (-?\d+)")


class TaskRunner:
    """Run tasks through *run*, one run of a task at a time, recording each in *store*.

    *output_tail* is how many characters of a run's output are kept; *clock* gives
    the Unix time (injectable for tests).
    """

    def __init__(
        self,
        store: RunStore,
        run: RunTask,
        *,
        output_tail: int = OUTPUT_TAIL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._run = run
        self.output_tail = output_tail
        self.clock = clock

    def run(self, app: str, task: Task, *, scheduled: float | None = None) -> TaskRun:
        """Run *task* of *app* now (or record it ``skipped`` when a run of it is going); return the run.

        *scheduled* is the time it was due, ``None`` for a run on demand.
        """
        lock_path = self.store.lock_path(app, task.name)
        lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                now = self.clock()
                log.info("%s: task %s skipped: its previous run is still going", app, task.name)
                return self.store.add(
                    TaskRun(app=app, task=task.name, scheduled=scheduled, started=now, ended=now,
                            duration=0.0, status="skipped", output=SKIPPED_OUTPUT)
                )  # fmt: skip
            return self._locked_run(app, task, scheduled)
        finally:
            os.close(fd)  # drops the lock

    def _locked_run(self, app: str, task: Task, scheduled: float | None) -> TaskRun:
        if self.store.interrupt_running(app, task.name):
            log.warning("%s: task %s: a previous run was interrupted", app, task.name)
        started = self.clock()
        run = self.store.add(
            TaskRun(app=app, task=task.name, scheduled=scheduled, started=started, status="running")
        )
        log.info("%s: task %s started", app, task.name)
        status, exit_code, output, duration = self._call(app, task)
        ended = self.clock()
        finished = self.store.finish(
            TaskRun(
                id=run.id,
                app=app,
                task=task.name,
                scheduled=scheduled,
                started=started,
                ended=ended,
                duration=duration if duration is not None else max(0.0, ended - started),
                status=status,
                exit_code=exit_code,
                output=output[-self.output_tail :],
            )
        )
        level = logging.INFO if status == "ok" else logging.WARNING
        log.log(level, "%s: task %s: %s", app, task.name, status)
        return finished

    def _call(self, app: str, task: Task) -> tuple[RunStatus, int | None, str, float | None]:
        """Run the callback; return (status, exit code, output, duration)."""
        try:
            result = self._run(app, task)
        except HookFailed as exc:
            match = _EXIT.search(exc.cause)
            exit_code = int(match[1]) if match else None
            output = f"{exc.output.rstrip()}\n[{exc.cause}]" if exc.output.strip() else exc.cause
            status: RunStatus = "timeout" if exc.cause.startswith("timed out") else "failed"
            return status, exit_code, output, None
        except AppPackageError as exc:
            return "failed", None, str(exc), None
        except Exception as exc:  # a broken callback must not stop the scheduler
            log.exception("%s: task %s: the runner callback failed", app, task.name)
            return "failed", None, f"the task could not be run: {type(exc).__name__}: {exc}", None
        if result.timed_out:
            note = f"[killed: ran past its timeout of {task.timeout:g} s]"
            return "timeout", result.returncode, f"{result.output.rstrip()}\n{note}".lstrip(), result.duration
        return ("ok" if result.ok else "failed"), result.returncode, result.output, result.duration
