"""The body gate: refusing a request from its headers alone, before its body is read.

A server (:mod:`pyapp_server.listeners`) asks :meth:`BodyGate.check` once a request's
headers have arrived and before it reads the body. When the app would refuse the request
whatever its body says — no such resource or method, no valid token, a role that may not
do it, a body announced larger than its limit (:func:`pyapp_server.bodies.body_limit`) —
the server does not read the body: it hands the app the request with an empty body and
the :class:`Verdict` in ``environ[VERDICT]``, the tween here answers it (404, 405, 401,
403, 413: the API's JSON errors; a fault on ``/RPC2``), and the server throws away what
the client still sends, unstored, then closes the connection.

The tween also asks the gate itself when no server did (an app served by another WSGI
server, or under WebTest), so that the answers are the same everywhere.

A request to the web interface carries no token but a session cookie: the gate reads the
sign-in session it names (:func:`pyapp_server.auth.signed_in`), and its refusals are
answered by the interface's own error pages (the app's exception views) instead of JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPForbidden, HTTPMethodNotAllowed, HTTPNotFound
from pyramid.interfaces import IDefaultPermission, IRoutesMapper
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, Denied

from .auth import allowed, bearer_secret, refusal, session_path, signed_in
from .bodies import body_limit, too_large
from .errors import error_body, error_response
from .tokens import Token

__all__ = ["VERDICT", "BodyGate", "Verdict", "gate_of", "includeme"]

VERDICT = "pyapp.gate"
"""The WSGI environ key under which a server leaves the gate's :class:`Verdict` for the app."""
XMLRPC_ROUTE = "xmlrpc"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What the gate says of a request: read its body (at most *limit* bytes), or answer *refusal*."""

    limit: int
    upload: bool = False
    refusal: str | None = None
    """``None`` (read the body), or why not: ``no-route``, ``no-method``, ``unauthorized``,
    ``forbidden``, ``too-large``."""
    route: str | None = None
    permission: str | None = None
    length: int | None = None


class BodyGate:
    """Decides from a request's method, path and headers, with the app's own routes, views and tokens."""

    def __init__(self, registry: Registry) -> None:
        self._routes = registry.getUtility(IRoutesMapper).get_routes()
        default = registry.queryUtility(IDefaultPermission)
        self._permissions: dict[tuple[str, str], Any] = {}
        for item in registry.introspector.get_category("views"):
            view = item["introspectable"]
            if view["route_name"] is None:
                continue
            methods = view["request_methods"] or ("*",)
            if isinstance(methods, str):
                methods = (methods,)
            given = [r["value"] for r in item["related"] if r.category_name == "permissions"]
            permission = given[0] if given else default
            for method in methods:
                self._permissions[(view["route_name"], method)] = permission
                if method == "GET":  # a GET view answers HEAD too
                    self._permissions.setdefault((view["route_name"], "HEAD"), permission)
        self._services = registry["pyapp.services"]
        self._registry = registry

    def check(
        self,
        method: str,
        path: str,
        *,
        content_type: str,
        authorization: str | None,
        length: int | None,
        cookie: str | None = None,
    ) -> Verdict:
        """The verdict on a request; *length* is its announced ``Content-Length`` (``None``: chunked),
        *cookie* its ``Cookie`` header (a sign-in session, for the web interface's paths)."""
        settings = self._services.settings
        limit, upload = body_limit(content_type, settings.max_upload_size)
        route = next((r for r in self._routes if r.match(path) is not None), None)
        if route is None:
            return Verdict(limit=limit, upload=upload, refusal="no-route")
        permission = self._permissions.get((route.name, method), self._permissions.get((route.name, "*")))
        if permission is None:
            return Verdict(limit=limit, upload=upload, refusal="no-method", route=route.name)
        if permission != NO_PERMISSION_REQUIRED:
            token = self._identify(path, authorization, cookie)
            if not allowed(token, permission, settings):
                why = "unauthorized" if token is None else "forbidden"
                return Verdict(
                    limit=limit, upload=upload, refusal=why, route=route.name, permission=permission
                )
        if length is not None and length > limit:
            return Verdict(limit=limit, upload=upload, refusal="too-large", route=route.name, length=length)
        return Verdict(limit=limit, upload=upload, route=route.name)

    def _identify(self, path: str, authorization: str | None, cookie: str | None) -> Token | None:
        """Who asks: the bearer of a token, or on the web interface's paths the browser signed in."""
        if authorization is None and cookie and session_path(path):
            request = Request.blank(path, headers={"Cookie": cookie})
            request.registry = self._registry
            return signed_in(request, self._services.sessions)
        token: Token | None = self._services.tokens.peek(bearer_secret(authorization))
        return token


def gate_of(registry: Registry) -> BodyGate:
    """The gate of the app whose registry is *registry* (made once)."""
    gate: BodyGate | None = registry.get("pyapp.body_gate")
    if gate is None:
        gate = registry["pyapp.body_gate"] = BodyGate(registry)
    return gate


def _has_body(environ: Mapping[str, Any]) -> bool:
    return environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ


def answer(request: Request, verdict: Verdict) -> Response:
    """The response to a request the gate refused (its body unread, or read and ignored)."""
    if session_path(request.path_info):
        return _page(request, verdict)
    if verdict.refusal == "no-route":
        return error_response(
            404, "not-found", f"no such resource: {request.path} (see /api/v1/openapi.json)"
        )
    if verdict.refusal == "no-method":
        return error_response(405, "method-not-allowed", f"{request.method} is not allowed on {request.path}")
    if verdict.refusal in ("unauthorized", "forbidden"):
        return refusal(request, str(verdict.permission))
    error = too_large(verdict.limit, upload=verdict.upload, length=verdict.length)
    if verdict.route == XMLRPC_ROUTE:
        from .xmlrpc import fault_response

        return fault_response(413, str(error))
    body = error_body(error)
    return Response(json_body=body, status=413, charset="utf-8")


def _page(request: Request, verdict: Verdict) -> Response:
    """A refusal on the web interface's paths, answered by the exception view its error would get."""
    error: Exception
    if verdict.refusal == "no-route":
        error = HTTPNotFound()
    elif verdict.refusal == "no-method":
        error = HTTPMethodNotAllowed()
    elif verdict.refusal in ("unauthorized", "forbidden"):
        denied = Denied(f"refused before its body was read: {verdict.refusal}")
        denied.permission = verdict.permission  # read back by the forbidden views
        error = HTTPForbidden(result=denied)
    else:
        error = too_large(verdict.limit, upload=verdict.upload, length=verdict.length)
    response: Response = request.invoke_exception_view((type(error), error, None))
    return response


def gate_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    gate = gate_of(registry)

    def gate_tween(request: Request) -> Response:
        verdict: Verdict | None = request.environ.get(VERDICT)
        if verdict is None and _has_body(request.environ):
            verdict = gate.check(
                request.method,
                request.path_info,
                content_type=request.content_type or "",
                authorization=request.headers.get("Authorization"),
                length=request.content_length,
                cookie=request.headers.get("Cookie"),
            )
        if verdict is None or verdict.refusal is None:
            return handler(request)
        return answer(request, verdict)

    return gate_tween


def includeme(config: Configurator) -> None:
    """Answer what the gate refuses (the servers ask it before reading bodies; see the module)."""
    config.add_tween("pyapp_server.gate.gate_tween_factory")
