"""The methods of XML-RPC at ``/RPC2`` (:mod:`pyapp_server.xmlrpc`): each is a role, a function and its help.

Each function takes the server's parts and the caller's token, then the call's parameters; it checks
their types (400 or 422 naming the parameter), calls the same manager-level code as the JSON API view of
the same operation, and returns what that view returns (a long operation: the job).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .events import MAX_LIMIT
from .jobs import MAX_WAIT, STATES
from .tokens import Token
from .uploads import assignments, flag_value, server_package, trust_key_value

if TYPE_CHECKING:
    from .services import Services

__all__ = ["METHODS", "Method"]


Method = Callable[..., Any]
"""A method's function: the server's parts, the caller's token, then the call's parameters."""


def _options(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - allowed:
        raise ApiError(f"{where} must be a struct with only {', '.join(sorted(allowed))}", status=422)
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ApiError(f"{what} must be a string", status=400)
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(f"{what} must be a number", status=400)
    return float(value)


def _path(s: Services, caller: Token, value: Any) -> Path:
    return server_package(value, roots=s.settings.package_roots, admin=caller.role == "admin")


def _info(s: Services, caller: Token) -> dict[str, Any]:
    from apppackage import __version__

    return {
        "name": "pyapp-server",
        "version": __version__,
        "min_client_version": s.settings.min_client_version,
    }


_INSTALL_OPTIONS = {"force", "ignore_requirements", "settings", "services", "trust_key"}


def _install(s: Services, caller: Token, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, _INSTALL_OPTIONS, "options")
    return s.apps.install(
        _path(s, caller, path),
        caller.name,
        force=flag_value(opts.get("force", False), "force"),
        ignore_requirements=flag_value(opts.get("ignore_requirements", False), "ignore_requirements"),
        settings=assignments(opts.get("settings", [])),
        services=assignments(opts.get("services", []), "services", "NAME=VALUE"),
        trust_key=trust_key_value(opts.get("trust_key")),
        edge="xmlrpc",
    ).to_dict()


def _update(s: Services, caller: Token, name: str, path: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, _INSTALL_OPTIONS, "options")
    return s.apps.install(
        _path(s, caller, path),
        caller.name,
        expect=_text(name, "name"),
        kind="update",
        force=flag_value(opts.get("force", False), "force"),
        ignore_requirements=flag_value(opts.get("ignore_requirements", False), "ignore_requirements"),
        settings=assignments(opts.get("settings", [])),
        services=assignments(opts.get("services", []), "services", "NAME=VALUE"),
        trust_key=trust_key_value(opts.get("trust_key")),
        edge="xmlrpc",
    ).to_dict()


def _rollback(s: Services, caller: Token, name: Any, to: Any = None, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force"}, "options")
    target = None if to is None else _text(to, "to")
    force = flag_value(opts.get("force", False), "force")
    return s.apps.rollback(
        _text(name, "name"), caller.name, to=target or None, force=force, edge="xmlrpc"
    ).to_dict()


def _remove(s: Services, caller: Token, name: str, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"keep_data", "backup", "force"}, "options")
    return s.apps.remove(
        _text(name, "name"),
        caller.name,
        keep_data=flag_value(opts.get("keep_data", False), "keep_data"),
        backup=flag_value(opts.get("backup", False), "backup"),
        force=flag_value(opts.get("force", False), "force"),
    ).to_dict()


def _config_set(s: Services, caller: Token, name: str, values: Any, merge: bool = True) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ApiError("values must be a struct of setting names to values", status=422)
    return s.apps.set_config(_text(name, "name"), caller.name, values=values, merge=bool(merge))


def _config_preview(s: Services, caller: Token, name: str, values: Any, merge: bool = True) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ApiError("values must be a struct of setting names to values", status=422)
    return s.apps.preview_config(_text(name, "name"), values=values, merge=bool(merge))


def _events(s: Services, caller: Token, filters: Any = None) -> list[dict[str, Any]]:
    f = _options(filters, {"app", "kind", "limit", "before"}, "filters")
    for key in ("app", "kind"):
        if f.get(key) is not None:
            _text(f[key], key)
    before = f.get("before")
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ApiError("before must be an event id (an integer)", status=400)
    events = s.events.list(
        app=f.get("app"),
        kind=f.get("kind"),
        before=before,
        limit=max(0, min(int(_number(f.get("limit", 100), "limit")), MAX_LIMIT)),
    )
    return [e.to_dict() for e in events]


def _job(s: Services, caller: Token, job_id: Any, wait: Any = 0) -> dict[str, Any]:
    job = s.jobs.get(_text(job_id, "id"))
    seconds = max(0.0, min(_number(wait, "wait_seconds"), MAX_WAIT))
    if seconds and not job.done:
        job = s.jobs.wait(job.id, seconds)
    return job.to_dict()


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ApiError(f"{what} must be an array of strings", status=422)
    return list(value)


def _restore(s: Services, caller: Token, name: Any, backup: Any, options: Any = None) -> dict[str, Any]:
    opts = _options(options, {"force"}, "options")
    job = s.files.restore(
        _text(name, "name"), _text(backup, "backup"), caller.name,
        force=flag_value(opts.get("force", False), "force"),
    )  # fmt: skip
    return job.to_dict()


def _log(s: Services, caller: Token, name: Any, process: Any, lines: Any = None) -> dict[str, Any]:
    from .appfiles import DEFAULT_LOG_LINES, MAX_LOG_LINES

    count = DEFAULT_LOG_LINES if lines is None else int(_number(lines, "lines"))
    if not 1 <= count <= MAX_LOG_LINES:
        raise ApiError(f"lines must be a whole number from 1 to {MAX_LOG_LINES}", status=400)
    return s.files.log(_text(name, "name"), _text(process, "process"), count)


def _services_set(s: Services, caller: Token, name: Any, values: Any, unset: Any = None) -> dict[str, Any]:
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ApiError("values must be a struct of service names to values (strings)", status=422)
    names = [] if unset is None else _strings(unset, "unset")
    if not values and not names:
        raise ApiError("give values to set or names to unset (or both)", status=422)
    return s.apps.set_services(_text(name, "name"), caller.name, values=values, unset=names)


def _jobs(s: Services, caller: Token, filters: Any = None) -> list[dict[str, Any]]:
    f = _options(filters, {"app", "state", "limit"}, "filters")
    state = f.get("state")
    if state is not None and state not in STATES:
        raise ApiError(f"state must be one of {', '.join(STATES)}", status=400)
    app = None if f.get("app") is None else _text(f["app"], "app")
    limit = max(0, min(int(_number(f.get("limit", 50), "limit")), 1000))
    return [j.to_dict() for j in s.jobs.list(app=app, state=state, limit=limit)]


def _control(action: str) -> Method:
    def call(s: Services, caller: Token, name: Any) -> dict[str, Any]:
        return s.apps.control(_text(name, "name"), action, caller.name)

    return call


def _web(action: str) -> Method:
    def call(s: Services, caller: Token) -> dict[str, Any]:
        return s.web.control(action, caller.name)

    return call


def _struct(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(f"{what} must be a struct", status=422)
    return value


METHODS: dict[str, tuple[str, Method, str]] = {
    "pyapp.info": ("read", _info, "pyapp.info(): the server's version and the oldest client it serves."),
    "apps.list": ("read", lambda s, c: s.apps.list_apps(), "apps.list(): the installed apps."),
    "apps.show": (
        "read",
        lambda s, c, name: s.apps.show(_text(name, "name")),
        "apps.show(name): an app, its releases, processes.",
    ),
    "apps.install": (
        "deploy",
        _install,
        "apps.install(path[, {force, ignore_requirements, settings, services, trust_key}]): install a"
        " package; a job.",
    ),
    "apps.update": (
        "deploy",
        _update,
        "apps.update(name, path[, {force, ignore_requirements, settings, services, trust_key}]): update an"
        " app; a job (trust_key: re-pin it to the package's signer, SHA256:... or 'unsigned').",
    ),
    "apps.rollback": (
        "deploy",
        _rollback,
        "apps.rollback(name[, to[, {force}]]): go back to the previous release (or version to; '' or nil: the"
        " previous one); a job. force: even to a release of a lower data version than the data's.",
    ),
    "apps.remove": (
        "admin",
        _remove,
        "apps.remove(name[, {keep_data, backup, force}]): remove an app; a job.",
    ),
    "apps.backup": (
        "deploy",
        lambda s, c, name: s.apps.backup(_text(name, "name"), c.name).to_dict(),
        "apps.backup(name): a job.",
    ),
    "config.get": (
        "read",
        lambda s, c, name: s.apps.config(_text(name, "name")),
        "config.get(name): spec and values (masked).",
    ),
    "config.set": ("deploy", _config_set, "config.set(name, values[, merge]): validate and write values."),
    "config.preview": (
        "deploy",
        _config_preview,
        "config.preview(name, values[, merge]): what config.set would change and the file, masked; no write.",
    ),
    "events.list": ("read", _events, "events.list([{app, kind, limit, before}]): newest events first."),
    "jobs.get": ("read", _job, "jobs.get(id[, wait_seconds]): a job, after waiting for it to end."),
    "apps.start": ("deploy", _control("start"), "apps.start(name): start the app's processes."),
    "apps.stop": ("deploy", _control("stop"), "apps.stop(name): stop the app's processes gracefully."),
    "apps.restart": ("deploy", _control("restart"), "apps.restart(name): stop, then start its processes."),
    "apps.reload": (
        "deploy",
        _control("reload"),
        "apps.reload(name): new processes, with the configuration as it is, take over once healthy.",
    ),
    "apps.releases": (
        "read",
        lambda s, c, name: s.files.releases(_text(name, "name")),
        "apps.releases(name): the app's releases, the package each came from, their disk use.",
    ),
    "apps.backups": (
        "read",
        lambda s, c, name: s.files.backups(_text(name, "name")),
        "apps.backups(name): the app's backup archives, newest first.",
    ),
    "apps.restore": (
        "admin",
        _restore,
        "apps.restore(name, backup[, {force}]): restore data and configuration from a backup; a job.",
    ),
    "apps.log": (
        "deploy",
        _log,
        "apps.log(name, process[, lines]): the last lines (default 100, at most 1000) of a process's output.",
    ),
    "apps.mount": (
        "deploy",
        lambda s, c, name, vhost, prefix: s.web.mount(
            _text(name, "name"), {"vhost": vhost, "prefix": prefix}, c.name
        ),
        "apps.mount(name, vhost, prefix): mount the app on a virtual host at a path.",
    ),
    "apps.unmount": (
        "deploy",
        lambda s, c, name: s.web.unmount(_text(name, "name"), c.name),
        "apps.unmount(name): take the app off its virtual host.",
    ),
    "services.get": (
        "read",
        lambda s, c, name: s.apps.services(_text(name, "name")),
        "services.get(name): the services the app declares, values masked.",
    ),
    "services.set": (
        "deploy",
        _services_set,
        "services.set(name, values[, unset]): check and write service values, unset others.",
    ),
    "jobs.list": ("read", _jobs, "jobs.list([{app, state, limit}]): the newest jobs."),
    "vhosts.list": ("read", lambda s, c: s.web.routes(), "vhosts.list(): virtual hosts, mounts, web server."),
    "vhosts.add": (
        "admin",
        lambda s, c, vhost: s.web.add_vhost(_struct(vhost, "vhost"), c.name),
        "vhosts.add({name, port[, address, server_names, tls_certificate, tls_key]}): add or change one.",
    ),
    "vhosts.remove": (
        "admin",
        lambda s, c, name: s.web.remove_vhost(_text(name, "name"), c.name),
        "vhosts.remove(name): remove a virtual host no app is mounted on.",
    ),
    "web.status": (
        "read",
        lambda s, c: s.web.status(),
        "web.status(): the web server, its state and routes.",
    ),
    "web.apply": ("admin", _web("apply"), "web.apply(): render, test, swap in and reload the routes."),
    "web.start": ("admin", _web("start"), "web.start(): start the web server on the routes."),
    "web.stop": ("admin", _web("stop"), "web.stop(): stop the web server gracefully."),
    "host.status": (
        "read",
        lambda s, c: s.host.status(),
        "host.status(): supervisord, the web server, disk use and free space.",
    ),
    "host.settings": (
        "read",
        lambda s, c: s.host.settings(),
        "host.settings(): every host setting with its value, default, source and meaning.",
    ),
    "host.set_settings": (
        "admin",
        lambda s, c, changes: s.host.set_settings(_struct(changes, "changes"), c.name),
        "host.set_settings(changes): check, write and apply settings (nil: back to the default).",
    ),
    "tokens.list": ("admin", lambda s, c: s.token_admin.list()["tokens"], "tokens.list(): the tokens."),
    "tokens.create": (
        "admin",
        lambda s, c, role, name: s.token_admin.create({"role": role, "name": name}, c.name),
        "tokens.create(role, name): a new token; its secret is in the answer, this once.",
    ),
    "tokens.revoke": (
        "admin",
        lambda s, c, token_id: s.token_admin.revoke(_text(token_id, "id"), c.name),
        "tokens.revoke(id): refuse the token from now on.",
    ),
}
