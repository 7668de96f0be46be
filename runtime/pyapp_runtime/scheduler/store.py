"""Where task runs are recorded: one small SQLite file per application.

``<directory>/<app>/runs.sqlite`` keeps the last ``keep`` runs of each task (start,
end, duration, status, exit code, the tail of the output) and, per task, when the
scheduler first saw it and the last time it ran on schedule, so that a restarted
scheduler neither runs everything at once nor loses the schedule.
``<directory>/<app>/<task>.lock`` are the per-task run locks (see
:class:`~pyapp_runtime.scheduler.TaskRunner`); they are never deleted.

SQLite serializes writers across threads and processes; every call opens its own
connection, so one store may be shared by threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .errors import SchedulerError

__all__ = ["STATUSES", "RunStatus", "RunStore", "TaskRun"]

RunStatus = Literal["running", "ok", "failed", "timeout", "skipped"]
STATUSES: tuple[RunStatus, ...] = ("running", "ok", "failed", "timeout", "skipped")

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    scheduled REAL,
    started REAL NOT NULL,
    ended REAL,
    duration REAL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    output TEXT NOT NULL DEFAULT '',
    runner_pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task, id);
CREATE TABLE IF NOT EXISTS tasks (
    task TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_scheduled REAL
);
"""
_COLUMNS = "id, task, scheduled, started, ended, duration, status, exit_code, output"


@dataclass(frozen=True, kw_only=True)
class TaskRun:
    """One run of a task. ``scheduled`` is the time it was due (``None`` for a run on demand).

    ``status``: ``running`` (not finished yet), ``ok``, ``failed`` (raised, returned
    False, exited non-zero, could not be started, or its runner died), ``timeout``
    (killed at its timeout) or ``skipped`` (the previous run was still going).
    Times are Unix timestamps; ``duration`` is in seconds.
    """

    app: str
    task: str
    started: float
    status: RunStatus
    id: int | None = None
    scheduled: float | None = None
    ended: float | None = None
    duration: float | None = None
    exit_code: int | None = None
    output: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_name(kind: str, name: str) -> str:
    """Return *name* when it is a valid app or task name (it becomes a file name)."""
    if not _NAME.fullmatch(name):
        raise SchedulerError(f"{kind} name {name!r} must match [a-z0-9][a-z0-9._-]* (at most 64 characters)")
    return name


