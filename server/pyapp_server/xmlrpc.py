"""XML-RPC at ``/RPC2``: the core operations of the JSON API, with the same tokens and roles.

The token comes in the ``Authorization`` header (Bearer, or HTTP Basic with the token
as the password: ``ServerProxy("http://any:TOKEN@127.0.0.1:6543/RPC2")``); without that
header, every call's first parameter is the token. Long operations return the job
(poll it with ``jobs.get(id, wait_seconds)``). Errors are faults whose code is the
HTTP status the JSON API would answer (401, 403, 404, 409, 413, 422...) and whose string is
the message followed by every problem, one per line. ``nil`` is used for missing values.
A call may be :data:`~pyapp_server.bodies.MAX_BODY` bytes and nest arrays and structs
:data:`~pyapp_server.bodies.MAX_DEPTH` deep; a larger or deeper one gets a fault (413, 400)
naming the limit. ``apps.install`` and ``apps.update`` read packages only from the drop
folder and the upload directory (as ``POST /api/v1/apps`` with a path).

Methods (``system.listMethods`` lists them; ``system.methodHelp`` explains each)::

    pyapp.info()                                            apps.list()
    apps.show(name)                                         apps.install(path[, {force, settings, services}])
    apps.update(name, path[, {force, settings, services}])  apps.rollback(name[, to])
    apps.remove(name[, {keep_data, backup, force}])         apps.backup(name)
    config.get(name)                                        config.set(name, values[, merge])
    events.list([{app, kind, limit, before}])               jobs.get(id[, wait_seconds])
"""

from __future__ import annotations

import logging
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from apppackage.errors import AppPackageError

from .auth import bearer_secret
from .bodies import MAX_BODY, MAX_DEPTH, deeper_than, read_body, too_deep
from .errors import ApiError, classify, error_body, error_text
from .events import MAX_LIMIT
from .jobs import MAX_WAIT
from .services import Services
from .tokens import Token
from .uploads import assignments, flag_value, server_package

__all__ = ["METHODS", "fault_response", "includeme"]

log = logging.getLogger("pyapp_server.xmlrpc")

_INT_MAX = 2**31 - 1


