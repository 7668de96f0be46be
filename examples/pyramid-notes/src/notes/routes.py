"""Routes, static files and request helpers (``config.include("notes.routes")``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from . import store
from .settings import Settings

__all__ = ["includeme"]


def includeme(config: Any) -> None:
    settings: Settings = config.registry["notes.settings"]
    # The same files a web server serves for metadata.yaml's /static, so the app also works on its own.
    config.add_static_view("static", str(settings.static_dir), cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("note", "/notes/{id:\\d+}")
    config.add_route("add", "/notes", request_method="POST")
    config.add_route("signup", "/signup", request_method="POST")
    config.add_route("signout", "/signout", request_method="POST")
    config.add_route("health", "/health")
    config.add_request_method(_notes_settings, "notes_settings", reify=True)
    config.add_request_method(_db, "db", reify=True)


def _notes_settings(request: Any) -> Settings:
    return request.registry["notes.settings"]  # type: ignore[no-any-return]


def _db(request: Any) -> sqlite3.Connection:
    """One connection per request: committed when the request succeeds, rolled back otherwise."""
    data_dir, _ = request.notes_settings.require_dirs()
    conn = store.open_db(data_dir)

    def finish(request: Any) -> None:
        try:
            if request.exception is None:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()

    request.add_finished_callback(finish)
    return conn
