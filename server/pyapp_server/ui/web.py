"""The host's web part: its web server, virtual hosts and mounts, changed through
:class:`~pyapp_server.webadmin.WebAdmin` as the JSON API changes them (applied to the web server at
once). A refused change comes back beside the field at fault: a mount that conflicts with another
names the app that holds the URLs.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import classify
from ..webadmin import WEB_ACTIONS, WebAdmin
from .pages import field_errors, form_post, problems, see_other

__all__ = ["includeme"]


def _web(request: Request) -> WebAdmin:
    web: WebAdmin = request.services.web
    return web


def web_page(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "routes": _web(request).routes(),
        "apps": [a.name for a in request.services.apps.host().apps()],
        "vhost_form": {},
        "vhost_errors": {},
        "mount_form": {},
        "mount_errors": {},
        "message": None,
        "actions": WEB_ACTIONS,
        **extra,
    }


def show(request: Request) -> dict[str, Any]:
    return web_page(request)


def _refused(request: Request, exc: AppPackageError, form: str, typed: dict[str, Any]) -> dict[str, Any]:
    message, found = problems(exc)
    request.response.status = classify(exc)[0]
    return web_page(
        request, message=message, **{f"{form}_form": typed, f"{form}_errors": field_errors(found)}
    )


def add_vhost(request: Request) -> Any:
    post = request.POST
    typed = {k: str(post.get(k, "")).strip() for k in ("name", "port", "address", "server_names",
                                                          "tls_certificate", "tls_key")}  # fmt: skip
    data: dict[str, Any] = {"name": typed["name"], "port": typed["port"]}
    if typed["port"].isdigit():
        data["port"] = int(typed["port"])
    if typed["address"]:
        data["address"] = typed["address"]
    if typed["server_names"]:
        data["server_names"] = [n for n in re.split(r"[\s,]+", typed["server_names"]) if n]
    for key in ("tls_certificate", "tls_key"):
        if typed[key]:
            data[key] = typed[key]
    try:
        result = _web(request).add_vhost(data, request.actor)
    except AppPackageError as exc:
        return _refused(request, exc, "vhost", typed)
    vhost = result["vhost"]
    return see_other(request, "ui.web", f"Virtual host {vhost['name']} serves {vhost['url']}.")


def remove_vhost(request: Request) -> Any:
    name = request.matchdict["vhost"]
    try:
        _web(request).remove_vhost(name, request.actor)
    except AppPackageError as exc:
        return see_other(
            request, "ui.web", f"Virtual host {name} was not removed: {problems(exc)[0]}", error=True
        )
    return see_other(request, "ui.web", f"Virtual host {name} was removed.")


def mount(request: Request) -> Any:
    typed = {k: str(request.POST.get(k, "")).strip() for k in ("app", "vhost", "prefix")}
    try:
        result = _web(request).mount(typed["app"], {"vhost": typed["vhost"], "prefix": typed["prefix"]},
                                     request.actor)  # fmt: skip
    except AppPackageError as exc:
        return _refused(request, exc, "mount", typed)
    mounted = result["mount"]
    return see_other(request, "ui.web", f"{mounted['app']} is mounted at {mounted['url']}.")


def unmount(request: Request) -> Any:
    app = request.matchdict["app"]
    try:
        _web(request).unmount(app, request.actor)
    except AppPackageError as exc:
        return see_other(request, "ui.web", f"{app} was not unmounted: {problems(exc)[0]}", error=True)
    return see_other(request, "ui.web", f"{app} is no longer mounted.")


def control(request: Request) -> Any:
    action = request.matchdict["action"]
    try:
        state = _web(request).control(action, request.actor)
    except AppPackageError as exc:
        return see_other(
            request, "ui.web", f"The web server: {action} failed: {problems(exc)[0]}", error=True
        )
    return see_other(request, "ui.web", f"The web server: {action} done. {state['message']}")


def includeme(config: Configurator) -> None:
    config.add_route("ui.web", "/web")
    config.add_route("ui.web_control", "/web/{action:apply|start|stop}")
    config.add_route("ui.vhosts", "/web/vhosts")
    config.add_route("ui.vhost_remove", "/web/vhosts/{vhost}/remove")
    config.add_route("ui.mounts", "/web/mounts")
    config.add_route("ui.unmount", "/web/mounts/{app}/remove")
    config.add_view(show, route_name="ui.web", request_method="GET", renderer="web.jinja2", permission="read")

    post = partial(form_post, config, renderer="web.jinja2")

    post(control, "ui.web_control", "admin")
    post(add_vhost, "ui.vhosts", "admin")
    post(remove_vhost, "ui.vhost_remove", "admin")
    post(mount, "ui.mounts", "deploy")
    post(unmount, "ui.unmount", "deploy")
