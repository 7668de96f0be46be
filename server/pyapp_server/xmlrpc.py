"""XML-RPC at ``/RPC2``: the core operations of the JSON API, with the same tokens and roles.

The token comes in the ``Authorization`` header (Bearer, or HTTP Basic with the token
as the password: ``ServerProxy("http://any:TOKEN@127.0.0.1:6543/RPC2")``); without that
header, every call's first parameter is the token. Long operations return the job
(poll it with ``jobs.get(id, wait_seconds)``). Errors are faults whose code is the
HTTP status the JSON API would answer (401, 403, 404, 409, 422...) and whose string is
the message followed by every problem, one per line. ``nil`` is used for missing values.

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
import os
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
from .errors import ApiError, classify, error_body, error_text
from .events import MAX_LIMIT
from .jobs import MAX_WAIT
from .services import Services
from .tokens import Token
from .uploads import flag_value

__all__ = ["METHODS", "includeme"]

log = logging.getLogger("pyapp_server.xmlrpc")

MAX_BODY = 1024 * 1024
_INT_MAX = 2**31 - 1


def _options(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - allowed:
        raise ApiError(f"{where} must be a struct with only {', '.join(sorted(allowed))}", status=422)
    return value


def _path(value: Any) -> Path:
    if not isinstance(value, str) or not os.path.isabs(value):
        raise ApiError("path must be an absolute path of a package on the server", status=422)
    if not os.path.exists(value):
        raise ApiError(f"{value}: no such file on the server", status=422)
    return Path(value)


def _info(s: Services, actor: str) -> dict[str, Any]:
    from apppackage import __version__

    return {
        "name": "pyapp-server",
        "version": __version__,
        "min_client_version": s.settings.min_client_version,
    }


def _install(s: Services, actor: str, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force", "settings", "services"}, "options")
    return s.apps.install(
        _path(path),
        actor,
        force=flag_value(opts.get("force", False), "force"),
        settings=tuple(opts.get("settings", ())),
        services=tuple(opts.get("services", ())),
    ).to_dict()


def _update(s: Services, actor: str, name: str, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force", "settings", "services"}, "options")
    return s.apps.install(
        _path(path),
        actor,
        expect=name,
        kind="update",
        force=flag_value(opts.get("force", False), "force"),
        settings=tuple(opts.get("settings", ())),
        services=tuple(opts.get("services", ())),
    ).to_dict()


def _remove(s: Services, actor: str, name: str, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"keep_data", "backup", "force"}, "options")
    return s.apps.remove(
        name,
        actor,
        keep_data=flag_value(opts.get("keep_data", False), "keep_data"),
        backup=flag_value(opts.get("backup", False), "backup"),
        force=flag_value(opts.get("force", False), "force"),
    ).to_dict()


def _config_set(s: Services, actor: str, name: str, values: Any, merge: bool = True) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ApiError("values must be a struct of setting names to values", status=422)
    return s.apps.set_config(name, actor, values=values, merge=bool(merge))


def _events(s: Services, actor: str, filters: Any = None) -> list[dict[str, Any]]:
    f = _options(filters, {"app", "kind", "limit", "before"}, "filters")
    events = s.events.list(
        app=f.get("app"),
        kind=f.get("kind"),
        before=f.get("before"),
        limit=min(int(f.get("limit", 100)), MAX_LIMIT),
    )
    return [e.to_dict() for e in events]


def _job(s: Services, actor: str, job_id: str, wait: float = 0) -> dict[str, Any]:
    job = s.jobs.get(job_id)
    if wait and not job.done:
        job = s.jobs.wait(job_id, min(float(wait), MAX_WAIT))
    return job.to_dict()


Method = Callable[..., Any]
METHODS: dict[str, tuple[str, Method, str]] = {
    "pyapp.info": ("read", _info, "pyapp.info(): the server's version and the oldest client it serves."),
    "apps.list": ("read", lambda s, a: s.apps.list_apps(), "apps.list(): the installed apps."),
    "apps.show": (
        "read",
        lambda s, a, name: s.apps.show(name),
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
        lambda s, a, name, to=None: s.apps.rollback(name, a, to=to).to_dict(),
        "apps.rollback(name[, to]): go back to the previous release (or version to); a job.",
    ),
    "apps.remove": (
        "admin",
        _remove,
        "apps.remove(name[, {keep_data, backup, force}]): remove an app; a job.",
    ),
    "apps.backup": (
        "deploy",
        lambda s, a, name: s.apps.backup(name, a).to_dict(),
        "apps.backup(name): a job.",
    ),
    "config.get": (
        "read",
        lambda s, a, name: s.apps.config(name),
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


def _authorize(
    request: Request, params: tuple[Any, ...], permission: str
) -> tuple[Token | None, tuple[Any, ...]]:
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
    actor = token.name if token is not None else "anonymous"
    try:
        return func(services, actor, *params)
    except TypeError as exc:
        if "positional argument" in str(exc):
            raise ApiError(f"{method}: wrong number of parameters ({_help})", status=400) from None
        raise


def rpc(request: Request) -> Response:
    if (request.content_length or 0) > MAX_BODY:
        body = _fault(413, f"the call is larger than {MAX_BODY} bytes")
    else:
        try:
            params, method = xmlrpc.client.loads(request.body, use_builtin_types=True)
        except Exception as exc:  # noqa: BLE001 (expat and the unmarshaller raise many kinds)
            body = _fault(400, f"not an XML-RPC call: {exc}")
        else:
            try:
                result = _dispatch(request, str(method), params)
                body = xmlrpc.client.dumps(
                    (_marshallable(result),), methodresponse=True, allow_none=True
                ).encode()
            except AppPackageError as exc:
                body = _fault_for(exc)
            except Exception as exc:
                log.error("XML-RPC %s failed", method, exc_info=exc)
                body = _fault(500, "internal server error (the server's log has the details)")
    return Response(body=body, content_type="text/xml", charset="utf-8")


def includeme(config: Configurator) -> None:
    """``POST /RPC2`` (authorization is checked per method: see :data:`METHODS`)."""
    config.add_view(rpc, route_name="xmlrpc", request_method="POST", permission=NO_PERMISSION_REQUIRED)
