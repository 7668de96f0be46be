"""An app's page and what can be done to it: start, stop, restart, reload, back up, restore a backup,
roll back to a chosen release, update by upload, and remove (after a confirmation page).

Each action calls :class:`~pyapp_server.manager.AppManager` as the JSON API does; long ones
become jobs, and the browser is sent to the job's page. A refused action comes back to the
app's page with the reason; a rollback or update refused for its data version (spec section 3.19)
with the whole of it, a link to restore the backup it names and, for a rollback, a button to roll
back anyway.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import ApiError
from ..manager import PROCESS_ACTIONS, AppManager
from ..uploads import flag_value, uploaded_package
from .pages import form_post, problems, see_other

__all__ = ["app_page", "includeme"]


def _apps(request: Request) -> AppManager:
    manager: AppManager = request.services.apps
    return manager


def app_page(request: Request, name: str, **extra: Any) -> dict[str, Any]:
    """What the app's page shows (*extra*: an error to show beside a form)."""
    manager = _apps(request)
    info = manager.show(name)
    files = request.services.files
    mounts = [m for m in request.services.web.routes()["mounts"] if m["app"] == name]
    return {
        "app": info,
        "releases": files.releases(name)["releases"],
        "backups": files.backups(name)["backups"],
        "mount": mounts[0] if mounts else None,
        "features": manager.features(),
        "reload": "reload" in PROCESS_ACTIONS,
        "events": [e.to_dict() for e in request.services.events.list(app=name, limit=8)],
        "jobs": [j.to_dict() for j in request.services.jobs.list(app=name, limit=5)],
        "update_error": None,
        "refusal": None,
        **extra,
    }


def _refusal(exc: AppPackageError, what: str, to: str | None = None) -> dict[str, Any] | None:
    """A refusal for the data version (409 ``data-version``) as the page shows it; ``None``: another error."""
    if not isinstance(exc, ApiError) or exc.code != "data-version":
        return None
    lines = str(exc).splitlines()
    return {"what": what, "lines": lines, "backup": exc.extra.get("backup"), "to": to or ""}


def show(request: Request) -> dict[str, Any]:
    return app_page(request, request.matchdict["name"])


def _job_page(request: Request, job: Any) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_path("ui.job", id=job.id))