def _options(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - allowed:
        raise ApiError(f"{where} must be a struct with only {', '.join(sorted(allowed))}", status=422)
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ApiError(f"{what} must be a string", status=400)
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(f"{what} must be a number", status=400)
    return float(value)


def _path(s: Services, caller: Token, value: Any) -> Path:
    return server_package(value, roots=s.settings.package_roots, admin=caller.role == "admin")


def _info(s: Services, caller: Token) -> dict[str, Any]:
    from apppackage import __version__

    return {
        "name": "pyapp-server",
        "version": __version__,
        "min_client_version": s.settings.min_client_version,
    }


def _install(s: Services, caller: Token, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force", "settings", "services"}, "options")
    return s.apps.install(
        _path(s, caller, path),
        caller.name,
        force=flag_value(opts.get("force", False), "force"),
        settings=assignments(opts.get("settings", [])),
        services=assignments(opts.get("services", []), "services", "NAME=VALUE"),
    ).to_dict()


def _update(s: Services, caller: Token, name: str, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force", "settings", "services"}, "options")
    return s.apps.install(
        _path(s, caller, path),
        caller.name,
        expect=_text(name, "name"),
        kind="update",
        force=flag_value(opts.get("force", False), "force"),
        settings=assignments(opts.get("settings", [])),
        services=assignments(opts.get("services", []), "services", "NAME=VALUE"),
    ).to_dict()


def _remove(s: Services, caller: Token, name: str, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"keep_data", "backup", "force"}, "options")
    return s.apps.remove(
        _text(name, "name"),
        caller.name,
        keep_data=flag_value(opts.get("keep_data", False), "keep_data"),
        backup=flag_value(opts.get("backup", False), "backup"),
        force=flag_value(opts.get("force", False), "force"),
    ).to_dict()


def _config_set(s: Services, caller: Token, name: str, values: Any, merge: bool = True) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ApiError("values must be a struct of setting names to values", status=422)
    return s.apps.set_config(_text(name, "name"), caller.name, values=values, merge=bool(merge))


def _events(s: Services, caller: Token, filters: Any = None) -> list[dict[str, Any]]:
    f = _options(filters, {"app", "kind", "limit", "before"}, "filters")
    for key in ("app", "kind"):
        if f.get(key) is not None:
            _text(f[key], key)
    before = f.get("before")
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ApiError("before must be an event id (an integer)", status=400)
    events = s.events.list(
        app=f.get("app"),
        kind=f.get("kind"),
        before=before,
        limit=max(0, min(int(_number(f.get("limit", 100), "limit")), MAX_LIMIT)),
    )
    return [e.to_dict() for e in events]


def _job(s: Services, caller: Token, job_id: Any, wait: Any = 0) -> dict[str, Any]:
    job = s.jobs.get(_text(job_id, "id"))
    seconds = max(0.0, min(_number(wait, "wait_seconds"), MAX_WAIT))
    if seconds and not job.done:
        job = s.jobs.wait(job.id, seconds)
    return job.to_dict()


Method = Callable[..., Any]
METHODS: dict[str, tuple[str, Method, str]] = {
    "pyapp.info": ("read", _info, "pyapp.info(): the server's version and the oldest client it serves."),
    "apps.list": ("read", lambda s, c: s.apps.list_apps(), "apps.list(): the installed apps."),
    "apps.show": (
        "read",
        lambda s, c, name: s.apps.show(_text(name, "name")),
        "apps.show(name): an app, its releases, processes.",
    ),
    "apps.install": (
        "deploy",
        _install,
        "apps.install(path[, {force, settings, services}]): install a package; a job.",
    ),
    "apps.update": (
        "deploy",
        _update,
        "apps.update(name, path[, {force, settings, services}]): update an app; a job.",
    ),
    "apps.rollback": (
        "deploy",
        lambda s, c, name, to=None: s.apps.rollback(
            _text(name, "name"), c.name, to=None if to is None else _text(to, "to")
        ).to_dict(),
        "apps.rollback(name[, to]): go back to the previous release (or version to); a job.",
    ),
    "apps.remove": (
        "admin",
        _remove,
        "apps.remove(name[, {keep_data, backup, force}]): remove an app; a job.",
    ),
    "apps.backup": (
        "deploy",
        lambda s, c, name: s.apps.backup(_text(name, "name"), c.name).to_dict(),
        "apps.backup(name): a job.",
    ),
    "config.get": (
        "read",
        lambda s, c, name: s.apps.config(_text(name, "name")),
        "config.get(name): spec and values (masked).",
    ),
    "config.set": ("deploy", _config_set, "config.set(name, values[, merge]): validate and write values."),
    "events.list": ("read", _events, "events.list([{app, kind, limit, before}]): newest events first."),
    "jobs.get": ("read", _job, "jobs.get(id[, wait_seconds]): a job, after waiting for it to end."),
}


def _marshallable(value: Any) -> Any:
    """*value* with what XML-RPC cannot carry made carriable (big integers become doubles)."""
    if isinstance(value, dict):
        return {str(k): _marshallable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_marshallable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT_MAX - 1 <= value <= _INT_MAX:
        return float(value)
    return value


def _fault(status: int, message: str) -> bytes:
    return xmlrpc.client.dumps(
        xmlrpc.client.Fault(status, message), methodresponse=True, allow_none=True
    ).encode()


def _fault_for(exc: BaseException) -> bytes:
    status, _code = classify(exc)
    body = error_body(exc)
    return _fault(status, error_text(body["error"]["message"], body["errors"]))


def _authorize(request: Request, params: tuple[Any, ...], permission: str) -> tuple[Token, tuple[Any, ...]]:
    services: Services = request.services
    header = bearer_secret(request.headers.get("Authorization"))
    if header is None:
        if not params or not isinstance(params[0], str):
            raise ApiError("send the token in the Authorization header or as the first parameter", status=401)
        secret, params = params[0], params[1:]
    else:
        secret = header
    token = services.tokens.authenticate(secret)
    if token is None:
        raise ApiError("the token is not valid (revoked, mistyped or from another server)", status=401)
    if not token.allows(permission):
        raise ApiError(
            f"token {token.name!r} has the role {token.role}, which may not {permission}", status=403
        )
    return token, params


def _dispatch(request: Request, method: str, params: tuple[Any, ...]) -> Any:
    services: Services = request.services
    if method == "system.listMethods":
        return sorted([*METHODS, "system.listMethods", "system.methodHelp"])
    if method == "system.methodHelp":
        entry = METHODS.get(str(params[0]) if params else "")
        return entry[2] if entry else ""
    entry = METHODS.get(method)
    if entry is None:
        raise ApiError(f"no method {method!r} (see system.listMethods)", status=404)
    permission, func, _help = entry
    token, params = _authorize(request, params, permission)
    try:
        return func(services, token, *params)
    except TypeError as exc:
        if "positional argument" in str(exc):
            raise ApiError(f"{method}: wrong number of parameters ({_help})", status=400) from None
        raise


def fault_response(status: int, message: str) -> Response:
    """An XML-RPC fault (*status* as its code) as the HTTP response XML-RPC clients expect."""
    return Response(body=_fault(status, message), content_type="text/xml", charset="utf-8")


def _call(request: Request) -> tuple[tuple[Any, ...], str]:
    """The parameters and method of the call the request carries (bounded in size and depth)."""
    raw = read_body(request, MAX_BODY)
    try:
        params, method = xmlrpc.client.loads(raw, use_builtin_types=True)
    except RecursionError:
        raise too_deep() from None
    except Exception as exc:  # noqa: BLE001 (expat and the unmarshaller raise many kinds)
        raise ApiError(f"not an XML-RPC call: {exc}") from None
    if deeper_than(params, MAX_DEPTH + 1):  # the parameters' tuple is one level
        raise too_deep()
    return params, str(method)


def rpc(request: Request) -> Response:
    method = "?"
    try:
        params, method = _call(request)
        result = _dispatch(request, method, params)
        body = xmlrpc.client.dumps((_marshallable(result),), methodresponse=True, allow_none=True).encode()
    except AppPackageError as exc:
        body = _fault_for(exc)
    except Exception as exc:
        log.error("XML-RPC %s failed", method, exc_info=exc)
        body = _fault(500, "internal server error (the server's log has the details)")
    return Response(body=body, content_type="text/xml", charset="utf-8")


def includeme(config: Configurator) -> None:
    """``POST /RPC2`` (authorization is checked per method: see :data:`METHODS`)."""
    config.add_view(rpc, route_name="xmlrpc", request_method="POST", permission=NO_PERMISSION_REQUIRED)
