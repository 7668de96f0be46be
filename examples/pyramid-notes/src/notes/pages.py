"""HTML pages. Every value that reaches the page goes through :func:`esc`; every link is built
by Pyramid (``route_url``, ``static_url``), so it carries the mount prefix (``SCRIPT_NAME``)."""

from __future__ import annotations

import html
import time
from typing import Any

__all__ = ["esc", "render", "when"]

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def esc(value: object) -> str:
    """*value* as text safe in HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def render(request: Any, title: str, body: str, status: int = 200) -> Any:
    """The response for a page: *body* (already escaped HTML) inside the site's layout."""
    settings = request.notes_settings
    css = request.static_url(f"{settings.static_dir}/notes.css")
    flashes = "".join(f'<p class="flash">{esc(m)}</p>' for m in request.session.pop_flash())
    contact = (
        f'<a href="mailto:{esc(settings.admin_email)}">{esc(settings.admin_email)}</a>'
        if settings.admin_email
        else ""
    )
    home = esc(request.route_url("home"))
    page = (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)} · {esc(settings.site_title)}</title>"
        f'<link rel="stylesheet" href="{esc(css)}"></head>\n'
        f'<body class="theme-{esc(settings.theme)}">'
        f'<header><a class="site" href="{home}">{esc(settings.site_title)}</a></header>\n'
        f"<main>{flashes}{body}</main>\n"
        f"<footer>{contact}</footer></body></html>\n"
    )
    response = request.response
    response.status_int = status
    response.content_type = "text/html"
    response.charset = "utf-8"
    response.text = page
    response.headers.update(_HEADERS)
    return response
