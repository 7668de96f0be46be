"""The dashboard: every app with its version, the state of each of its processes (the last lines a
failing one wrote), where it is mounted; and the host: its web server, supervisord and disk.

``/live/apps`` renders the table of apps alone, which ``ui.js`` asks for every few seconds to keep
the states on the page current (a short request each time: no thread waits for a tab).
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from ..manager import AppManager

__all__ = ["LIVE_INTERVAL", "apps_table", "host_facts", "includeme"]

LIVE_INTERVAL = 5
"""Seconds between two looks of an open dashboard at the apps' states."""


def apps_table(request: Request) -> dict[str, Any]:
    """Every app with its processes and its mount (``{"apps": [...], "mounts": {app: mount}}``)."""
    manager: AppManager = request.services.apps
    apps = manager.list_apps(processes=True)
    mounts = {m["app"]: m for m in request.services.web.routes()["mounts"]}
    return {"apps": apps, "mounts": mounts, "interval": LIVE_INTERVAL}


def host_facts(request: Request) -> dict[str, Any]:
    """The host at a glance (:meth:`HostAdmin.status`, as ``GET /api/v1/host``): its web server,
    supervisord, and the disk its apps use and what is free."""
    facts: dict[str, Any] = request.services.host.status()
    return facts


def dashboard(request: Request) -> dict[str, Any]:
    return {**apps_table(request), "host": host_facts(request)}


def live_apps(request: Request) -> dict[str, Any]:
    return apps_table(request)


def includeme(config: Configurator) -> None:
    config.add_route("ui.dashboard", "/")
    config.add_route("ui.live_apps", "/live/apps")
    config.add_view(
        dashboard, route_name="ui.dashboard", request_method="GET", renderer="dashboard.jinja2",
        permission="read",
    )  # fmt: skip
    config.add_view(
        live_apps, route_name="ui.live_apps", request_method="GET", renderer="apps_table.jinja2",
        permission="read",
    )  # fmt: skip
