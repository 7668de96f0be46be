"""Jobs and events: the list of jobs, a job's page with its log, and the timeline of events (filtered
by app and kind).

An open job page asks ``/jobs/{id}/progress?offset=N&wait=S`` for the log past what it shows: the
answer comes as soon as the log grows or the job ends, or after at most :data:`LONG_POLL` seconds.
At most :func:`long_polls` such requests wait at once (the others answer at once, and the page
asks again a little later), so open pages never take every thread of the server.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from ..events import MAX_LIMIT, int_param
from ..jobs import STATES, JobManager

__all__ = ["LONG_POLL", "includeme", "long_polls"]

LONG_POLL = 15
"""The longest a progress request waits for a job's log to grow, in seconds."""
STEP = 0.5
"""How often a waiting progress request looks at the job's log, in seconds."""
PAGE = 50


def long_polls(threads: int) -> int:
    """How many progress requests may wait at once on a server with *threads* request threads."""
    return max(1, threads // 4)


def jobs_page(request: Request) -> dict[str, Any]:
    state = request.GET.get("state") or None
    app = request.GET.get("app") or None
    jobs: JobManager = request.services.jobs
    listed = jobs.list(app=app, state=state if state in STATES else None, limit=PAGE)
    return {"jobs": [j.to_dict() for j in listed], "state": state, "app": app, "states": STATES,
            "apps": request.services.events.apps()}  # fmt: skip


def job_page(request: Request) -> dict[str, Any]:
    job = request.services.jobs.get(request.matchdict["id"])
    return {"job": job.to_dict(), "long_poll": LONG_POLL}


def progress(request: Request) -> dict[str, Any]:
    """The job's state and its log from ``offset`` on, once there is something new (or the wait is over)."""
    jobs: JobManager = request.services.jobs
    job_id = request.matchdict["id"]
    offset = int_param(request, "offset", 0) or 0
    wait = int_param(request, "wait", 0, high=LONG_POLL) or 0
    job = jobs.get(job_id)
    waiting: threading.Semaphore = request.registry["pyapp.ui.long_polls"]
    if wait and not job.done and len(job.log) <= offset and waiting.acquire(blocking=False):
        try:
            deadline = time.monotonic() + wait
            while not job.done and len(job.log) <= offset and (left := deadline - time.monotonic()) > 0:
                job = jobs.wait(job_id, min(STEP, left))
        finally:
            waiting.release()
    return {"state": job.state, "done": job.done, "log": job.log[offset:], "offset": len(job.log)}


def events_page(request: Request) -> dict[str, Any]:
    events = request.services.events
    app = request.GET.get("app") or None
    kind = request.GET.get("kind") or None
    before = int_param(request, "before", None, low=1)
    listed = events.list(app=app, kind=kind, before=before, limit=min(PAGE, MAX_LIMIT))
    return {
        "events": [e.to_dict() for e in listed],
        "app": app,
        "kind": kind,
        "apps": events.apps(),
        "kinds": events.kinds(),
        "older": listed[-1].id if len(listed) == PAGE else None,
    }


def includeme(config: Configurator) -> None:
    threads = config.registry["pyapp.services"].settings.threads
    config.registry["pyapp.ui.long_polls"] = threading.Semaphore(long_polls(threads))
    config.add_route("ui.jobs", "/jobs")
    config.add_route("ui.job", "/jobs/{id}")
    config.add_route("ui.job_progress", "/jobs/{id}/progress")
    config.add_route("ui.events", "/events")

    def page(view: Any, route: str, renderer: str) -> None:
        config.add_view(view, route_name=route, request_method="GET", renderer=renderer, permission="read")

    page(jobs_page, "ui.jobs", "jobs.jinja2")
    page(job_page, "ui.job", "job.jinja2")
    page(progress, "ui.job_progress", "json")
    page(events_page, "ui.events", "events.jinja2")
