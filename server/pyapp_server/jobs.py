"""Long operations (install, update, rollback, remove, backup, restore) as jobs run by a thread pool.

A request that starts one gets ``202`` and the job; ``GET /api/v1/jobs/{id}`` tells its
state (``queued``, ``running``, ``succeeded``, ``failed``), its result or error, and its
log (the runtime's progress lines). ``?wait=SECONDS`` waits (up to 60 s) for it to end.

One app is never worked on by two jobs at once: submitting a job for an app that has
one queued or running raises :class:`~pyapp_server.errors.AppBusy` (``409``, naming the
job to wait for) rather than queueing behind it, so that a client always knows which
package ends up current. Jobs are kept in the server's database; those a server stop
interrupted are marked failed when it starts again, and it finishes or undoes what they were
doing to their apps before the first request (:meth:`AppManager.recover`).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from ._db import Database, utc_now
from .errors import AppBusy, NoSuchJob, ServerStopping, classify, error_body
from .events import EventLog, int_param

__all__ = ["STATES", "Job", "JobContext", "JobManager", "includeme"]

log = logging.getLogger("pyapp_server.jobs")

STATES = ("queued", "running", "succeeded", "failed")
MAX_WAIT = 60


@dataclass(frozen=True, kw_only=True)
class Job:
    id: str
    kind: str
    app: str | None
    state: str
    actor: str
    created: str
    started: str | None = None
    finished: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    log: str = ""

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "app": self.app,
            "state": self.state,
            "actor": self.actor,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result": self.result,
            "error": self.error,
            "log": self.log,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        data.pop("seq", None)
        for key in ("result", "error"):
            data[key] = json.loads(data[key]) if data[key] else None
        return cls(**data)


class JobContext:
    """What a job's work function gets: its id and a way to add lines to its log."""

    def __init__(self, manager: JobManager, job_id: str) -> None:
        self.manager = manager
        self.job_id = job_id

    def log(self, line: str) -> None:
        self.manager._append_log(self.job_id, line)


Work = Callable[[JobContext], dict[str, Any]]
Describe = Callable[[dict[str, Any]], str]


