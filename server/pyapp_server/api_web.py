"""The JSON API's views for the web server, virtual hosts and app mounts (described in ``openapi.json``).

``/api/v1/web`` tells the web server (GET) and ``/api/v1/web/{action}`` applies the routes, starts or stops
it (POST, admin); ``/api/v1/vhosts`` lists (GET) and adds (POST, admin) virtual hosts,
``/api/v1/vhosts/{name}`` removes one (DELETE, admin), ``/api/v1/apps/{name}/mount`` mounts an app (PUT
``{vhost, prefix}``, deployer) or unmounts it (DELETE, deployer). Each view calls
:class:`~pyapp_server.webadmin.WebAdmin` (``request.services.web``), which applies every change to the
host's web server at once.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from .bodies import json_object
from .routes import json_view
from .webadmin import WebAdmin

__all__ = ["includeme"]


def _web(request: Request) -> WebAdmin:
    web: WebAdmin = request.services.web
    return web


def web_status(request: Request) -> dict[str, Any]:
    return _web(request).status()


def control_web(request: Request) -> dict[str, Any]:
    return _web(request).control(request.matchdict["action"], request.actor)


def list_vhosts(request: Request) -> dict[str, Any]:
    return _web(request).routes()


def add_vhost(request: Request) -> dict[str, Any]:
    return _web(request).add_vhost(json_object(request), request.actor)


def remove_vhost(request: Request) -> dict[str, Any]:
    return _web(request).remove_vhost(request.matchdict["name"], request.actor)


def mount_app(request: Request) -> dict[str, Any]:
    return _web(request).mount(request.matchdict["name"], json_object(request), request.actor)


def unmount_app(request: Request) -> dict[str, Any]:
    return _web(request).unmount(request.matchdict["name"], request.actor)


def includeme(config: Configurator) -> None:
    """The views of ``/api/v1/web``, ``/api/v1/vhosts`` and ``/api/v1/apps/{name}/mount``."""

    view = partial(json_view, config)

    view(web_status, "web", "GET", "read")
    view(control_web, "web_action", "POST", "admin")
    view(list_vhosts, "vhosts", "GET", "read")
    view(add_vhost, "vhosts", "POST", "admin")
    view(remove_vhost, "vhost", "DELETE", "admin")
    view(mount_app, "app_mount", "PUT", "deploy")
    view(unmount_app, "app_mount", "DELETE", "deploy")
