"""What :class:`~pyapp_runtime.web.hostweb.HostWeb` reports, and the host's ``web_server`` setting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apppackage.errors import AppPackageError
from apppackage.safeyaml import load_yaml

from ..settings import SETTINGS_FILE, BadSettings
from ..webservers import KINDS, Mount, Routes, VirtualHost

__all__ = [
    "SETTING",
    "SETTINGS",
    "VARIABLE",
    "ServerState",
    "WebChange",
    "WebStatus",
    "mount_dict",
    "vhost_dict",
    "web_server_setting",
]

SETTING = "web_server"
VARIABLE = "PYAPP_WEB_SERVER"
SETTINGS = ("auto", "none", *KINDS)


def web_server_setting(home: Path, environ: Mapping[str, str] | None = None) -> str:
    """The host's ``web_server`` setting: ``$PYAPP_WEB_SERVER``, else ``host.yaml``, else ``none``."""
    value = (environ if environ is not None else os.environ).get(VARIABLE, "").strip().lower()
    source = f"${VARIABLE}"
    if not value:
        path = home / SETTINGS_FILE
        source = f"{path}:/{SETTING}"
        try:
            raw = load_yaml(path.read_text("utf-8"), str(path))
        except FileNotFoundError:
            raw = None
        except AppPackageError as exc:
            raise BadSettings(str(path), [str(exc)]) from None
        value = str(raw.get(SETTING) or "none") if isinstance(raw, dict) else "none"
    if value not in SETTINGS:
        raise BadSettings(source, [f"/{SETTING}: {value!r} must be one of {', '.join(SETTINGS)}"])
    return value


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
class WebChange:
    """What a change did: the virtual host or mount it concerns, whether the app was restarted."""

    action: str
    server: ServerState
    vhost: dict[str, Any] | None = None
    mount: dict[str, Any] | None = None
    restarted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "vhost": self.vhost,
            "mount": self.mount,
            "restarted": self.restarted,
            "server": self.server.to_dict(),
        }
