"""An app's place behind the host's web server (``$PYAPP_HOME/webservers``), as its daemons see it.

The routing table (:class:`~pyapp_runtime.webservers.RouteStore`) may mount an app under
a path prefix on a virtual host. Its daemons then serve under that prefix (waitress's
``url_prefix``, ``SCRIPT_NAME``; an ASGI scope's ``root_path``), and the health check asks for the
prefixed path with the virtual host's name. Only :mod:`pyapp_runtime.web` changes the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..layout import HostLayout
from ..webservers import Mount, RouteStore, Upstream, asgi_daemon_options, daemon_options

__all__ = ["Placement", "placement"]

_LISTEN_KEYS = ("unix_socket", "unix_socket_perms", "host", "port")


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where an app is served: its mount path (``""`` at a site's root), a host name to ask for."""

    mount_path: str = ""
    host: str = "localhost"
    mounted: bool = False
    vhost: str = "local"

    def server_options(
        self, app: str, upstream: Upstream, *, socket_perms: str | None, asgi: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(where to listen, the server's other settings)`` for a daemon of *app* listening at *upstream*:
        waitress's settings, or for an *asgi* daemon its ``mount_path`` and ``uvicorn`` settings."""
        mount = Mount(app=app, vhost=self.vhost, prefix=self.mount_path or "/", upstream=upstream)
        make = asgi_daemon_options if asgi else daemon_options
        options = make(mount, socket_perms=socket_perms)
        settings = {k: v for k, v in options.items() if k not in _LISTEN_KEYS}
        if upstream.socket is not None:
            listen: dict[str, Any] = {"unix": upstream.socket, "perms": options["unix_socket_perms"]}
        else:
            listen = {"host": options["host"], "port": options["port"]}
        return listen, settings


def placement(host: HostLayout, app: str) -> Placement:
    """Where *app* is mounted in the host's routing table (at no mount: the root, ``localhost``)."""
    routes = RouteStore(host.webservers).load()
    mount = routes.mounts.get(app)
    if mount is None:
        return Placement()
    vhost = routes.vhosts.get(mount.vhost)
    names = [n for n in (vhost.server_names if vhost else ()) if "*" not in n]
    return Placement(
        mount_path="" if mount.prefix == "/" else mount.prefix,
        host=names[0] if names else "localhost",
        mounted=True,
        vhost=mount.vhost,
    )
