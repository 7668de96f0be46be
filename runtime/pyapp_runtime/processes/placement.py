"""An app's place behind the host's web server (``$PYAPP_HOME/webservers``), as its daemons see it.

The routing table (:class:`~pyapp_runtime.webservers.RouteStore`) may mount an app under
a path prefix on a virtual host. Its daemons then serve under that prefix (waitress's
``url_prefix``, ``SCRIPT_NAME``), and the health check asks for the prefixed path with
the virtual host's name. When the address the web server must use changes (a new
release's port), the mount's upstream is updated and a running web server reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..webservers import (
    KINDS,
    Mount,
    RouteStore,
    Upstream,
    WebServer,
    daemon_options,
    find_installation,
)

__all__ = ["WEBSERVERS_DIR", "Placement", "placement", "route_to"]

WEBSERVERS_DIR = "webservers"
_LISTEN_KEYS = ("unix_socket", "unix_socket_perms", "host", "port")


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where an app is served: its mount path (``""`` at a site's root), a host name to ask for."""

    mount_path: str = ""
    host: str = "localhost"
    mounted: bool = False
    vhost: str = "local"

    def waitress_options(
        self, app: str, upstream: Upstream, *, socket_perms: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(where to listen, other waitress settings)`` for a daemon of *app* listening at *upstream*."""
        mount = Mount(app=app, vhost=self.vhost, prefix=self.mount_path or "/", upstream=upstream)
        options = daemon_options(mount, socket_perms=socket_perms)
        settings = {k: v for k, v in options.items() if k not in _LISTEN_KEYS}
        if upstream.socket is not None:
            listen: dict[str, Any] = {"unix": upstream.socket, "perms": options["unix_socket_perms"]}
        else:
            listen = {"host": options["host"], "port": options["port"]}
        return listen, settings


def placement(home: Path, app: str) -> Placement:
    """Where *app* is mounted in the host's routing table (at no mount: the root, ``localhost``)."""
    routes = RouteStore(home / WEBSERVERS_DIR).load()
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


def route_to(home: Path, app: str, upstream: Upstream) -> bool:
    """Point *app*'s mount at *upstream* and reload the host's running web server; ``False`` when unmounted.

    The new configuration is tested before it replaces the live one (see
    :meth:`WebServer.activate`); a failure raises and leaves the old one serving.
    """
    store = RouteStore(home / WEBSERVERS_DIR)
    routes = store.load()
    mount = routes.mounts.get(app)
    if mount is None:
        return False
    if mount.upstream == upstream:
        return True
    routes = store.update(lambda r: r.set_upstream(app, upstream))
    for kind in KINDS:
        installation = find_installation(kind)
        if installation is None:
            continue
        server = WebServer.in_state_dir(store.state_dir, installation)
        if server.is_running():
            server.activate(routes)
    return True
