"""The routing table (virtual hosts and mounts), its conflict rules and its JSON file.

:class:`Routes` is immutable: every change returns a new table, after checking it.
:class:`RouteStore` keeps it in ``<state dir>/state.json``, written atomically.

Which mounts may share a virtual host (the rules :meth:`Routes.mount` enforces)
--------------------------------------------------------------------------------
Each app has at most one mount. A mount *holds* its prefix and the URL paths of its
static directories (``prefix + url``). Between two different apps on one virtual host:

1. the same prefix is refused (``/`` and ``/`` included);
2. nesting one prefix inside another is refused when neither is ``/``: ``/a`` and
   ``/a/b`` cannot be two apps, since the outer app owns every URL under ``/a``;
3. a root mount (``/``) is the host's fallback: other apps may take any other prefix
   (``/`` and ``/sub`` is allowed, the longest prefix wins), but a static path of the
   root app may not equal, contain or lie inside another app's prefix (``/`` serving
   ``/sub/files`` while another app holds ``/sub`` is refused).

Prefixes compare by whole segments: ``/app`` and ``/application`` never conflict.
Virtual hosts sharing an address and port must not share a host name, at most one of
them may be the default (no names), they must agree on TLS, and a wildcard address
(``0.0.0.0``, ``::``) on a port cannot be mixed with other addresses on that port.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

from apppackage.files import write_atomic

from .errors import InvalidRoute, MountConflict
from .model import Mount, StaticPath, Upstream, VirtualHost

__all__ = ["STATE_FILE", "RawMount", "RawRoutes", "RawVirtualHost", "RouteStore", "Routes", "inside"]

STATE_FILE = "state.json"
FORMAT = 1


class RawVirtualHost(TypedDict, total=False):
    server_names: list[str]
    address: str
    port: int
    tls: dict[str, str] | None
    directives: dict[str, str]


class RawMount(TypedDict, total=False):
    vhost: str
    prefix: str
    upstream: str | None
    static: list[list[str]]


class RawRoutes(TypedDict, total=False):
    format: int
    vhosts: dict[str, RawVirtualHost]
    mounts: dict[str, RawMount]


def inside(path: str, prefix: str) -> bool:
    """Whether URL *path* is *prefix* or lies under it, comparing whole segments."""
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def _clash(mount: Mount, other: Mount) -> str | None:
    """Why *mount* and *other* (two apps on one vhost) cannot coexist, or None."""
    if mount.prefix == other.prefix:
        return f"{other.app!r} is already mounted at {other.prefix}"
    if mount.prefix != "/" and other.prefix != "/":
        if inside(mount.prefix, other.prefix):
            return f"{mount.prefix} lies inside {other.prefix}, where {other.app!r} is mounted"
        if inside(other.prefix, mount.prefix):
            return f"{other.app!r} is mounted at {other.prefix}, inside {mount.prefix}"
        return None
    root, sub = (mount, other) if mount.prefix == "/" else (other, mount)
    for url in root.static_urls:
        if inside(url, sub.prefix) or inside(sub.prefix, url):
            return f"{root.app!r} serves static files at {url}, which overlaps {sub.app!r} at {sub.prefix}"
    return None


def _vhost_clash(vhost: VirtualHost, other: VirtualHost) -> str | None:
    if vhost.port != other.port:
        return None
    if vhost.address != other.address:
        if any(ipaddress.ip_address(v.address).is_unspecified for v in (vhost, other)):
            return (
                f"{other.name!r} listens on {other.listen}: a port listened on all addresses cannot also"
                " be listened on one address; use the same address for both"
            )
        return None
    if vhost.tls != other.tls:
        uses = "uses" if other.tls else "does not use"
        return f"{other.name!r} on {other.listen} {uses} TLS: one port speaks one protocol"
    if not vhost.server_names and not other.server_names:
        return f"{other.name!r} is already the default host (no names) on {other.listen}"
    shared = sorted(set(vhost.server_names) & set(other.server_names))
    if shared:
        return f"{other.name!r} on {other.listen} already answers to {', '.join(shared)}"
    return None


@dataclass(frozen=True, kw_only=True)
class Routes:
    """Virtual hosts by name and mounts by app name; every method returns a new, checked table."""

    vhosts: Mapping[str, VirtualHost] = field(default_factory=dict)
    mounts: Mapping[str, Mount] = field(default_factory=dict)

    # -- virtual hosts -------------------------------------------------------
    def add_vhost(self, vhost: VirtualHost) -> Routes:
        """Add *vhost*, or replace the one with its name (its mounts stay)."""
        for other in self.vhosts.values():
            if other.name == vhost.name:
                continue
            reason = _vhost_clash(vhost, other)
            if reason:
                raise InvalidRoute(
                    f"/vhosts/{vhost.name}",
                    f"virtual host {vhost.name!r} cannot be added: {reason}. Change its names,"
                    f" address or port, or remove {other.name!r} first.",
                )
        return replace(self, vhosts={**self.vhosts, vhost.name: vhost})

    def remove_vhost(self, name: str) -> Routes:
        """Remove a virtual host that no app is mounted on."""
        self._vhost(name)
        users = sorted(m.app for m in self.mounts.values() if m.vhost == name)
        if users:
            raise InvalidRoute(
                f"/vhosts/{name}",
                f"virtual host {name!r} still serves {', '.join(users)}: unmount them first",
            )
        return replace(self, vhosts={k: v for k, v in self.vhosts.items() if k != name})

    def _vhost(self, name: str) -> VirtualHost:
        try:
            return self.vhosts[name]
        except KeyError:
            known = ", ".join(sorted(self.vhosts)) or "none yet"
            raise InvalidRoute(
                f"/vhosts/{name}", f"there is no virtual host {name!r} (known: {known}); add it first"
            ) from None

    # -- mounts --------------------------------------------------------------
    def mount(self, mount: Mount) -> Routes:
        """Mount an app, or move it if it is mounted already; refuses conflicts (see the module doc)."""
        self._vhost(mount.vhost)
        for other in self.mounts.values():
            if other.app == mount.app or other.vhost != mount.vhost:
                continue
            reason = _clash(mount, other)
            if reason:
                raise MountConflict(
                    f"/mounts/{mount.app}",
                    f"cannot mount {mount.app!r} at {mount.prefix} on virtual host {mount.vhost!r}:"
                    f" {reason}. Choose another prefix or virtual host, or unmount {other.app!r} first.",
                    holder=other.app,
                    vhost=mount.vhost,
                    path=other.prefix,
                )
        return replace(self, mounts={**self.mounts, mount.app: mount})

    def unmount(self, app: str) -> Routes:
        """Remove an app's mount (no error if it has none)."""
        return replace(self, mounts={k: v for k, v in self.mounts.items() if k != app})

    def _mounted(self, app: str) -> Mount:
        try:
            return self.mounts[app]
        except KeyError:
            raise InvalidRoute(f"/mounts/{app}", f"app {app!r} is not mounted; mount it first") from None

    def set_upstream(self, app: str, upstream: Upstream | None) -> Routes:
        """Point an app's mount at a new daemon (after an update or rollback); prefix and host stay."""
        return self.mount(replace(self._mounted(app), upstream=upstream))

    def set_static(self, app: str, static: tuple[StaticPath, ...]) -> Routes:
        """Replace an app's static directories (a new release has new paths); prefix and host stay."""
        return self.mount(replace(self._mounted(app), static=tuple(static)))

    def mounts_on(self, vhost: str) -> tuple[Mount, ...]:
        """The mounts of one virtual host, longest prefix first."""
        found = [m for m in self.mounts.values() if m.vhost == vhost]
        return tuple(sorted(found, key=lambda m: (-len(m.prefix), m.prefix)))

    def url(self, app: str, path: str = "/") -> str:
        """The URL of *path* inside *app*, on its virtual host's first name (or its address)."""
        mount = self._mounted(app)
        vhost = self._vhost(mount.vhost)
        host = vhost.server_names[0] if vhost.server_names else vhost.listen.rsplit(":", 1)[0]
        port = "" if vhost.port == (443 if vhost.tls else 80) else f":{vhost.port}"
        full = ("" if mount.prefix == "/" else mount.prefix) + "/" + path.lstrip("/")
        return f"{vhost.scheme}://{host}{port}{full}"

    # -- stored shape --------------------------------------------------------
    def to_dict(self) -> RawRoutes:
        vhosts: dict[str, RawVirtualHost] = {}
        for name, v in sorted(self.vhosts.items()):
            tls = None
            if v.tls_certificate is not None and v.tls_key is not None:
                tls = {"certificate": v.tls_certificate, "key": v.tls_key}
            vhosts[name] = {
                "server_names": list(v.server_names),
                "address": v.address,
                "port": v.port,
                "tls": tls,
                "directives": dict(v.directives),
            }
        mounts: dict[str, RawMount] = {}
        for app, m in sorted(self.mounts.items()):
            mounts[app] = {
                "vhost": m.vhost,
                "prefix": m.prefix,
                "upstream": None if m.upstream is None else str(m.upstream),
                "static": [[s.url, s.directory] for s in m.static],
            }
        return {"format": FORMAT, "vhosts": vhosts, "mounts": mounts}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = STATE_FILE) -> Routes:
        """Read the stored shape, checking every value and every rule; errors name *source*."""
        try:
            return cls._from_dict(raw)
        except InvalidRoute as exc:
            raise InvalidRoute(f"{source}:{exc.where}", exc.message) from exc
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise InvalidRoute(source, f"malformed routing table ({exc}); fix or remove the file") from exc

    @classmethod
    def _from_dict(cls, raw: Mapping[str, Any]) -> Routes:
        if raw.get("format", FORMAT) != FORMAT:
            raise InvalidRoute(
                "/format", f"unknown format {raw.get('format')!r}; this version reads {FORMAT}"
            )
        routes = cls()
        for name, v in dict(raw.get("vhosts", {})).items():
            tls = v.get("tls") or {}
            routes = routes.add_vhost(
                VirtualHost(
                    name=name,
                    server_names=tuple(v.get("server_names", ())),
                    address=v.get("address", "127.0.0.1"),
                    port=v["port"],
                    tls_certificate=tls.get("certificate"),
                    tls_key=tls.get("key"),
                    directives=dict(v.get("directives", {})),
                )
            )
        for app, m in dict(raw.get("mounts", {})).items():
            where = f"/mounts/{app}"
            try:
                upstream = None if m.get("upstream") is None else Upstream.parse(m["upstream"])
            except InvalidRoute as exc:
                raise InvalidRoute(f"{where}/upstream", exc.message) from None
            static = []
            for i, (url, directory) in enumerate(m.get("static", [])):
                try:
                    static.append(StaticPath(url=url, directory=directory))
                except InvalidRoute as exc:
                    raise InvalidRoute(f"{where}/static/{i}", exc.message) from None
            mount = Mount(
                app=app,
                vhost=m["vhost"],
                prefix=m.get("prefix", "/"),
                upstream=upstream,
                static=tuple(static),
            )
            routes = routes.mount(mount)
        return routes


class RouteStore:
    """The routing table in ``<state_dir>/state.json``: read, and written atomically under a lock."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_FILE

    def load(self) -> Routes:
        """The stored table; an empty one if there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Routes()
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRoute(str(self.path), f"not valid JSON ({exc}); fix or remove the file") from None
        if not isinstance(raw, dict):
            raise InvalidRoute(str(self.path), "must hold a JSON object; fix or remove the file")
        return Routes.from_dict(raw, source=str(self.path))

    def save(self, routes: Routes) -> None:
        """Write *routes*: to a temporary file first, then renamed over the old one."""
        data = json.dumps(routes.to_dict(), indent=2, sort_keys=True) + "\n"
        write_atomic(self.path, data, mode=0o644, durable=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the table's lock (for a read-change-write by several processes)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / (STATE_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def update(self, change: Callable[[Routes], Routes]) -> Routes:
        """Load, apply *change*, save, all under the lock; returns the new table."""
        with self.locked():
            routes = change(self.load())
            self.save(routes)
            return routes
