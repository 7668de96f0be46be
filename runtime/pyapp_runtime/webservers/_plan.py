"""The routing table flattened for the renderers: listens, their hosts, each host's routes.

Every renderer implements the same semantics: a request goes to the route of its
virtual host with the longest path that equals the request path or is a whole-segment
prefix of it. A route either proxies to a daemon (the path unchanged), serves a
directory, or answers 404 (a static-only app's prefix outside its static paths).
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Literal

from .model import Upstream, VirtualHost, join_url
from .routes import Routes

__all__ = ["HostBlock", "ListenBlock", "Route", "mime_types", "plan"]

# Only plain names, so the tables can be written unquoted in every configuration language.
_EXTENSION = re.compile(r"^[A-Za-z0-9_-]+$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9_.+-]+/[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True, kw_only=True)
class Route:
    path: str
    app: str
    action: Literal["proxy", "static", "none"]
    upstream: Upstream | None = None
    directory: str | None = None


@dataclass(frozen=True, kw_only=True)
class HostBlock:
    vhost: VirtualHost
    routes: tuple[Route, ...]  # longest path first

    @property
    def has_root(self) -> bool:
        return any(r.path == "/" for r in self.routes)


@dataclass(frozen=True, kw_only=True)
class ListenBlock:
    address: str
    port: int
    listen: str  # address:port, IPv6 in brackets
    tls: bool
    hosts: tuple[HostBlock, ...]  # named hosts (exact names before wildcards), the default host last

    @property
    def default(self) -> HostBlock | None:
        return next((h for h in self.hosts if not h.vhost.server_names), None)

    @property
    def named(self) -> tuple[HostBlock, ...]:
        return tuple(h for h in self.hosts if h.vhost.server_names)


def _routes(routes: Routes, vhost: str) -> tuple[Route, ...]:
    found: list[Route] = []
    for mount in routes.mounts_on(vhost):
        if mount.upstream is not None:
            found.append(Route(path=mount.prefix, app=mount.app, action="proxy", upstream=mount.upstream))
        elif not any(s.url == "/" for s in mount.static):
            found.append(Route(path=mount.prefix, app=mount.app, action="none"))
        for static in mount.static:
            path = join_url(mount.prefix, static.url)
            found.append(Route(path=path, app=mount.app, action="static", directory=static.directory))
    return tuple(sorted(found, key=lambda r: (-len(r.path), r.path)))


def _host_order(vhost: VirtualHost) -> tuple[int, str]:
    if not vhost.server_names:
        return (2, vhost.name)
    if any(n.startswith("*.") for n in vhost.server_names):
        return (1, vhost.name)
    return (0, vhost.name)


def plan(routes: Routes) -> tuple[ListenBlock, ...]:
    """The listens of *routes* (sorted by address and port) with their hosts and routes."""
    by_listen: dict[tuple[str, int], list[VirtualHost]] = {}
    for vhost in routes.vhosts.values():
        by_listen.setdefault((vhost.address, vhost.port), []).append(vhost)
    blocks = []
    for (address, port), vhosts in sorted(by_listen.items()):
        ordered = sorted(vhosts, key=_host_order)
        hosts = tuple(HostBlock(vhost=v, routes=_routes(routes, v.name)) for v in ordered)
        blocks.append(
            ListenBlock(address=address, port=port, listen=ordered[0].listen, tls=ordered[0].tls, hosts=hosts)
        )
    return tuple(blocks)


def mime_types() -> dict[str, list[str]]:
    """Media type -> file extensions (without dots), from Python's table and the system's."""
    mimetypes.init()
    by_extension: dict[str, str] = {}
    for ext, media in sorted(mimetypes.types_map.items()):
        # Servers compare extensions without regard to case: keep one entry each.
        name = ext.lstrip(".").lower()
        if _EXTENSION.match(name) and _MEDIA_TYPE.match(media):
            by_extension.setdefault(name, media.lower())
    types: dict[str, list[str]] = {}
    for name, media in sorted(by_extension.items()):
        types.setdefault(media, []).append(name)
    return types
