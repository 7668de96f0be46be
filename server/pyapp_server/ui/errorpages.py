"""The web interface's error pages: what its paths answer instead of the API's JSON errors.

A page that needs a sign-in sends a browser without one to the sign-in page (and back
afterwards); a role that does not allow an action gets a 403 page naming the role it needs;
a form without its CSRF token, or with another session's, gets a 400 page; the library's
errors get the status the API would give, with every problem; anything else a 500 page
(the details go to the server's log only).
"""

from __future__ import annotations

import logging
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken, PredicateMismatch
from pyramid.httpexceptions import HTTPException, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response

from apppackage.errors import AppPackageError

from ..auth import SESSION_PATHS, roles_allowed
from ..errors import classify
from .pages import problems

__all__ = ["error_page", "includeme"]

log = logging.getLogger("pyapp_server")


def error_page(
    request: Request, status: int, title: str, message: str, errors: list[dict[str, Any]] | None = None
) -> Response:
    """A page telling what went wrong, with *status*."""
    response: Response = render_to_response(
        "error.jinja2",
        {"status": status, "title": title, "message": message, "errors": errors or []},
        request=request,
    )
    response.status = status
    return response


def _forbidden(request: Request) -> Response:
    identity = request.identity
    if identity is None:
        if request.method in ("GET", "HEAD"):
            return HTTPSeeOther(request.route_path("ui.signin", _query={"next": request.path_qs}))
        return error_page(
            request, 401, "Signed out",
            "Your session has ended (or you never signed in), so nothing was done: sign in and try again.",
        )  # fmt: skip
    needed = getattr(getattr(request.exception, "result", None), "permission", None) or "admin"
    roles = " or ".join(roles_allowed(str(needed)))
    return error_page(
        request, 403, "Not allowed",
        f"You are signed in as {identity.name}, whose role is {identity.role}; this needs {roles}. "
        "Nothing was done.",
    )  # fmt: skip


def _http_error(exc: HTTPException, request: Request) -> Response:
    if exc.code is not None and exc.code < 400:
        return exc  # a redirect
    if isinstance(exc, (BadCSRFToken, BadCSRFOrigin)):
        return error_page(
            request, 400, "Form expired",
            "This form was not sent from a page of this server in your current session (it may have "
            "been open since before you signed in again), so nothing was done. Go back, reload the page "
            "and try again.",
        )  # fmt: skip
    if isinstance(exc, PredicateMismatch):
        return error_page(request, 405, "Not allowed", f"{request.method} is not allowed on {request.path}.")
    if exc.code == 404:
        return error_page(request, 404, "Not found", f"There is no page at {request.path}.")
    return error_page(request, exc.code or 500, exc.title or "Error", str(exc.detail or exc.explanation))


def _app_error(exc: AppPackageError, request: Request) -> Response:
    status, _code = classify(exc)
    message, found = problems(exc)
    return error_page(request, status, "Not done", message, found)


def _internal_error(exc: Exception, request: Request) -> Response:
    log.error("internal error on %s %s", request.method, request.path, exc_info=exc)
    return error_page(
        request, 500, "Server error", "Something went wrong on the server; its log has the details."
    )


def includeme(config: Configurator) -> None:
    """Error pages for the web interface's paths (the API keeps its JSON errors)."""
    config.add_forbidden_view(_forbidden, path_info=SESSION_PATHS)
    config.add_exception_view(_http_error, context=HTTPException, path_info=SESSION_PATHS)
    config.add_exception_view(_app_error, context=AppPackageError, path_info=SESSION_PATHS)
    config.add_exception_view(_internal_error, context=Exception, path_info=SESSION_PATHS)
