"""The host's web part for the API, XML-RPC and the web interface: the web server, virtual hosts, mounts.

:class:`WebAdmin` goes through the host's :class:`~pyapp_runtime.web.hostweb.HostWeb`, the same code as
``pyapp web``, ``pyapp vhost`` and ``pyapp mount``: every change is applied to the host's web server at
once. A request's fields are checked here (422 naming each one); a conflicting mount answers 409 naming
the app that holds the URLs, an invalid virtual host or prefix 422 naming the value at fault. Each change,
and each refusal of one, is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

from .errors import ApiError
from .events import EventLog

if TYPE_CHECKING:
    from pyapp_runtime.web.hostweb import HostWeb

    from .manager import AppManager

__all__ = ["WEB_ACTIONS", "WebAdmin", "check_fields"]

WEB_ACTIONS = ("apply", "start", "stop")
_PAST = {"apply": "applied", "start": "started", "stop": "stopped"}
Check = Callable[[Any], bool]


def _problem(key: str, message: str) -> dict[str, Any]:
    return {"field": key, "path": f"/{key}", "message": message}


def check_fields(
    data: Mapping[str, Any], required: Mapping[str, Check], optional: Mapping[str, Check] | None = None
) -> None:
    """Refuse (422, every problem) *data* with a key not in *required* or *optional*, a required key missing,
    or a value its check refuses (an optional ``None`` stands for the key left out)."""
    optional = optional or {}
    problems = [_problem(k, "unknown property") for k in sorted(set(data) - set(required) - set(optional))]
    for key, valid in required.items():
        if key not in data:
            problems.append(_problem(key, "is required"))
        elif not valid(data[key]):
            problems.append(_problem(key, "has the wrong type"))
    for key, valid in optional.items():
        if data.get(key) is not None and not valid(data[key]):
            problems.append(_problem(key, "has the wrong type"))
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)


def _port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class WebAdmin:
    """The web part of the host of *apps*; changes are recorded in *events*."""

    def __init__(self, apps: AppManager, events: EventLog) -> None:
        self.apps = apps
        self.events = events

    def web(self) -> HostWeb:
        return self.apps.web()

    # -- the web server ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The web server (``pyapp web status``): the setting, its kind, whether it runs (pid), its live
        configuration, and how many virtual hosts and mounts it serves."""
        status = self.web().status()
        return {**status.server.to_dict(), "vhosts": len(status.vhosts), "mounts": len(status.mounts)}

    def control(self, action: str, actor: str) -> dict[str, Any]:
        """``pyapp web apply``, ``start`` or ``stop``; then :meth:`status`.

        ``start`` and ``stop`` need a web server (409 when the setting is ``none``, or ``auto`` found none).
        """
        if action not in WEB_ACTIONS:
            raise ApiError(f"{action!r} is not one of {', '.join(WEB_ACTIONS)}", status=404, code="not-found")
        web = self.web()
        if action != "apply" and web.server() is None:
            raise ApiError(web.state().message, status=409, code="no-web-server")
        try:
            state = getattr(web, action)()
        except AppPackageError as exc:
            self.events.record(
                "web",
                f"web server {action} failed: {str(exc).splitlines()[0]}",
                outcome="failed",
                actor=actor,
            )
            raise
        what = state.kind or "the routing table"
        self.events.record("web", f"{what} {_PAST[action]}" + (f" (pid {state.pid})" if state.pid else ""),
                           actor=actor)  # fmt: skip
        return self.status()

    # -- virtual hosts and mounts ------------------------------------------------------------

    def routes(self) -> dict[str, Any]:
        """The virtual hosts, the mounts and the web server (``pyapp vhost list``)."""
        status: dict[str, Any] = self.web().status().to_dict()
        return status

    def add_vhost(self, data: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Add a virtual host (``name``, ``port``; ``address``, ``server_names``, ``tls_certificate``,
        ``tls_key``) or change the one of that name, and apply it."""
        check_fields(
            data, {"name": _text, "port": _port},
            {"address": _text, "server_names": _names, "tls_certificate": _text, "tls_key": _text},
        )  # fmt: skip
        web = self.web()
        return self._changing(
            "vhost", None, actor,
            lambda: web.add_vhost(
                data["name"], port=data["port"], address=data.get("address") or "127.0.0.1",
                server_names=tuple(data.get("server_names") or ()),
                tls_certificate=data.get("tls_certificate"), tls_key=data.get("tls_key"),
            ),
        )  # fmt: skip

    def remove_vhost(self, name: str, actor: str) -> dict[str, Any]:
        web = self.web()
        if name not in web.store.load().vhosts:
            raise ApiError(
                f"there is no virtual host {name!r} (see: GET /api/v1/vhosts)", status=404, code="not-found"
            )
        return self._changing("vhost", None, actor, lambda: web.remove_vhost(name))

    def mount(self, app: str, data: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Mount installed *app* on ``vhost`` at ``prefix`` (or move it there)."""
        check_fields(data, {"vhost": _text, "prefix": _text})
        self.apps.host().release(app)  # NoSuchApp (404) when it is not installed
        web = self.web()
        return self._changing("mount", app, actor, lambda: web.mount(app, data["vhost"], data["prefix"]))

    def unmount(self, app: str, actor: str) -> dict[str, Any]:
        web = self.web()
        if app not in web.store.load().mounts:
            raise ApiError(
                f"app {app!r} is not mounted (see: GET /api/v1/vhosts)", status=404, code="not-found"
            )
        return self._changing("mount", app, actor, lambda: web.unmount(app))

    def _changing(self, kind: str, app: str | None, actor: str, work: Callable[[], Any]) -> dict[str, Any]:
        """Run a change, turning the routing table's refusals into 409/422 and recording an event."""
        from pyapp_runtime.webservers import InvalidRoute, MountConflict

        try:
            result: dict[str, Any] = work().to_dict()
        except MountConflict as exc:
            self.events.record(kind, str(exc), app=app, outcome="failed", actor=actor)
            raise ApiError(
                str(exc), status=409, code="mount-conflict",
                errors=[{"field": "prefix", "path": exc.where, "message": exc.message}],
                extra={"holder": exc.holder, "vhost": exc.vhost, "path": exc.path},
            ) from exc  # fmt: skip
        except InvalidRoute as exc:
            self.events.record(kind, str(exc), app=app, outcome="failed", actor=actor)
            field = exc.where.rsplit(":", 1)[-1].strip("/").split("/")[-1] or None
            raise ApiError(
                str(exc), status=422, code="invalid-route",
                errors=[{"field": field, "path": exc.where, "message": exc.message}],
            ) from exc  # fmt: skip
        subject = result["mount"] or result["vhost"] or {}
        self.events.record(
            kind, f"{result['action']} {subject.get('app') or subject.get('name')}", app=app, actor=actor
        )
        return result
