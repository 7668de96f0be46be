"""The JSON API's views for the server and its apps (described in ``openapi.json``).

Views parse the request, call :class:`~pyapp_server.manager.AppManager`, and return
what it returns; long operations answer ``202`` with the job (and its URL in
``Location``). Errors are raised and rendered by :mod:`pyapp_server.errors`.
"""

from __future__ import annotations

import json
from functools import cache, partial
from importlib import resources
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED

from apppackage import __version__

from .appfiles import DEFAULT_LOG_LINES, MAX_LOG_LINES, AppFiles
from .bodies import json_object
from .errors import ApiError
from .events import int_param
from .jobs import Job
from .manager import AppManager
from .routes import json_view
from .uploads import flag_value, uploaded_package

__all__ = ["API_VERSION", "includeme", "openapi_document"]

API_VERSION = "1"


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API (``pyapp_server/openapi.json``)."""
    text = resources.files(__package__).joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _apps(request: Request) -> AppManager:
    manager: AppManager = request.services.apps
    return manager


def _accepted(request: Request, job: Job) -> dict[str, Any]:
    request.response.status = 202
    request.response.headers["Location"] = request.route_path("job", id=job.id)
    return job.to_dict()


def index(request: Request) -> Any:
    """Where the API is described and where the web interface is; a browser (which prefers HTML) is sent
    to the web interface."""
    offers = request.accept.acceptable_offers(["application/json", "text/html"])
    if offers and offers[0][0] == "text/html":
        return HTTPSeeOther(request.route_path("ui.dashboard"))
    return {
        "name": "pyapp-server",
        "version": __version__,
        "api_version": API_VERSION,
        "openapi": request.route_path("openapi"),
        "info": request.route_path("info"),
        "web_interface": request.route_path("ui.dashboard"),
    }


def info(request: Request) -> dict[str, Any]:
    import pyapp_runtime

    settings = request.services.settings
    return {
        "name": "pyapp-server",
        "version": __version__,
        "api_version": API_VERSION,
        "min_client_version": settings.min_client_version,
        "runtime_version": pyapp_runtime.__version__,
        "features": {**_apps(request).features(), "xmlrpc": True, "drop_folder": settings.drop_interval > 0},
        "auth": {
            "open_reads": settings.open_reads and settings.loopback,
            "roles": ["viewer", "deployer", "admin"],
        },
        "limits": {"max_upload_size": settings.max_upload_size},
        "identity": request.identity.to_dict() if request.identity is not None else None,
    }


def openapi(request: Request) -> dict[str, Any]:
    return openapi_document()


def list_apps(request: Request) -> dict[str, Any]:
    return {"apps": _apps(request).list_apps()}


def show_app(request: Request) -> dict[str, Any]:
    return _apps(request).show(request.matchdict["name"])


def install_app(request: Request) -> dict[str, Any]:
    received = uploaded_package(request)
    job = _apps(request).install(
        received.path,
        request.actor,
        force=received.force,
        ignore_requirements=received.ignore_requirements,
        settings=received.settings,
        services=received.services,
        staged=received.staged,
        trust_key=received.trust_key,
    )
    return _accepted(request, job)


def update_app(request: Request) -> dict[str, Any]:
    received = uploaded_package(request)
    job = _apps(request).install(
        received.path,
        request.actor,
        expect=request.matchdict["name"],
        force=received.force,
        ignore_requirements=received.ignore_requirements,
        settings=received.settings,
        services=received.services,
        staged=received.staged,
        kind="update",
        trust_key=received.trust_key,
    )
    return _accepted(request, job)


def rollback_app(request: Request) -> dict[str, Any]:
    data = json_object(request, optional=True)
    to, force = data.get("to"), data.get("force", False)
    problems = [
        {"field": key, "path": f"/{key}", "message": "unknown property (send 'to' and 'force')"}
        for key in sorted(set(data) - {"to", "force"})
    ]
    if to is not None and not isinstance(to, str):
        problems.append({"field": "to", "path": "/to", "message": "must be a version or release id"})
    if not isinstance(force, bool):
        problems.append({"field": "force", "path": "/force", "message": "must be true or false"})
    if problems:
        raise ApiError(
            "the body may only have 'to' (a version or release id) and 'force' (true: roll back even to a "
            "release whose data version is lower than the data's)",
            status=422,
            code="invalid-request",
            errors=problems,
        )
    job = _apps(request).rollback(request.matchdict["name"], request.actor, to=to, force=force)
    return _accepted(request, job)


def remove_app(request: Request) -> dict[str, Any]:
    job = _apps(request).remove(
        request.matchdict["name"],
        request.actor,
        keep_data=flag_value(request.GET.get("keep_data", ""), "keep_data"),
        backup=flag_value(request.GET.get("backup", ""), "backup"),
        force=flag_value(request.GET.get("force", ""), "force"),
    )
    return _accepted(request, job)


def backup_app(request: Request) -> dict[str, Any]:
    return _accepted(request, _apps(request).backup(request.matchdict["name"], request.actor))


def control_app(request: Request) -> dict[str, Any]:
    return _apps(request).control(request.matchdict["name"], request.matchdict["action"], request.actor)


def reload_app(request: Request) -> dict[str, Any]:
    return _apps(request).control(request.matchdict["name"], "reload", request.actor)


# -- releases, backups, process output ---------------------------------------------------


def _files(request: Request) -> AppFiles:
    files: AppFiles = request.services.files
    return files


def list_releases(request: Request) -> dict[str, Any]:
    return _files(request).releases(request.matchdict["name"])


def list_backups(request: Request) -> dict[str, Any]:
    return _files(request).backups(request.matchdict["name"])


def restore_app(request: Request) -> dict[str, Any]:
    data = json_object(request)
    problems = [
        {"field": key, "path": f"/{key}", "message": "unknown property (send 'backup' and 'force')"}
        for key in sorted(set(data) - {"backup", "force"})
    ]
    if not isinstance(data.get("backup"), str):
        problems.append(
            {
                "field": "backup",
                "path": "/backup",
                "message": "is required: the name of one of the app's backups",
            }
        )
    if not isinstance(data.get("force", False), bool):
        problems.append({"field": "force", "path": "/force", "message": "must be true or false"})
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    job = _files(request).restore(
        request.matchdict["name"], data["backup"], request.actor, force=data.get("force", False)
    )
    return _accepted(request, job)


def process_log(request: Request) -> dict[str, Any]:
    lines = int_param(request, "lines", DEFAULT_LOG_LINES, low=1, high=MAX_LOG_LINES)
    return _files(request).log(
        request.matchdict["name"], request.matchdict["process"], lines or DEFAULT_LOG_LINES
    )


# -- configuration -------------------------------------------------------------------


def show_config(request: Request) -> dict[str, Any]:
    return _apps(request).config(request.matchdict["name"])


def _config_body(request: Request) -> tuple[dict[str, Any] | None, list[str]]:
    data = json_object(request)
    problems = [
        {"field": key, "path": f"/{key}", "message": "unknown property (send 'values' or 'assignments')"}
        for key in sorted(set(data) - {"values", "assignments"})
    ]
    values = data.get("values")
    assignments = data.get("assignments", [])
    if values is not None and not isinstance(values, dict):
        problems.append(
            {"field": "values", "path": "/values", "message": "must be an object of setting values"}
        )
    if not isinstance(assignments, list) or not all(isinstance(a, str) for a in assignments):
        problems.append(
            {"field": "assignments", "path": "/assignments", "message": "must be a list of strings"}
        )
    if values is None and not assignments and not problems:
        problems.append({"field": "values", "path": "/values", "message": "is required"})
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    return values, list(assignments)


def _change_config(request: Request, *, merge: bool) -> dict[str, Any]:
    """Write the values (PUT: all of them, PATCH: some); with ``?dry_run=true``, only what writing them
    would change and the file the app would read, secrets masked (checked the same way, nothing written)."""
    values, assignments = _config_body(request)
    name, manager = request.matchdict["name"], _apps(request)
    if not merge:
        values = values or {}
    if flag_value(request.GET.get("dry_run", ""), "dry_run"):
        return manager.preview_config(name, values=values, assignments=assignments, merge=merge)
    return manager.set_config(name, request.actor, values=values, assignments=assignments, merge=merge)


def replace_config(request: Request) -> dict[str, Any]:
    return _change_config(request, merge=False)


def update_config(request: Request) -> dict[str, Any]:
    return _change_config(request, merge=True)


# -- services (spec section 3.9) -------------------------------------------------------


def show_services(request: Request) -> dict[str, Any]:
    return _apps(request).services(request.matchdict["name"])


def change_services(request: Request) -> dict[str, Any]:
    data = json_object(request)
    problems = [
        {"field": key, "path": f"/{key}", "message": "unknown property (send 'set' or 'unset')"}
        for key in sorted(set(data) - {"set", "unset"})
    ]
    values = data.get("set", {})
    unset = data.get("unset", [])
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        problems.append(
            {
                "field": "set",
                "path": "/set",
                "message": "must be an object of service names to values (strings)",
            }
        )
    if not isinstance(unset, list) or not all(isinstance(n, str) for n in unset):
        problems.append({"field": "unset", "path": "/unset", "message": "must be a list of service names"})
    if not problems and not values and not unset:
        problems.append({"field": "set", "path": "/set", "message": "give 'set' or 'unset' (or both)"})
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    return _apps(request).set_services(request.matchdict["name"], request.actor, values=values, unset=unset)


def includeme(config: Configurator) -> None:
    """The views of ``/api/v1`` for the server, its apps, their releases, backups, process output,
    configuration and services."""

    view = partial(json_view, config)

    view(index, "index", "GET", NO_PERMISSION_REQUIRED)
    view(index, "index_bare", "GET", NO_PERMISSION_REQUIRED)
    view(info, "info", "GET", NO_PERMISSION_REQUIRED)
    view(openapi, "openapi", "GET", NO_PERMISSION_REQUIRED)
    view(list_apps, "apps", "GET", "read")
    view(install_app, "apps", "POST", "deploy")
    view(show_app, "app", "GET", "read")
    view(remove_app, "app", "DELETE", "admin")
    view(update_app, "app_update", "POST", "deploy")
    view(rollback_app, "app_rollback", "POST", "deploy")
    view(backup_app, "app_backup", "POST", "deploy")
    view(control_app, "app_process", "POST", "deploy")
    view(reload_app, "app_reload", "POST", "deploy")
    view(list_releases, "app_releases", "GET", "read")
    view(list_backups, "app_backups", "GET", "read")
    view(restore_app, "app_restore", "POST", "admin")
    view(process_log, "app_log", "GET", "deploy")
    view(show_config, "app_config", "GET", "read")
    view(replace_config, "app_config", "PUT", "deploy")
    view(update_config, "app_config", "PATCH", "deploy")
    view(show_services, "app_services", "GET", "read")
    view(change_services, "app_services", "PUT", "deploy")
