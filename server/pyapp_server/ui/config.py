"""An app's configuration and services: forms, a confirmation showing each change, then the change.

The configuration form is made from the app's spec (:mod:`.configform`). A submitted form is
checked by :meth:`AppManager.preview_config`, the check :meth:`AppManager.set_config` makes:
every problem comes back beside its field and nothing is saved. A valid one is shown before it
is saved: each change, old and new side by side, and the file the app would read, secrets masked.
The change itself waits on the server (:mod:`.pending`) until it is confirmed, then goes through
:meth:`AppManager.set_config` (a running app reads it in new processes). Services go the same
way, their values masked, through :meth:`AppManager.set_services`.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import classify
from ..manager import AppManager
from .configform import form_fields, read_form
from .pages import field_errors, problems, see_other
from .pending import Pending

__all__ = ["includeme"]


def _apps(request: Request) -> AppManager:
    manager: AppManager = request.services.apps
    return manager


def _pending(request: Request) -> Pending:
    pending: Pending = request.registry["pyapp.ui.pending"]
    return pending


def _form(request: Request, name: str, typed: Any = None, **extra: Any) -> dict[str, Any]:
    config = _apps(request).config(name)
    return {
        "name": name,
        "config": config,
        "fields": form_fields(config["fields"], config["values"], typed),
        "errors": {},
        "message": None,
        "message_ok": None,
        "problems": [],
        **extra,
    }


def _refused(
    request: Request, exc: AppPackageError, name: str, typed: Any, found: list[Any]
) -> dict[str, Any]:
    message, more = problems(exc)
    request.response.status = classify(exc)[0]
    every = found + more
    return _form(request, name, typed, errors=field_errors(every), message=message, problems=every)


def show_config(request: Request) -> dict[str, Any]:
    return _form(request, request.matchdict["name"])


def check_config(request: Request) -> dict[str, Any]:
    """A submitted form: the form again with every problem, or the confirmation of the change."""
    name = request.matchdict["name"]
    config = _apps(request).config(name)
    asked, found = read_form(config["fields"], config["values"], request.POST)
    try:
        preview = _apps(request).preview_config(name, values=asked)
    except AppPackageError as exc:
        return _refused(request, exc, name, request.POST, found)
    if found:
        request.response.status = 422
        message = f"the configuration of {name} is not valid:"
        return _form(request, name, request.POST, errors=field_errors(found), message=message, problems=found)
    if not preview["changes"]:
        request.override_renderer = "config.jinja2"
        return _form(request, name, message_ok="Nothing was changed: the values are as they were.")
    request.override_renderer = "config_confirm.jinja2"
    change = _pending(request).put(request.identity.id, f"config:{name}", asked)
    return {"name": name, "preview": preview, "change": change}


def save_config(request: Request) -> Any:
    name = request.matchdict["name"]
    asked = _pending(request).take(str(request.POST.get("change", "")), request.identity.id, f"config:{name}")
    if asked is None:
        return see_other(
            request, "ui.config", "That change has expired or was saved already: nothing was saved.",
            error=True, name=name,
        )  # fmt: skip
    try:
        result = _apps(request).set_config(name, request.actor, values=asked)
    except AppPackageError as exc:
        request.override_renderer = "config.jinja2"
        return _refused(request, exc, name, None, [])
    changed = ", ".join(result["changed"]) or "nothing"
    return see_other(
        request, "ui.app", f"The configuration of {name} was saved (changed: {changed}).", name=name
    )


# -- services ---------------------------------------------------------------------------------


def _services(request: Request, name: str, **extra: Any) -> dict[str, Any]:
    info = _apps(request).services(name)
    return {
        "name": name,
        "info": info,
        "errors": {},
        "message": None,
        "message_ok": None,
        "problems": [],
        **extra,
    }


def show_services(request: Request) -> dict[str, Any]:
    return _services(request, request.matchdict["name"])


def check_services(request: Request) -> dict[str, Any]:
    """The services form: what would change (values masked), to be confirmed; or the form again."""
    from pyapp_runtime.appconfig.services import mask

    name = request.matchdict["name"]
    declared = [s["name"] for s in _apps(request).services(name)["services"]]
    values = {s: str(request.POST.get(f"set-{s}", "")) for s in declared if request.POST.get(f"set-{s}")}
    unset = [s for s in declared if request.POST.get(f"unset-{s}") and s not in values]
    if not values and not unset:
        return _services(request, name, message_ok="Nothing was changed: no new value was given.")
    request.override_renderer = "services_confirm.jinja2"
    changes = [{"service": s, "new": mask(v)} for s, v in values.items()]
    changes += [{"service": s, "new": None} for s in unset]
    change = _pending(request).put(request.identity.id, f"services:{name}", (values, unset))
    return {"name": name, "changes": changes, "change": change}


def save_services(request: Request) -> Any:
    name = request.matchdict["name"]
    asked = _pending(request).take(
        str(request.POST.get("change", "")), request.identity.id, f"services:{name}"
    )
    if asked is None:
        return see_other(
            request, "ui.services", "That change has expired or was saved already: nothing was saved.",
            error=True, name=name,
        )  # fmt: skip
    values, unset = asked
    try:
        result = _apps(request).set_services(name, request.actor, values=values, unset=unset)
    except AppPackageError as exc:
        message, found = problems(exc)
        request.response.status = classify(exc)[0]
        request.override_renderer = "services.jinja2"
        return _services(request, name, errors=field_errors(found), message=message, problems=found)
    changed = ", ".join(result["changed"]) or "nothing"
    return see_other(
        request, "ui.services", f"The services of {name} were saved (changed: {changed}).", name=name
    )


def includeme(config: Configurator) -> None:
    config.registry["pyapp.ui.pending"] = Pending()
    config.add_route("ui.config", "/apps/{name}/config")
    config.add_route("ui.config_save", "/apps/{name}/config/save")
    config.add_route("ui.services", "/apps/{name}/services")
    config.add_route("ui.services_save", "/apps/{name}/services/save")

    def view(func: Any, route: str, method: str, renderer: str, permission: str) -> None:
        config.add_view(
            func, route_name=route, request_method=method, renderer=renderer, permission=permission,
            require_csrf=method == "POST",
        )  # fmt: skip

    view(show_config, "ui.config", "GET", "config.jinja2", "read")
    view(check_config, "ui.config", "POST", "config.jinja2", "deploy")
    view(save_config, "ui.config_save", "POST", "config.jinja2", "deploy")
    view(show_services, "ui.services", "GET", "services.jinja2", "read")
    view(check_services, "ui.services", "POST", "services.jinja2", "deploy")
    view(save_services, "ui.services_save", "POST", "services.jinja2", "deploy")
