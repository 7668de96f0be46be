"""Configuration text for each kind of web server, from a routing table.

:func:`render_files` makes a complete configuration for the runtime's own instance
(used by :class:`~pyapp_runtime.webservers.server.WebServer`); :func:`render_fragment`
makes the part to include in a system web server's configuration:

* nginx: ``server`` blocks, to ``include`` inside ``http { }``;
* Apache: ``VirtualHost`` blocks (the server must ``Listen`` on their addresses and
  load mod_proxy, mod_proxy_http, mod_headers and mod_alias);
* lighttpd: ``$SERVER["socket"]`` blocks (the server must load mod_proxy and
  mod_alias, and mod_openssl for TLS).
"""

from __future__ import annotations

from . import _apache, _lighttpd, _nginx
from ._context import RenderContext
from ._plan import plan
from .model import ServerKind
from .routes import Routes

__all__ = ["CONFIG_FILES", "RenderContext", "render_files", "render_fragment"]

CONFIG_FILES: dict[ServerKind, str] = {
    "nginx": _nginx.CONFIG_FILE,
    "apache": _apache.CONFIG_FILE,
    "lighttpd": _lighttpd.CONFIG_FILE,
}
"""The main configuration file of each kind, inside a generated configuration directory."""


def render_files(routes: Routes, ctx: RenderContext) -> dict[str, str]:
    """File name -> text of a complete configuration for ``ctx.installation.kind``."""
    listens = plan(routes)
    kind = ctx.installation.kind
    if kind == "nginx":
        return _nginx.render(listens, ctx)
    if kind == "apache":
        return _apache.render(listens, ctx)
    return _lighttpd.render(listens, ctx)


def render_fragment(
    kind: ServerKind, routes: Routes, *, empty_dir: str, version: tuple[int, ...] = ()
) -> str:
    """The virtual hosts of *routes* as an include file for a system server of *kind*.

    *empty_dir* is an empty directory the server may read: the document root that
    makes unrouted paths answer 404 (Apache only). *version* is the server's (Apache: from 2.4.47
    on, WebSocket handshakes pass through).
    """
    listens = plan(routes)
    if kind == "nginx":
        return _nginx.fragment(listens)
    if kind == "apache":
        return _apache.fragment(listens, empty=empty_dir, version=version)
    return _lighttpd.fragment(listens)
