"""What every page shares: the names templates get, messages shown once, redirects, errors beside
fields, and the headers every response carries.

Responses forbid framing and content sniffing everywhere; the web interface's pages also get a
Content-Security-Policy that lets scripts, styles and requests come from the server alone (no
inline script or ``on*`` attribute runs) and ``Cache-Control: no-store`` (a signed-in page is
not kept).
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender, NewResponse
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid_jinja2 import EXTRAS_CONFIG_PHASE  # type: ignore[import-untyped]

from apppackage import __version__

from ..auth import allowed, session_path
from ..errors import error_body

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PERMISSIONS",
    "field_errors",
    "form_post",
    "includeme",
    "may",
    "problems",
    "see_other",
    "when",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PERMISSIONS = ("read", "deploy", "admin")


def may(request: Request, permission: str) -> bool:
    """Whether *request*'s sign-in allows what needs *permission* (``read``, ``deploy``, ``admin``)."""
    return allowed(request.identity, permission, request.services.settings)


def see_other(request: Request, route: str, message: str = "", *, error: bool = False, **kw: Any) -> Any:
    """A 303 to the page of *route* (its ``_query`` and parts in *kw*), showing *message* there once."""
    if message:
        request.session.flash(message, "error" if error else "info")
    return HTTPSeeOther(request.route_path(route, **kw))


def form_post(
    config: Configurator, view: Any, route: str, permission: str, renderer: str | None = None
) -> None:
    """Add *view* as the POST of a form of *route*: allowed to *permission*, with the form's CSRF token."""
    config.add_view(
        view, route_name=route, request_method="POST", permission=permission, require_csrf=True,
        renderer=renderer,
    )  # fmt: skip


def problems(exc: BaseException) -> tuple[str, list[dict[str, Any]]]:
    """What a page tells of an error: its message and every problem (as the API reports them)."""
    body = error_body(exc)
    return str(body["error"]["message"]), list(body["errors"])


def field_errors(found: list[dict[str, Any]]) -> dict[str, str]:
    """Each field's problems as one text, for the message beside it."""
    out: dict[str, str] = {}
    for p in found:
        if p.get("field"):
            name = str(p["field"])
            out[name] = f"{out[name]}; {p['message']}" if name in out else str(p["message"])
    return out


def when(iso: str | None) -> str:
    """An ISO 8601 time in UTC as pages show it: ``2024-05-01 12:30:05 UTC``."""
    if not iso:
        return ""
    return iso.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"


def size(count: int | None) -> str:
    """A number of bytes for people: ``12.3 MiB``."""
    if count is None:
        return ""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _names(event: BeforeRender) -> None:
    """The names every template gets: who is signed in, what they may do, the CSRF token."""
    if not str(event.get("renderer_name", "")).endswith(".jinja2"):
        return
    request: Request = event["request"]
    event["identity"] = request.identity
    event["can"] = {p: may(request, p) for p in PERMISSIONS}
    event["csrf_token"] = get_csrf_token(request)
    event["version"] = __version__


def _headers(event: NewResponse) -> None:
    headers = event.response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if session_path(event.request.path_info):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if not event.request.path_info.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
    else:
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")


def _environment(config: Configurator) -> None:
    import jinja2

    env = config.get_jinja2_environment()
    env.undefined = jinja2.StrictUndefined
    env.trim_blocks = env.lstrip_blocks = True
    env.filters.update(when=when, size=size)


def includeme(config: Configurator) -> None:
    """Templates from ``templates/``, the names they get, ``/static/``, and the headers."""
    config.add_jinja2_search_path("pyapp_server.ui:templates", name=".jinja2")
    config.action(None, lambda: _environment(config), order=EXTRAS_CONFIG_PHASE + 1)
    config.add_subscriber(_names, BeforeRender)
    config.add_subscriber(_headers, NewResponse)
    config.add_static_view(
        "static", "pyapp_server.ui:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
