"""XML-RPC at ``/RPC2``: the operations of the JSON API, with the same tokens and roles.

The token comes in the ``Authorization`` header (Bearer, or HTTP Basic with the token
as the password: ``ServerProxy("http://any:TOKEN@127.0.0.1:6543/RPC2")``); without that
header, every call's first parameter is the token. Long operations return the job
(poll it with ``jobs.get(id, wait_seconds)``). Errors are faults whose code is the
HTTP status the JSON API would answer (401, 403, 404, 409, 413, 422...) and whose string is
the message followed by every problem, one per line. ``nil`` is used for missing values.
A call may be :data:`~pyapp_server.bodies.MAX_BODY` bytes and nest arrays and structs
:data:`~pyapp_server.bodies.MAX_DEPTH` deep; a larger or deeper one gets a fault (413, 400)
naming the limit. ``apps.install`` and ``apps.update`` read packages only from the drop
folder and the upload directory (as ``POST /api/v1/apps`` with a path); their options are the API's
(``force``, ``ignore_requirements``, ``settings``, ``services``).

Methods (``system.listMethods`` lists them; ``system.methodHelp`` explains each; the functions are in
:mod:`pyapp_server.xmlrpc_methods`)::

    pyapp.info()                                            apps.list()
    apps.show(name)                                         apps.install(path[, {force, settings, ...}])
    apps.update(name, path[, {force, settings, ...}])       apps.rollback(name[, to[, {force}]])
    apps.remove(name[, {keep_data, backup, force}])         apps.backup(name)
    apps.start(name)  apps.stop(name)  apps.restart(name)   apps.reload(name)
    apps.releases(name)                                     apps.backups(name)
    apps.restore(name, backup[, {force}])                   apps.log(name, process[, lines])
    apps.mount(name, vhost, prefix)                         apps.unmount(name)
    config.get(name)                                        config.set(name, values[, merge])
    services.get(name)                                      services.set(name, values[, unset])
    vhosts.list()                                           vhosts.add({name, port, ...})
    vhosts.remove(name)                                     web.status()
    web.apply()  web.start()  web.stop()                    host.status()
    host.settings()                                         host.set_settings(changes)
    tokens.list()                                           tokens.create(role, name)
    tokens.revoke(id)                                       events.list([{app, kind, limit, before}])
    jobs.get(id[, wait_seconds])                            jobs.list([{app, state, limit}])
"""

from __future__ import annotations

import logging
import xmlrpc.client
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from apppackage.errors import AppPackageError

from .auth import bearer_secret
from .bodies import MAX_BODY, MAX_DEPTH, deeper_than, read_body, too_deep
from .errors import ApiError, classify, error_body, error_text
from .services import Services
from .tokens import Token
from .xmlrpc_methods import METHODS

__all__ = ["METHODS", "fault_response", "includeme"]

log = logging.getLogger("pyapp_server.xmlrpc")

_INT_MAX = 2**31 - 1


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
