"""Signing in with an API token, and out.

The token pasted in the form is checked like an API request's (:meth:`TokenStore.authenticate`),
then exchanged for a sign-in session (:func:`pyramid.security.remember`); the token itself is
never stored in the cookie nor shown again. Signing out ends the session on the server.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember

from .pages import see_other

__all__ = ["includeme", "local_path"]


def local_path(target: str | None) -> str:
    """*target* when it is a path on this server (where to go after signing in), else ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def signin_form(request: Request) -> dict[str, Any]:
    return {"next": local_path(request.GET.get("next")), "error": None}


def signin(request: Request) -> Any:
    secret = str(request.POST.get("token", "")).strip()
    token = request.services.tokens.authenticate(secret) if secret else None
    target = local_path(request.POST.get("next"))
    if token is None:
        request.response.status = 403
        return {
            "next": target,
            "error": "That is not a valid token: it may have been revoked, mistyped, or made by another "
            "server. Nothing was signed in.",
        }
    remember(request, token)
    request.services.events.record(
        "session", f"{token.name} ({token.role}) signed in to the web interface", actor=token.name
    )
    return HTTPSeeOther(target)


def signout(request: Request) -> Any:
    identity = request.identity
    forget(request)
    if identity is not None:
        request.services.events.record(
            "session", f"{identity.name} signed out of the web interface", actor=identity.name
        )
    return see_other(request, "ui.signin", "You are signed out.")


def includeme(config: Configurator) -> None:
    config.add_route("ui.signin", "/signin")
    config.add_route("ui.signout", "/signout")
    config.add_view(
        signin_form, route_name="ui.signin", request_method="GET", renderer="signin.jinja2",
        permission=NO_PERMISSION_REQUIRED,
    )  # fmt: skip
    config.add_view(
        signin, route_name="ui.signin", request_method="POST", renderer="signin.jinja2",
        permission=NO_PERMISSION_REQUIRED, require_csrf=True,
    )  # fmt: skip
    config.add_view(
        signout, route_name="ui.signout", request_method="POST", permission=NO_PERMISSION_REQUIRED,
        require_csrf=True,
    )  # fmt: skip
