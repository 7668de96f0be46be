"""``Scheduler``: the loop that runs applications' recurring tasks when they are due.

One scheduler runs per application, as one supervised process of its own
(``<app>@tasks`` under supervisord), started with the application's release and
replaced with it on an update. So an application's tasks live and die with it,
one application's broken tasks never hold up another's, and the task list is
simply the current release's. (Nothing stops giving one scheduler the tasks of
several applications: ``tasks`` may be any list, or a callable read on every tick.)

Scheduling state lives in the :class:`~pyapp_runtime.scheduler.RunStore`: when
each task last ran on schedule, and when it was first seen. A new task first runs
one interval (or at the first cron time) after the scheduler first sees it; a
restarted scheduler continues the schedule, and runs a task it missed while it was
stopped once, not once per missed time. Due times are claimed in the store before
a run starts, so two schedulers of the same application never both start it.

Each due task runs in a thread of its own (so a long task does not delay the
others); the task itself runs in its own process through the
:class:`~pyapp_runtime.scheduler.TaskRunner`. Stopping waits for the running tasks,
which their timeouts bound: give the scheduler's process a stop wait longer than
its longest task timeout.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo

from apppackage.description import Task

from .errors import BadSchedule, SchedulerError
from .runner import TaskRunner
from .schedule import latest_due, next_run
from .store import TaskRun

__all__ = ["Due", "Scheduler", "TaskSource"]

TaskSource = Iterable[tuple[str, Task]] | Callable[[], Iterable[tuple[str, Task]]]
"""``(app, task)`` pairs, or a callable returning them (read again on every tick)."""

log = logging.getLogger("pyapp_runtime.scheduler")


@dataclass(frozen=True, kw_only=True)
class Due:
    """A task that is to run: *scheduled* is the time it was due."""

    app: str
    task: Task
    scheduled: float


class Scheduler:
    """Run the due tasks of *tasks* through *runner*. Cron times are read in *tz* (default: local)."""

    def __init__(self, tasks: TaskSource, runner: TaskRunner, *, tz: tzinfo | None = None) -> None:
        self._source = tasks if callable(tasks) else tuple(tasks)
        self.runner = runner
        self.store = runner.store
        self.tz = tz
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def tasks(self) -> list[tuple[str, Task]]:
        """The ``(app, task)`` pairs scheduled now."""
        source = self._source
        return list(source() if callable(source) else source)

    def due(self, now: float) -> list[Due]:
        """The tasks due at *now*. A task whose schedule cannot be read is logged and left out."""
        out = []
        for app, task in self.tasks():
            try:
                base = self.store.schedule_base(app, task.name, now)
                when = latest_due(task, base, now, tz=self.tz, app=app)
            except BadSchedule as exc:
                log.error("%s", exc)
                continue
            if when is not None:
                out.append(Due(app=app, task=task, scheduled=when))
        return out

    def next_time(self, now: float) -> float | None:
        """When the next task is due (*now* when one is due already); ``None`` without tasks."""
        times = []
        for app, task in self.tasks():
            try:
                base = self.store.schedule_base(app, task.name, now)
                times.append(max(now, next_run(task, base, tz=self.tz, app=app)))
            except BadSchedule:
                continue
        return min(times, default=None)

    def tick(self, now: float | None = None, *, wait: bool = True) -> list[TaskRun]:
        """Start every task due at *now* (default: the runner's clock) and return.

        With *wait*, wait for the runs and return them (in the order they finished);
        otherwise return at once with an empty list.
        """
        when = self.runner.clock() if now is None else now
        results: list[TaskRun] = []
        started = []
        for due in self.due(when):
            if not self.store.claim(due.app, due.task.name, due.scheduled):
                continue  # another scheduler took this time
            thread = threading.Thread(
                target=self._run, args=(due, results), name=f"task {due.app}/{due.task.name}"
            )
            with self._guard:
                self._threads.add(thread)
            thread.start()
            started.append(thread)
        if wait:
            for thread in started:
                thread.join()
        return results

    def _run(self, due: Due, results: list[TaskRun]) -> None:
        try:
            results.append(self.runner.run(due.app, due.task, scheduled=due.scheduled))
        except SchedulerError:
            log.exception("%s: task %s could not be recorded", due.app, due.task.name)
        finally:
            with self._guard:
                self._threads.discard(threading.current_thread())

    def running(self) -> int:
        """How many task runs this scheduler has going."""
        with self._guard:
            return len(self._threads)

    def wait(self) -> None:
        """Wait until the runs this scheduler started have finished."""
        while True:
            with self._guard:
                threads = list(self._threads)
            if not threads:
                return
            for thread in threads:
                thread.join()

    def run_forever(self, stop: threading.Event, *, poll: float = 5.0) -> None:
        """Tick until *stop* is set, sleeping until the next due time (at most *poll* seconds).

        Then wait for the running tasks and return.
        """
        while not stop.is_set():
            now = self.runner.clock()
            try:
                self.tick(now, wait=False)
                upcoming = self.next_time(now)
            except SchedulerError:
                log.exception("scheduling failed; trying again in %g s", poll)
                upcoming = None
            delay = poll if upcoming is None else min(poll, max(upcoming - self.runner.clock(), 0.05))
            stop.wait(delay)
        self.wait()

    def serve(self, *, poll: float = 5.0) -> None:
        """:meth:`run_forever` until SIGTERM or SIGINT: the main loop of a supervised scheduler process."""
        stop = threading.Event()

        def request_stop(signum: int, frame: object) -> None:
            log.info("signal %d: stopping after the running tasks", signum)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, request_stop)
        self.run_forever(stop, poll=poll)
