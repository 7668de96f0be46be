"""Authentication by API token, authorization by role (see :mod:`pyapp_server.tokens`).

A request carries its token as ``Authorization: Bearer <secret>`` (or HTTP Basic
with the token as the password, which XML-RPC clients send from a URL's
``user:token@``). Views need a permission: ``read`` (viewer), ``deploy``
(deployer) or ``admin``; every view that changes something needs a token, on
loopback too. Reads without a token are allowed only when ``open_reads`` is set
and the server listens on loopback or a unix socket. ``GET /api/v1/info`` and
``/api/v1/openapi.json`` are open to all (version negotiation and discovery).

Refusals are JSON: 401 without a valid token (with ``WWW-Authenticate``), 403
when the token's role does not allow the operation.

The web interface's pages (every path outside ``/api/`` and ``/RPC2``) also take the
token a browser signed in with: a sign-in session (:mod:`pyapp_server.sessions`) whose id
the session cookie holds, opened by :func:`pyramid.security.remember` with the token and
closed by :func:`pyramid.security.forget`. The API never reads that cookie.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from pyramid.config import Configurator
from pyramid.interfaces import ISessionFactory
from pyramid.request import Request, RequestLocalCache
from pyramid.response import Response
from pyramid.security import Allowed, Denied

from .bodies import json_object
from .errors import error_response
from .settings import ServerSettings
from .tokenadmin import TokenAdmin
from .tokens import ROLES, Token

if TYPE_CHECKING:
    from .sessions import SessionStore

__all__ = [
    "SESSION_KEY",
    "SESSION_PATHS",
    "TokenSecurityPolicy",
    "allowed",
    "bearer_secret",
    "includeme",
    "refusal",
    "roles_allowed",
    "session_path",
    "signed_in",
]

_NEEDS = {"read": "viewer", "deploy": "deployer", "admin": "admin"}
SESSION_PATHS = r"^/(?!api(?:/|$)|RPC2$)"
"""The paths of the web interface (a regular expression): everything but the API and XML-RPC."""
SESSION_KEY = "pyapp.session"
"""Where the session cookie keeps the id of its sign-in session."""
_SESSION_PATH = re.compile(SESSION_PATHS)


def roles_allowed(permission: str) -> list[str]:
    """The roles whose tokens may do what needs *permission*, the least first."""
    role = _NEEDS.get(permission, "admin")
    return [r for r in ROLES if ROLES.index(r) >= ROLES.index(role)]


def session_path(path: str) -> bool:
    """Whether *path* belongs to the web interface, whose requests a sign-in session authenticates."""
    return _SESSION_PATH.match(path) is not None


def signed_in(request: Request, sessions: SessionStore) -> Token | None:
    """The token *request*'s sign-in session stands for (``None``: none, ended, or its token revoked)."""
    if request.registry.queryUtility(ISessionFactory) is None:
        return None
    session_id = request.session.get(SESSION_KEY)
    return sessions.token_of(session_id) if isinstance(session_id, str) else None


def bearer_secret(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header value (Bearer, Token or Basic), or ``None``."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "token"):
        return value.strip() or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def allowed(token: Token | None, permission: str, settings: ServerSettings) -> bool:
    """Whether a request with *token* (``None``: none, or not valid) may do what needs *permission*."""
    if token is None:
        return permission == "read" and settings.open_reads and settings.loopback
    return token.allows(permission)


class TokenSecurityPolicy:
    """Pyramid's security policy for API tokens (each request's token is looked up once)."""

    def __init__(self) -> None:
        self._cache = RequestLocalCache(self._load_identity)

    def identity(self, request: Request) -> Token | None:
        token: Token | None = self._cache.get_or_create(request)
        return token

    def _load_identity(self, request: Request) -> Token | None:
        authorization = request.headers.get("Authorization")
        if authorization is None and session_path(request.path_info):
            return signed_in(request, request.services.sessions)
        secret = bearer_secret(authorization)
        if secret is None:
            return None
        token: Token | None = request.services.tokens.authenticate(secret)
        return token

    def authenticated_userid(self, request: Request) -> str | None:
        identity = request.identity
        return identity.id if identity is not None else None

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        identity: Token | None = request.identity
        if allowed(identity, permission, request.services.settings):
            return Allowed("open reads on loopback" if identity is None else f"role {identity.role}")
        denied = Denied("no valid token" if identity is None else f"role {identity.role} lacks {permission}")
        denied.permission = permission  # read back by the forbidden view
        return denied

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[tuple[str, str]]:
        """Sign a browser in as the :class:`Token` *userid*: a new session, in a session cookie of its own."""
        self.forget(request)
        request.session[SESSION_KEY] = request.services.sessions.open(userid)
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """Sign a browser out: its session ends, and its cookie forgets everything else it held."""
        session_id = request.session.get(SESSION_KEY)
        if isinstance(session_id, str):
            request.services.sessions.close(session_id)
        request.session.invalidate()
        return []


def _actor(request: Request) -> str:
    identity: Token | None = request.identity
    return identity.name if identity is not None else "anonymous"


def forbidden(request: Request) -> Response:
    """The forbidden view: :func:`refusal` for the permission the view needed."""
    needed = getattr(request.exception, "result", None)
    return refusal(request, str(getattr(needed, "permission", None) or "read"))


def refusal(request: Request, permission: str) -> Response:
    """401 without a (valid) token, 403 when the token's role is not enough for *permission*."""
    identity: Token | None = request.identity
    role = _NEEDS.get(permission, "admin")
    if identity is None:
        if request.headers.get("Authorization"):
            message = "the token is not valid (revoked, mistyped or from another server)"
        else:
            message = (
                f"this needs a token with the role {role} or higher: send 'Authorization: Bearer <token>' "
                "(pyapp-server token create --role ROLE --name NAME makes one)"
            )
        response = error_response(401, "unauthorized", message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="pyapp"'
        return response
    roles = roles_allowed(permission)
    return error_response(
        403,
        "forbidden",
        f"token {identity.name!r} has the role {identity.role}; {request.method} {request.path} "
        f"needs {' or '.join(roles)}",
    )


# -- token management (admin) ------------------------------------------------------


def _tokens(request: Request) -> TokenAdmin:
    admin: TokenAdmin = request.services.token_admin
    return admin


def list_tokens(request: Request) -> dict[str, Any]:
    return _tokens(request).list()


def create_token(request: Request) -> dict[str, Any]:
    new = _tokens(request).create(json_object(request), request.actor)
    request.response.status = 201
    return new


def revoke_token(request: Request) -> dict[str, Any]:
    return _tokens(request).revoke(request.matchdict["id"], request.actor)


def includeme(config: Configurator) -> None:
    """The security policy, ``request.actor``, JSON refusals, and ``/api/v1/tokens``."""
    config.set_security_policy(TokenSecurityPolicy())
    config.set_default_permission("read")
    config.add_request_method(_actor, "actor", reify=True)
    config.add_forbidden_view(forbidden)
    config.add_view(
        list_tokens, route_name="tokens", request_method="GET", renderer="json", permission="admin"
    )
    config.add_view(
        create_token, route_name="tokens", request_method="POST", renderer="json", permission="admin"
    )
    config.add_view(
        revoke_token, route_name="token", request_method="DELETE", renderer="json", permission="admin"
    )
