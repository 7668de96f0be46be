"""API tokens (admins only): make one (its secret shown this once, on the page that answers the form,
never in a redirect, a cookie or the log), list them, revoke one. Through
:class:`~pyapp_server.tokenadmin.TokenAdmin`, as the JSON API; each change is an event.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import classify
from ..tokenadmin import TokenAdmin
from ..tokens import ROLES
from .pages import field_errors, problems, see_other

__all__ = ["includeme"]


def _tokens(request: Request) -> TokenAdmin:
    tokens: TokenAdmin = request.services.token_admin
    return tokens


def tokens_page(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "tokens": _tokens(request).list()["tokens"],
        "roles": ROLES,
        "created": None,
        "form": {},
        "errors": {},
        "message": None,
        **extra,
    }


def show(request: Request) -> dict[str, Any]:
    return tokens_page(request)


def create(request: Request) -> dict[str, Any]:
    typed = {"name": str(request.POST.get("name", "")), "role": str(request.POST.get("role", ""))}
    try:
        created = _tokens(request).create(typed, request.actor)
    except AppPackageError as exc:
        message, found = problems(exc)
        request.response.status = classify(exc)[0]
        errors = field_errors(found) or {("role" if "role" in message else "name"): message}
        return tokens_page(request, form=typed, errors=errors, message=message)
    request.response.status = 201
    return tokens_page(request, created=created)


def revoke(request: Request) -> Any:
    token_id = request.matchdict["id"]
    try:
        token = _tokens(request).revoke(token_id, request.actor)
    except AppPackageError as exc:
        return see_other(request, "ui.tokens", f"Not revoked: {problems(exc)[0]}", error=True)
    return see_other(request, "ui.tokens", f"Token {token['name']} ({token['role']}) was revoked.")


def includeme(config: Configurator) -> None:
    config.add_route("ui.tokens", "/tokens")
    config.add_route("ui.token_revoke", "/tokens/{id}/revoke")
    config.add_view(
        show, route_name="ui.tokens", request_method="GET", renderer="tokens.jinja2", permission="admin"
    )
    config.add_view(
        create, route_name="ui.tokens", request_method="POST", renderer="tokens.jinja2", permission="admin",
        require_csrf=True,
    )  # fmt: skip
    config.add_view(
        revoke, route_name="ui.token_revoke", request_method="POST", permission="admin", require_csrf=True
    )