class RunStore:
    """Task runs of every application under *directory*, the last *keep* per task."""

    def __init__(self, directory: str | os.PathLike[str], *, keep: int = 100) -> None:
        if keep < 1:
            raise SchedulerError(f"keep must be at least 1, not {keep}")
        self.directory = Path(directory)
        self.keep = keep
        self._ready: set[Path] = set()

    def __repr__(self) -> str:
        return f"RunStore({os.fspath(self.directory)!r}, keep={self.keep})"

    def app_dir(self, app: str) -> Path:
        return self.directory / check_name("app", app)

    def path(self, app: str) -> Path:
        """The SQLite file of *app*."""
        return self.app_dir(app) / "runs.sqlite"

    def lock_path(self, app: str, task: str) -> Path:
        """The lock file held while *task* of *app* runs."""
        return self.app_dir(app) / f"{check_name('task', task)}.lock"

    def apps(self) -> list[str]:
        """The applications that have a store here."""
        if not self.directory.is_dir():
            return []
        return sorted(p.parent.name for p in self.directory.glob("*/runs.sqlite"))

    @contextlib.contextmanager
    def _db(self, app: str, *, create: bool = True) -> Iterator[sqlite3.Connection]:
        path = self.path(app)
        if create:
            # Outputs may hold secrets: owner-only.
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path, timeout=30)
        except sqlite3.Error as exc:
            raise SchedulerError(f"{path}: cannot open the task store: {exc}") from None
        try:
            if create and path not in self._ready:
                db.executescript(_SCHEMA)
                self._ready.add(path)
            with db:
                yield db
        except sqlite3.Error as exc:
            raise SchedulerError(
                f"{path}: task store error: {exc}; is the file damaged or the disk full?"
            ) from None
        finally:
            db.close()

    # -- schedule ------------------------------------------------------------------

    def schedule_base(self, app: str, task: str, now: float) -> float:
        """When *task* last ran on schedule, else when it was first seen (*now*, the first time)."""
        with self._db(app) as db:
            db.execute("INSERT OR IGNORE INTO tasks (task, first_seen) VALUES (?, ?)", (task, now))
            row = db.execute(
                "SELECT first_seen, last_scheduled FROM tasks WHERE task = ?", (task,)
            ).fetchone()
        first_seen, last_scheduled = row
        return float(last_scheduled if last_scheduled is not None else first_seen)

    def claim(self, app: str, task: str, scheduled: float) -> bool:
        """Take the scheduled time *scheduled* of *task*; ``False`` when it (or a later one) was taken."""
        with self._db(app) as db:
            db.execute("INSERT OR IGNORE INTO tasks (task, first_seen) VALUES (?, ?)", (task, scheduled))
            cursor = db.execute(
                "UPDATE tasks SET last_scheduled = ? WHERE task = ? AND"
                " (last_scheduled IS NULL OR last_scheduled < ?)",
                (scheduled, task, scheduled),
            )
            return cursor.rowcount == 1

    # -- runs ----------------------------------------------------------------------

    def add(self, run: TaskRun) -> TaskRun:
        """Record *run*; return it with its id. Old runs of the task beyond ``keep`` are dropped."""
        with self._db(run.app) as db:
            cursor = db.execute(
                "INSERT INTO runs (task, scheduled, started, ended, duration, status, exit_code, output,"
                " runner_pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.task, run.scheduled, run.started, run.ended, run.duration, run.status,
                 run.exit_code, run.output, os.getpid()),
            )  # fmt: skip
            db.execute(
                "DELETE FROM runs WHERE task = ? AND id NOT IN"
                " (SELECT id FROM runs WHERE task = ? ORDER BY id DESC LIMIT ?)",
                (run.task, run.task, self.keep),
            )
        return replace(run, id=cursor.lastrowid)

    def finish(self, run: TaskRun) -> TaskRun:
        """Store the outcome of *run* (added before with status ``running``)."""
        if run.id is None:
            return self.add(run)
        with self._db(run.app) as db:
            db.execute(
                "UPDATE runs SET ended = ?, duration = ?, status = ?, exit_code = ?, output = ? WHERE id = ?",
                (run.ended, run.duration, run.status, run.exit_code, run.output, run.id),
            )
        return run

    def interrupt_running(self, app: str, task: str) -> int:
        """Mark runs of *task* left ``running`` by a runner that died as ``failed``; return how many.

        Call it only while holding the task's lock: then no run of it is really going.
        """
        with self._db(app) as db:
            cursor = db.execute(
                "UPDATE runs SET status = 'failed', output = output || ?"
                " WHERE task = ? AND status = 'running'",
                ("\n[interrupted: the runner stopped before the task finished]", task),
            )
            return cursor.rowcount

    def history(self, app: str, task: str | None = None, *, limit: int = 20) -> list[TaskRun]:
        """The last *limit* runs of *app* (of one *task* when given), newest first."""
        if not self.path(app).exists():
            return []
        where, params = ("WHERE task = ?", [task]) if task is not None else ("", [])
        with self._db(app, create=False) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM runs {where} ORDER BY id DESC LIMIT ?",  # noqa: S608 -- fixed text
                (*params, limit),
            ).fetchall()
        return [_run(app, row) for row in rows]

    def last(self, app: str, task: str) -> TaskRun | None:
        """The latest run of *task*, or ``None``."""
        runs = self.history(app, task, limit=1)
        return runs[0] if runs else None


def _run(app: str, row: tuple[Any, ...]) -> TaskRun:
    run_id, task, scheduled, started, ended, duration, status, exit_code, output = row
    return TaskRun(
        id=run_id,
        app=app,
        task=task,
        scheduled=scheduled,
        started=started,
        ended=ended,
        duration=duration,
        status=status,
        exit_code=exit_code,
        output=output,
    )