def control(request: Request) -> Any:
    name, action = request.matchdict["name"], request.matchdict["action"]
    try:
        _apps(request).control(name, action, request.actor)
    except AppPackageError as exc:
        return see_other(request, "ui.app", f"{action} of {name}: {problems(exc)[0]}", error=True, name=name)
    past = {"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}[action]
    return see_other(request, "ui.app", f"{name} {past}.", name=name)


def backup(request: Request) -> Any:
    name = request.matchdict["name"]
    try:
        job = _apps(request).backup(name, request.actor)
    except AppPackageError as exc:
        return see_other(request, "ui.app", f"backup of {name}: {problems(exc)[0]}", error=True, name=name)
    return _job_page(request, job)


def rollback(request: Request) -> Any:
    """Roll back (``force``: even to a release of a lower data version); a refusal for the data version is
    shown whole on the app's page (409), any other one comes back as a message."""
    name = request.matchdict["name"]
    to = str(request.POST.get("to", "")).strip() or None
    try:
        force = flag_value(request.POST.get("force", ""), "force")
        job = _apps(request).rollback(name, request.actor, to=to, force=force, edge="ui")
    except AppPackageError as exc:
        refusal = _refusal(exc, "rollback", to)
        if refusal is not None:
            request.response.status = 409
            return app_page(request, name, refusal=refusal)
        return see_other(request, "ui.app", f"rollback of {name}: {problems(exc)[0]}", error=True, name=name)
    return _job_page(request, job)


def update(request: Request) -> Any:
    """An upload of the app's new package: its job's page, or the app's page with why not (4xx)."""
    name = request.matchdict["name"]
    try:
        received = uploaded_package(request)
        job = _apps(request).install(
            received.path, request.actor, expect=name, force=received.force, staged=received.staged,
            kind="update", trust_key=received.trust_key, edge="ui",
        )  # fmt: skip
    except AppPackageError as exc:
        from ..errors import classify

        message, found = problems(exc)
        request.response.status = classify(exc)[0]
        refusal = _refusal(exc, "update")
        if refusal is not None:
            return app_page(request, name, refusal=refusal)
        return app_page(request, name, update_error={"message": message, "errors": found})
    return _job_page(request, job)


def restore_form(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    wanted = str(request.GET.get("backup", ""))
    found = [b for b in request.services.files.backups(name)["backups"] if b["name"] == wanted]
    if not found:
        from pyramid.httpexceptions import HTTPNotFound

        raise HTTPNotFound()
    return {"app": _apps(request).show(name), "backup": found[0]}


def restore(request: Request) -> Any:
    name = request.matchdict["name"]
    backup = str(request.POST.get("backup", ""))
    try:
        job = request.services.files.restore(name, backup, request.actor)
    except AppPackageError as exc:
        return see_other(request, "ui.app", f"restoring {name}: {problems(exc)[0]}", error=True, name=name)
    return _job_page(request, job)


def remove_form(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    return {"app": _apps(request).show(name)}


def remove(request: Request) -> Any:
    name = request.matchdict["name"]
    try:
        job = _apps(request).remove(
            name, request.actor,
            keep_data=flag_value(request.POST.get("keep_data", ""), "keep_data"),
            backup=flag_value(request.POST.get("backup", ""), "backup"),
        )  # fmt: skip
    except AppPackageError as exc:
        return see_other(request, "ui.app", f"removing {name}: {problems(exc)[0]}", error=True, name=name)
    return _job_page(request, job)


def process_log(request: Request) -> dict[str, Any]:
    """The last lines a process of the app wrote (``?process=web&lines=100``), as
    ``GET /api/v1/apps/{name}/processes/{process}/log``; an unknown process is a 404 naming the others."""
    from ..appfiles import DEFAULT_LOG_LINES

    name = request.matchdict["name"]
    process = str(request.GET.get("process", "web")) or "web"
    try:
        lines = int(request.GET.get("lines", DEFAULT_LOG_LINES))
    except ValueError:
        lines = DEFAULT_LOG_LINES
    return {"app": _apps(request).show(name), **request.services.files.log(name, process, lines)}


def includeme(config: Configurator) -> None:
    config.add_route("ui.app", "/apps/{name}")
    config.add_route("ui.process_log", "/apps/{name}/log")
    config.add_route("ui.app_control", "/apps/{name}/{action:start|stop|restart|reload}")
    config.add_route("ui.restore", "/apps/{name}/restore")
    config.add_route("ui.backup", "/apps/{name}/backup")
    config.add_route("ui.rollback", "/apps/{name}/rollback")
    config.add_route("ui.update", "/apps/{name}/update")
    config.add_route("ui.remove", "/apps/{name}/remove")

    post = partial(form_post, config)

    config.add_view(show, route_name="ui.app", request_method="GET", renderer="app.jinja2", permission="read")
    config.add_view(
        process_log, route_name="ui.process_log", request_method="GET", renderer="process_log.jinja2",
        permission="deploy",
    )  # fmt: skip
    post(control, "ui.app_control", "deploy")
    post(backup, "ui.backup", "deploy")
    post(rollback, "ui.rollback", "deploy", renderer="app.jinja2")
    config.add_view(
        restore_form, route_name="ui.restore", request_method="GET", renderer="restore.jinja2",
        permission="admin",
    )  # fmt: skip
    post(restore, "ui.restore", "admin")  # as POST /api/v1/apps/{name}/restore: it replaces the app's data
    post(update, "ui.update", "deploy", renderer="app.jinja2")
    config.add_view(
        remove_form, route_name="ui.remove", request_method="GET", renderer="remove.jinja2",
        permission="admin",
    )  # fmt: skip
    post(remove, "ui.remove", "admin")