class JobManager:
    """Runs jobs on *workers* threads, records them in *db* and an event for each when it ends."""

    def __init__(self, db: Database, events: EventLog, *, workers: int = 2) -> None:
        self.db = db
        self.events = events
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pyapp-job")
        self._lock = threading.Lock()
        self._busy: dict[str, tuple[str, str]] = {}
        self._finished: dict[str, threading.Event] = {}
        self._closing = False
        self._seq = 0
        self._interrupted()

    def _interrupted(self) -> None:
        error = {
            "status": 500,
            "code": "interrupted",
            "type": "Interrupted",
            "message": "the server stopped before this job ended; the runtime finished or undid its work "
            "(see the app's state)",
        }
        with self.db.connect() as conn:
            stale = conn.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running')").fetchall()
            for row in stale:
                conn.execute(
                    "UPDATE jobs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
                    (utc_now(), json.dumps(error), row["id"]),
                )
            self._seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs").fetchone()[0])
        for row in stale:
            self.events.record(
                row["kind"],
                f"{row['kind']} interrupted by a server stop",
                app=row["app"],
                outcome="failed",
                actor=row["actor"],
                job=row["id"],
            )

    def busy(self, app: str) -> str | None:
        """The id of the job working on *app*, if one is queued or running."""
        with self._lock:
            entry = self._busy.get(app)
            return entry[0] if entry else None

    def submit(
        self,
        kind: str,
        app: str | None,
        actor: str,
        work: Work,
        *,
        describe: Describe | None = None,
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        """Queue *work* as a job; raise :class:`AppBusy` when *app* has a job already."""
        job = Job(id=secrets.token_hex(6), kind=kind, app=app, state="queued", actor=actor, created=utc_now())
        with self._lock:
            if self._closing:
                raise ServerStopping()
            if app is not None and app in self._busy:
                other, other_kind = self._busy[app]
                raise AppBusy(app, other, other_kind)
            if app is not None:
                self._busy[app] = (job.id, kind)
            self._finished[job.id] = threading.Event()
            self._seq += 1
            seq = self._seq
        try:
            with self.db.connect() as conn:
                conn.execute(
                    "INSERT INTO jobs (id, seq, kind, app, state, actor, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job.id, seq, kind, app, job.state, actor, job.created),
                )
            self._executor.submit(self._run, job, work, describe, on_done)
        except BaseException:
            self._release(job)
            raise
        return job

    def _release(self, job: Job) -> None:
        with self._lock:
            if job.app is not None and self._busy.get(job.app, ("",))[0] == job.id:
                del self._busy[job.app]
            finished = self._finished.pop(job.id, None)
        if finished is not None:
            finished.set()

    def _run(
        self, job: Job, work: Work, describe: Describe | None, on_done: Callable[[Job], None] | None
    ) -> None:
        try:
            with self.db.connect() as conn:
                conn.execute(
                    "UPDATE jobs SET state = 'running', started = ? WHERE id = ?", (utc_now(), job.id)
                )
            try:
                result = work(JobContext(self, job.id))
            except Exception as exc:
                status, _code = classify(exc)
                if status == 500:
                    log.error("job %s (%s of %s) failed", job.id, job.kind, job.app, exc_info=exc)
                body = error_body(exc)
                error = {**body["error"], "errors": body["errors"]}
                self._finish(job.id, "failed", error=error)
                message = f"{job.kind} failed: {error['message'].splitlines()[0]}"
                outcome = "failed"
            else:
                self._finish(job.id, "succeeded", result=result)
                message = describe(result) if describe else f"{job.kind} succeeded"
                outcome = "succeeded"
            self.events.record(job.kind, message, app=job.app, outcome=outcome, actor=job.actor, job=job.id)
            if on_done is not None:
                on_done(self.get(job.id))
        except Exception:
            log.exception("job %s: could not record its end", job.id)
        finally:
            self._release(job)

    def _finish(
        self,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        with self.db.connect() as conn:
            conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, result = ?, error = ? WHERE id = ?",
                (
                    state,
                    utc_now(),
                    json.dumps(result, default=str) if result is not None else None,
                    json.dumps(error, default=str) if error is not None else None,
                    job_id,
                ),
            )

    def _append_log(self, job_id: str, line: str) -> None:
        with self.db.connect() as conn:
            conn.execute("UPDATE jobs SET log = log || ? WHERE id = ?", (line.rstrip("\n") + "\n", job_id))

    def get(self, job_id: str) -> Job:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NoSuchJob(job_id)
        return Job._from_row(row)

    def list(self, *, app: str | None = None, state: str | None = None, limit: int = 50) -> list[Job]:
        """The newest *limit* jobs, newest first."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("app", app), ("state", state)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        # Only fixed column names are joined in; the values are parameters.
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        with self.db.connect() as conn:
            rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit]).fetchall()
        return [Job._from_row(r) for r in rows]

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """The job once it has ended, or as it is after *timeout* seconds."""
        with self._lock:
            finished = self._finished.get(job_id)
        if finished is not None:
            finished.wait(timeout)
        return self.get(job_id)

    def close(self, *, wait: bool = True) -> None:
        """Take no new jobs; let running ones end (with *wait*); queued ones are marked failed."""
        with self._lock:
            self._closing = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
        with self.db.connect() as conn:
            ids = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE state = 'queued'").fetchall()]
        for job_id in ids:
            self._finish(
                job_id,
                "failed",
                error={
                    "status": 503,
                    "code": "stopping",
                    "type": "ServerStopping",
                    "message": "the server stopped before this job started; nothing was done",
                },
            )


def show_job(request: Request) -> dict[str, Any]:
    jobs: JobManager = request.services.jobs
    job_id = request.matchdict["id"]
    wait = int_param(request, "wait", 0, high=MAX_WAIT) or 0
    job = jobs.get(job_id)
    if wait and not job.done:
        job = jobs.wait(job_id, wait)
    return job.to_dict()


def list_jobs(request: Request) -> dict[str, Any]:
    state = request.GET.get("state") or None
    if state is not None and state not in STATES:
        from .errors import ApiError

        raise ApiError(f"query parameter state={state!r} must be one of {', '.join(STATES)}")
    jobs = request.services.jobs.list(
        app=request.GET.get("app") or None, state=state, limit=int_param(request, "limit", 50, high=1000) or 0
    )
    return {"jobs": [j.to_dict() for j in jobs]}


def includeme(config: Configurator) -> None:
    """``GET /api/v1/jobs`` and ``GET /api/v1/jobs/{id}``."""
    config.add_view(list_jobs, route_name="jobs", request_method="GET", renderer="json", permission="read")
    config.add_view(show_job, route_name="job", request_method="GET", renderer="json", permission="read")
