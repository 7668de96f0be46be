"""Every URL of the management server (the JSON API is described in ``openapi.json``)."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

__all__ = ["API", "includeme", "json_view"]

API = "/api/v1"


def includeme(config: Configurator) -> None:
    config.add_route("index", f"{API}/")
    config.add_route("index_bare", API)
    config.add_route("info", f"{API}/info")
    config.add_route("openapi", f"{API}/openapi.json")
    config.add_route("apps", f"{API}/apps")
    config.add_route("app", f"{API}/apps/{{name}}")
    config.add_route("app_update", f"{API}/apps/{{name}}/update")
    config.add_route("app_rollback", f"{API}/apps/{{name}}/rollback")
    config.add_route("app_backup", f"{API}/apps/{{name}}/backup")
    config.add_route("app_process", f"{API}/apps/{{name}}/{{action:start|stop|restart}}")
    config.add_route("app_reload", f"{API}/apps/{{name}}/reload")
    config.add_route("app_releases", f"{API}/apps/{{name}}/releases")
    config.add_route("app_backups", f"{API}/apps/{{name}}/backups")
    config.add_route("app_restore", f"{API}/apps/{{name}}/restore")
    config.add_route("app_log", f"{API}/apps/{{name}}/processes/{{process}}/log")
    config.add_route("app_config", f"{API}/apps/{{name}}/config")
    config.add_route("app_services", f"{API}/apps/{{name}}/services")
    config.add_route("host", f"{API}/host")
    config.add_route("host_settings", f"{API}/host/settings")
    config.add_route("web", f"{API}/web")
    config.add_route("web_action", f"{API}/web/{{action:apply|start|stop}}")
    config.add_route("vhosts", f"{API}/vhosts")
    config.add_route("vhost", f"{API}/vhosts/{{name}}")
    config.add_route("app_mount", f"{API}/apps/{{name}}/mount")
    config.add_route("events", f"{API}/events")
    config.add_route("jobs", f"{API}/jobs")
    config.add_route("job", f"{API}/jobs/{{id}}")
    config.add_route("tokens", f"{API}/tokens")
    config.add_route("token", f"{API}/tokens/{{id}}")
    config.add_route("xmlrpc", "/RPC2")


def json_view(config: Configurator, func: Any, route: str, method: str, permission: Any) -> None:
    """Add *func* as the JSON API's view of *route* for *method*, allowed to *permission*."""
    config.add_view(func, route_name=route, request_method=method, renderer="json", permission=permission)
