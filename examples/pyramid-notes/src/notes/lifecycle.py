"""Hooks and the recurring task (metadata.yaml /hooks and /tasks).

Each is ``func(context)`` (spec sections 6.3 and 6.4): the context holds the
settings (``config``), the writable dirs and, for ``backup``, where to write.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from . import store
from .sessions import prune_sessions

__all__ = ["backup", "install", "prune"]

DAY = 24 * 3600


def install(context: dict[str, Any]) -> None:
    """Create the database and its welcome note; running it again changes nothing."""
    data_dir = context["writable"]["notes"]
    title = context["config"].get("site_title") or "Notes"
    if store.install(data_dir, site_title=title):
        print(f"notes: created the database in {data_dir}")
    else:
        print("notes: the database is already installed")


def backup(context: dict[str, Any]) -> None:
    """Copy the database into the directory ``context["backup_path"]``."""
    if not context.get("backup_path"):
        raise ValueError("the backup hook needs a backup_path in its context")
    target = store.backup(context["writable"]["notes"], Path(context["backup_path"]) / store.DB_NAME)
    print(f"notes: backed up to {target}")


def prune(context: dict[str, Any]) -> None:
    """Delete notes older than ``keep_days`` (0 keeps them) and sessions unused for two weeks."""
    now = time.time()
    keep_days = int(context["config"].get("keep_days") or 0)
    pruned = 0
    if keep_days > 0:
        with store.connect(context["writable"]["notes"]) as conn:
            pruned = store.prune(conn, now - keep_days * DAY)
    expired = prune_sessions(context["writable"]["sessions"], now=now)
    print(f"notes: pruned {pruned} notes and {expired} sessions")
