"""The JSON API's views for the host itself (described in ``openapi.json``).

``/api/v1/host`` is the host at a glance (GET): supervisord, the web server, disk use and free space;
``/api/v1/host/settings`` its settings, ``host.yaml`` (GET: each with its value, default, where it comes
from and what it means; PUT, admin: a partial object, checked as a whole, written and applied). Each view
calls :class:`~pyapp_server.hostadmin.HostAdmin` (``request.services.host``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from .bodies import json_object
from .hostadmin import HostAdmin
from .routes import json_view

__all__ = ["includeme"]


def _host(request: Request) -> HostAdmin:
    host: HostAdmin = request.services.host
    return host


def host_status(request: Request) -> dict[str, Any]:
    return _host(request).status()


def show_settings(request: Request) -> dict[str, Any]:
    return _host(request).settings()


def change_settings(request: Request) -> dict[str, Any]:
    return _host(request).set_settings(json_object(request), request.actor)


def includeme(config: Configurator) -> None:
    """The views of ``/api/v1/host`` and ``/api/v1/host/settings``."""

    view = partial(json_view, config)

    view(host_status, "host", "GET", "read")
    view(show_settings, "host_settings", "GET", "read")
    view(change_settings, "host_settings", "PUT", "admin")
