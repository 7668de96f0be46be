"""The host's settings (``host.yaml``): each with its value, default, where it comes from and what it
means; admins change them with a form, checked as a whole and applied through
:class:`~pyapp_server.hostadmin.HostAdmin` as ``PUT /api/v1/host/settings`` does (which web server serves
the routes among them). Settings made of several values (``limits``, ``apps``) are shown, and changed
with ``pyapp settings`` or the API.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import classify
from ..hostadmin import HostAdmin
from .pages import field_errors, problems, see_other

__all__ = ["FORM_TYPES", "includeme"]

FORM_TYPES = ("boolean", "choice", "integer", "range", "mode")
"""The types of setting the form changes (the others are shown only)."""


def _host(request: Request) -> HostAdmin:
    host: HostAdmin = request.services.host
    return host


def _page(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "settings": _host(request).settings()["settings"],
        "form_types": FORM_TYPES,
        "typed": {},
        "errors": {},
        "message": None,
        **extra,
    }


def show(request: Request) -> dict[str, Any]:
    return _page(request)


def _asked(setting: dict[str, Any], post: Any) -> tuple[bool, Any]:
    """Whether the form changes *setting*, and to what (``None``: back to its default)."""
    key, kind, value = setting["key"], setting["type"], setting["value"]
    if kind == "boolean":
        new: Any = key in post
    else:
        text = str(post.get(key, "")).strip()
        if text == "":
            new = None
        elif kind == "integer" and text.lstrip("-").isdigit():
            new = int(text)
        else:
            new = text
    if new is None:
        return setting["file_value"] is not None, None
    return new != value, new


def change(request: Request) -> Any:
    settings = _host(request).settings()["settings"]
    patch = {}
    for setting in settings:
        if setting["type"] == "boolean" or (setting["type"] in FORM_TYPES and setting["key"] in request.POST):
            changed, new = _asked(setting, request.POST)
            if changed:
                patch[setting["key"]] = new
    if not patch:
        return see_other(request, "ui.host", "Nothing was changed: the settings are as they were.")
    try:
        result = _host(request).set_settings(patch, request.actor)
    except AppPackageError as exc:
        message, found = problems(exc)
        request.response.status = classify(exc)[0]
        typed = {k: str(v) for k, v in request.POST.items() if k != "csrf_token"}
        return _page(request, typed=typed, errors=field_errors(found), message=message)
    told = f"Host settings changed: {', '.join(result['changed']) or 'nothing'}."
    if result.get("web_server"):
        told += f" {result['web_server']['message']}"
    if result.get("reload"):
        told += f" Reload {', '.join(result['reload'])} for their processes to run by them."
    return see_other(request, "ui.host", told)


def includeme(config: Configurator) -> None:
    config.add_route("ui.host", "/host")
    config.add_view(
        show, route_name="ui.host", request_method="GET", renderer="host.jinja2", permission="read"
    )
    config.add_view(
        change, route_name="ui.host", request_method="POST", renderer="host.jinja2", permission="admin",
        require_csrf=True,
    )  # fmt: skip
