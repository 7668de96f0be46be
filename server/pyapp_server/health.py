"""The health of every app, as its clients see it: one check of each (spec section 7.3) after each round of
the host's watcher, kept for the pages and the API to show (``health`` of ``GET /api/v1/apps``).

A dashboard listing a hundred apps must not send a hundred requests each time it is shown: it reads what
the last round found, and says when that was. The checks of a round run a few at a time, each bounded by
its release's ``health.timeout``, so a hung app delays only its own answer.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

if TYPE_CHECKING:
    from .manager import AppManager

__all__ = ["HEALTH_WORKERS", "check_health"]

HEALTH_WORKERS = 8
"""How many apps are checked at once."""


def _when() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_health(apps: AppManager, workers: int = HEALTH_WORKERS) -> dict[str, dict[str, Any]]:
    """One health check of each app that serves (``{app: {healthy, status, detail, checked_at}}``); an app
    that serves nothing (stopped, no WSGI daemon) or whose state cannot be read is left out."""
    host = apps.host()
    names = host.layout.app_names()

    def one(name: str) -> dict[str, Any] | None:
        try:
            result = host.health(name)
        except AppPackageError:
            return None
        if result is None:
            return None
        return {
            "healthy": result.healthy,
            "status": result.status,
            "detail": result.detail,
            "checked_at": _when(),
        }

    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(names)), thread_name_prefix="pyapp-health") as pool:
        found = dict(zip(names, pool.map(one, names), strict=True))
    return {name: entry for name, entry in found.items() if entry is not None}
