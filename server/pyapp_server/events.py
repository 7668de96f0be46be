"""The history of what happened to the apps: deploys, failures, restarts, configuration changes.

Each event has an id (growing), a time, the app (``null`` for the server itself), a kind
(``install``, ``update``, ``rollback``, ``remove``, ``backup``, ``config``, ``start``,
``stop``, ``restart``, ``drop``, ``server``, ``session`` (signing in to or out of the web
interface); and what the host did by itself, actor ``host``: ``supervisord``, ``web-server``,
``crash``, ``recovered``, ``boot``, see :mod:`pyapp_server.watcher`),
a message, an outcome (``succeeded``, ``failed``) and the actor (the name of the token that asked,
``drop-folder``, ``server``, ``host``).
They are kept in the server's SQLite database; ``GET /api/v1/events`` lists them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from ._db import Database, utc_now
from .errors import ApiError

__all__ = ["OUTCOMES", "Event", "EventLog", "includeme"]

OUTCOMES = ("succeeded", "failed")
MAX_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class Event:
    id: int
    time: str
    app: str | None
    kind: str
    message: str
    outcome: str
    actor: str
    job: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "app": self.app,
            "kind": self.kind,
            "message": self.message,
            "outcome": self.outcome,
            "actor": self.actor,
            "job": self.job,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Event:
        return cls(**dict(row))


class EventLog:
    """The events in the server's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        kind: str,
        message: str,
        *,
        app: str | None = None,
        outcome: str = "succeeded",
        actor: str = "server",
        job: str | None = None,
        time: str | None = None,
    ) -> Event:
        """Record an event (*time*, ISO 8601 in UTC: when it happened, if not now)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
        now = time or utc_now()
        with self.db.connect() as conn:
            cursor = conn.execute(
                "INSERT INTO events (time, app, kind, message, outcome, actor, job)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, app, kind, message, outcome, actor, job),
            )
            event_id = int(cursor.lastrowid or 0)
        return Event(
            id=event_id, time=now, app=app, kind=kind, message=message, outcome=outcome, actor=actor, job=job
        )

    def list(
        self,
        *,
        app: str | None = None,
        kind: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """The newest *limit* events (newest first), filtered by *app* and *kind*, older than *before*."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("app", app), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if before is not None:
            where.append("id < ?")
            args.append(before)
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self.db.connect() as conn:
            rows = conn.execute(sql, [*args, max(0, min(limit, MAX_LIMIT))]).fetchall()
        return [Event._from_row(r) for r in rows]

    def apps(self) -> tuple[str, ...]:
        """The apps events were recorded for, by name."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT app FROM events WHERE app IS NOT NULL ORDER BY app"
            ).fetchall()
        return tuple(r["app"] for r in rows)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of the events recorded, by name."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT DISTINCT kind FROM events ORDER BY kind").fetchall()
        return tuple(r["kind"] for r in rows)


def int_param(
    request: Request, name: str, default: int | None, *, low: int = 0, high: int = 10**9
) -> int | None:
    """The integer query parameter *name*, or 400 with what is wrong."""
    text = request.GET.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(
            f"query parameter {name}={text!r} must be a whole number from {low} to {high}",
            errors=[{"field": name, "path": "", "message": f"must be a whole number from {low} to {high}"}],
        )
    return value


def list_events(request: Request) -> dict[str, Any]:
    events = request.services.events.list(
        app=request.GET.get("app") or None,
        kind=request.GET.get("kind") or None,
        before=int_param(request, "before", None, low=1),
        limit=int_param(request, "limit", 100, high=MAX_LIMIT) or 0,
    )
    return {"events": [e.to_dict() for e in events]}


def includeme(config: Configurator) -> None:
    """``GET /api/v1/events``."""
    config.add_view(
        list_events, route_name="events", request_method="GET", renderer="json", permission="read"
    )
