"""The JSON API's views for virtual hosts and app mounts (described in ``openapi.json``).

``/api/v1/vhosts`` lists (GET) and adds (POST, admin) virtual hosts,
``/api/v1/vhosts/{name}`` removes one (DELETE, admin), ``/api/v1/apps/{name}/mount``
mounts an app (PUT ``{vhost, prefix}``, deployer) or unmounts it (DELETE, deployer).
Each change is applied to the host's web server at once (the host's
:class:`~pyapp_runtime.web.hostweb.HostWeb`, from the server's ``AppManager``); a
conflicting mount answers 409, an invalid virtual host or prefix 422, each naming the
value at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.config import Configurator
from pyramid.request import Request

from .bodies import json_object
from .errors import ApiError
from .routes import API

if TYPE_CHECKING:
    from pyapp_runtime.web.hostweb import HostWeb

__all__ = ["includeme"]

_VHOST_KEYS = {"name", "port", "address", "server_names", "tls_certificate", "tls_key"}
_MOUNT_KEYS = {"vhost", "prefix"}


def _web(request: Request) -> HostWeb:
    web: HostWeb = request.services.apps.web()
    return web


def _problem(key: str, message: str) -> dict[str, Any]:
    return {"field": key, "path": f"/{key}", "message": message}


def _body(request: Request, known: set[str], required: dict[str, Callable[[Any], bool]]) -> dict[str, Any]:
    data = json_object(request)
    problems = [_problem(k, "unknown property") for k in sorted(set(data) - known)]
    for key, valid in required.items():
        if key not in data:
            problems.append(_problem(key, "is required"))
        elif not valid(data[key]):
            problems.append(_problem(key, "has the wrong type"))
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    return data


def _changing(request: Request, kind: str, app: str | None, work: Callable[[], Any]) -> dict[str, Any]:
    """Run a change, turning the routing table's refusals into 409/422 and recording an event."""
    from pyapp_runtime.webservers import InvalidRoute, MountConflict

    events = request.services.events
    try:
        result: dict[str, Any] = work().to_dict()
    except MountConflict as exc:
        events.record(kind, str(exc), app=app, outcome="failed", actor=request.actor)
        raise ApiError(
            str(exc), status=409, code="mount-conflict",
            errors=[{"field": "prefix", "path": exc.where, "message": exc.message}],
            extra={"holder": exc.holder, "vhost": exc.vhost, "path": exc.path},
        ) from exc  # fmt: skip
    except InvalidRoute as exc:
        events.record(kind, str(exc), app=app, outcome="failed", actor=request.actor)
        field = exc.where.rsplit(":", 1)[-1].strip("/").split("/")[-1] or None
        raise ApiError(
            str(exc), status=422, code="invalid-route",
            errors=[{"field": field, "path": exc.where, "message": exc.message}],
        ) from exc  # fmt: skip
    subject = result["mount"] or result["vhost"] or {}
    events.record(kind, f"{result['action']} {subject.get('app') or subject.get('name')}", app=app,
                  actor=request.actor)  # fmt: skip
    return result


def list_vhosts(request: Request) -> dict[str, Any]:
    status: dict[str, Any] = _web(request).status().to_dict()
    return status


def add_vhost(request: Request) -> dict[str, Any]:
    names = lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v)  # noqa: E731
    text = lambda v: v is None or isinstance(v, str)  # noqa: E731
    checks: dict[str, Callable[[Any], bool]] = {
        "name": lambda v: isinstance(v, str),
        "port": lambda v: isinstance(v, int) and not isinstance(v, bool),
    }
    data = _body(request, _VHOST_KEYS, checks)
    optional: dict[str, Callable[[Any], bool]] = {
        "address": lambda v: isinstance(v, str), "server_names": names, "tls_certificate": text,
        "tls_key": text,
    }  # fmt: skip
    problems = [
        _problem(k, "has the wrong type") for k, ok in optional.items() if k in data and not ok(data[k])
    ]
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    return _changing(
        request, "vhost", None,
        lambda: _web(request).add_vhost(
            data["name"], port=data["port"], address=data.get("address") or "127.0.0.1",
            server_names=tuple(data.get("server_names") or ()),
            tls_certificate=data.get("tls_certificate"), tls_key=data.get("tls_key"),
        ),
    )  # fmt: skip


def remove_vhost(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    web = _web(request)
    if name not in web.store.load().vhosts:
        raise ApiError(
            f"there is no virtual host {name!r} (see: GET {API}/vhosts)", status=404, code="not-found"
        )
    return _changing(request, "vhost", None, lambda: web.remove_vhost(name))


def mount_app(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    checks: dict[str, Callable[[Any], bool]] = {
        "vhost": lambda v: isinstance(v, str),
        "prefix": lambda v: isinstance(v, str),
    }
    data = _body(request, _MOUNT_KEYS, checks)
    request.services.apps.host().release(name)  # NoSuchApp (404) when it is not installed
    web = _web(request)
    return _changing(request, "mount", name, lambda: web.mount(name, data["vhost"], data["prefix"]))


def unmount_app(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    web = _web(request)
    if name not in web.store.load().mounts:
        raise ApiError(f"app {name!r} is not mounted (see: GET {API}/vhosts)", status=404, code="not-found")
    return _changing(request, "mount", name, lambda: web.unmount(name))


def includeme(config: Configurator) -> None:
    """The routes and views of ``/api/v1/vhosts`` and ``/api/v1/apps/{name}/mount``."""
    config.add_route("vhosts", f"{API}/vhosts")
    config.add_route("vhost", f"{API}/vhosts/{{name}}")
    config.add_route("app_mount", f"{API}/apps/{{name}}/mount")

    def view(func: Any, route: str, method: str, permission: str) -> None:
        config.add_view(func, route_name=route, request_method=method, renderer="json", permission=permission)

    view(list_vhosts, "vhosts", "GET", "read")
    view(add_vhost, "vhosts", "POST", "admin")
    view(remove_vhost, "vhost", "DELETE", "admin")
    view(mount_app, "app_mount", "PUT", "deploy")
    view(unmount_app, "app_mount", "DELETE", "deploy")
