"""What :class:`~pyapp_runtime.web.hostweb.HostWeb` reports: the web server, the routing table, a change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..webservers import Mount, Routes, VirtualHost

__all__ = [
    "RouteCheck",
    "ServerState",
    "WebChange",
    "WebStatus",
    "mount_dict",
    "vhost_dict",
]


@dataclass(frozen=True, kw_only=True)
class ServerState:
    """The host's web server: the setting, the kind it chose, whether it runs, and what that means."""

    setting: str
    kind: str | None = None
    running: bool = False
    pid: int | None = None
    config: str | None = None
    message: str = ""

    @property
    def serving(self) -> bool:
        return self.running

    def to_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "kind": self.kind,
            "running": self.running,
            "pid": self.pid,
            "config": self.config,
            "message": self.message,
        }


def vhost_dict(routes: Routes, vhost: VirtualHost) -> dict[str, Any]:
    host = vhost.server_names[0] if vhost.server_names else vhost.listen.rsplit(":", 1)[0]
    port = "" if vhost.port == (443 if vhost.tls else 80) else f":{vhost.port}"
    return {
        "name": vhost.name,
        "address": vhost.address,
        "port": vhost.port,
        "server_names": list(vhost.server_names),
        "tls": vhost.tls,
        "tls_certificate": vhost.tls_certificate,
        "tls_key": vhost.tls_key,
        "url": f"{vhost.scheme}://{host}{port}/",
        "mounts": [m.app for m in routes.mounts_on(vhost.name)],
    }


def mount_dict(routes: Routes, mount: Mount) -> dict[str, Any]:
    return {
        "app": mount.app,
        "vhost": mount.vhost,
        "prefix": mount.prefix,
        "upstream": None if mount.upstream is None else str(mount.upstream),
        "static": [{"url": s.url, "directory": s.directory} for s in mount.static],
        "url": routes.url(mount.app),
    }


@dataclass(frozen=True, kw_only=True)
class WebStatus:
    """The routing table and the web server (``pyapp web status``, ``pyapp vhost list``)."""

    server: ServerState
    vhosts: tuple[dict[str, Any], ...] = ()
    mounts: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server.to_dict(), "vhosts": list(self.vhosts), "mounts": list(self.mounts)}


@dataclass(frozen=True, kw_only=True)
class RouteCheck:
    """Whether a mount is served through the web server (see :mod:`pyapp_runtime.web.verify`).

    ``outcome`` is ``verified`` (it answered healthily), ``unverified`` (it could not be asked:
    the app is not running, or a static-only app has no file to ask for) or ``failed``;
    ``detail`` says what was asked and how it answered, or why it could not be asked.
    """

    app: str
    url: str
    outcome: str
    detail: str

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "url": self.url,
            "verified": self.verified,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(frozen=True, kw_only=True)
class WebChange:
    """What a change did: the virtual host or mount it concerns, whether the app was restarted, and
    whether each mount it moved is served through the web server (``checks``; none without a
    running web server)."""

    action: str
    server: ServerState
    vhost: dict[str, Any] | None = None
    mount: dict[str, Any] | None = None
    restarted: bool = False
    checks: tuple[RouteCheck, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON; ``checks`` only when there are some (a web server served the change)."""
        out: dict[str, Any] = {
            "action": self.action,
            "vhost": self.vhost,
            "mount": self.mount,
            "restarted": self.restarted,
            "server": self.server.to_dict(),
        }
        if self.checks:
            out["checks"] = [c.to_dict() for c in self.checks]
        return out
