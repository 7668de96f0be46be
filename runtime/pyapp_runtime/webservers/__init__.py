"""Virtual hosts and path mounting for nginx, Apache 2.4 and lighttpd.

The web server talks to each app's daemon directly and serves the app's static
directories itself; the runtime is never on the request path.

* :mod:`.model` — :class:`VirtualHost`, :class:`Mount`, :class:`Upstream`, :class:`StaticPath`;
* :mod:`.routes` — :class:`Routes` (the table and its conflict rules), :class:`RouteStore`
  (``<state dir>/state.json``);
* :mod:`.daemon` — :func:`daemon_options`, :func:`asgi_daemon_options`: how an app's waitress (or,
  for an ASGI app, uvicorn) must be started;
* :mod:`.detect` — :func:`detect`: which web server this host has;
* :mod:`.server` — :class:`WebServer`: the runtime's own instance (render, test, swap,
  reload, start, stop, revert), and which directory its workers cannot traverse (:class:`Blocked`);
* :mod:`.render` — configuration text, and include fragments for a system server.

Typical use::

    store = RouteStore(home / "webservers")
    routes = store.update(lambda r: r.add_vhost(VirtualHost(name="main", port=8080))
                          .mount(Mount(app="blog", vhost="main", prefix="/blog",
                                       upstream=Upstream.unix(sock))))
    installation = detect("auto")          # None: no web server, apps on their own sockets
    if installation is not None:
        WebServer.in_state_dir(home / "webservers", installation).activate(routes, start=True)
    waitress.serve(app, **daemon_options(routes.mounts["blog"]))   # in the app's daemon
"""

from __future__ import annotations

from apppackage.lazynames import lazy_names

# Imported now: the function detect shares its module's name, and a module of this package importing
# .detect would otherwise leave the package's name detect bound to the module.
from .detect import Installation, detect, find_installation

# Names are imported from their modules when first asked for: the settings read only the server kinds,
# a daemon only its options; rendering, detecting and driving a web server load when they are used.
_LAZY = {
    "asgi_daemon_options": "daemon",
    "daemon_arguments": "daemon",
    "daemon_options": "daemon",
    "ConfigTestFailed": "errors",
    "InvalidRoute": "errors",
    "MountConflict": "errors",
    "NoWebServer": "errors",
    "ServerFailed": "errors",
    "WebServerError": "errors",
    "KINDS": "model",
    "Mount": "model",
    "ServerKind": "model",
    "StaticPath": "model",
    "Upstream": "model",
    "VirtualHost": "model",
    "static_paths": "model",
    "render_fragment": "render",
    "Routes": "routes",
    "RouteStore": "routes",
    "Blocked": "server",
    "WebServer": "server",
    "Activation": "settings",
    "ServerSettings": "settings",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .daemon import asgi_daemon_options, daemon_arguments, daemon_options
    from .errors import (
        ConfigTestFailed,
        InvalidRoute,
        MountConflict,
        NoWebServer,
        ServerFailed,
        WebServerError,
    )
    from .model import KINDS, Mount, ServerKind, StaticPath, Upstream, VirtualHost, static_paths
    from .render import render_fragment
    from .routes import Routes, RouteStore
    from .server import Blocked, WebServer
    from .settings import Activation, ServerSettings

__all__ = [
    "KINDS",
    "Activation",
    "Blocked",
    "ConfigTestFailed",
    "Installation",
    "InvalidRoute",
    "Mount",
    "MountConflict",
    "NoWebServer",
    "RouteStore",
    "Routes",
    "ServerFailed",
    "ServerKind",
    "ServerSettings",
    "StaticPath",
    "Upstream",
    "VirtualHost",
    "WebServer",
    "WebServerError",
    "asgi_daemon_options",
    "daemon_arguments",
    "daemon_options",
    "detect",
    "find_installation",
    "render_fragment",
    "static_paths",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
