"""Virtual hosts, mounts and upstreams: what the web server serves, and from where.

A :class:`VirtualHost` is a set of host names on one listen address and port. A
:class:`Mount` puts one app on a virtual host at a path prefix (``/`` or ``/a[/b...]``):
requests under the prefix go to the app's daemon (its :class:`Upstream`: a unix socket
or a loopback ``host:port``) with the full path unchanged, except its static
directories (the description's ``static``, spec section 3.10), which the web server
serves itself under the prefix. A mount with no upstream is a static-only app.

Every value is checked when the object is made; errors are :class:`InvalidRoute`
naming the JSON pointer of the value in the state file (``/mounts/<app>/prefix``).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, Protocol

from .errors import InvalidRoute

__all__ = [
    "KINDS",
    "Mount",
    "ServerKind",
    "StaticLike",
    "StaticPath",
    "Upstream",
    "VirtualHost",
    "join_url",
    "static_paths",
]

ServerKind = Literal["nginx", "apache", "lighttpd"]
KINDS: tuple[ServerKind, ...] = ("nginx", "apache", "lighttpd")

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SEGMENT = r"[A-Za-z0-9._~-]+"
_URL_PATH = re.compile(rf"^/(?:{_SEGMENT}(?:/{_SEGMENT})*)?$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SERVER_NAME = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$")
# Characters that would end or escape a quoted string, expand a variable or split a
# proxy target in one of the three configuration languages.
_UNSAFE = re.compile(r'["\\$`|\x00-\x1f\x7f]')
_SOCKET = re.compile(r"^/[A-Za-z0-9._/+~@=,-]+$")
_SUN_PATH_MAX = 107


def _url_path(value: str, where: str, what: str) -> str:
    """*value* as a normalized URL path: ``/`` or ``/a[/b...]`` without a trailing slash."""
    text = value.rstrip("/") or "/"
    if not _URL_PATH.match(text):
        raise InvalidRoute(
            where,
            f"{what} {value!r} is not a URL path: use '/' or '/name[/name...]' with letters, digits"
            " and '._~-' in each name",
        )
    if any(part in (".", "..") for part in text.split("/")):
        raise InvalidRoute(where, f"{what} {value!r} may not contain '.' or '..' segments")
    return text


def join_url(prefix: str, path: str) -> str:
    """Join two normalized URL paths: ``join_url("/blog", "/static") == "/blog/static"``."""
    if prefix == "/":
        return path
    if path == "/":
        return prefix
    return prefix + path


def _abs_path(value: str, where: str, what: str) -> str:
    if not value.startswith("/"):
        raise InvalidRoute(where, f"{what} {value!r} must be an absolute path")
    if _UNSAFE.search(value):
        raise InvalidRoute(
            where, f"{what} {value!r} contains a quote, backslash, '$', '`', '|' or a control character"
        )
    return posixpath.normpath(value)


def _check_name(value: str, where: str, what: str) -> None:
    if not _NAME.match(value):
        raise InvalidRoute(
            where, f"{what} {value!r} is not a valid name: use lowercase letters, digits and '._-'"
        )


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """Where an app's daemon listens: a unix socket path, or a loopback host and port.

    The web server connects to it directly. Written as ``unix:/path/to.sock`` or
    ``127.0.0.1:8001`` / ``[::1]:8001`` (see :meth:`parse` and ``str()``).
    """

    socket: str | None = None
    host: str | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        if self.socket is not None:
            if self.host is not None or self.port is not None:
                raise InvalidRoute("", "an upstream is either a unix socket or a host and port, not both")
            if not _SOCKET.match(self.socket):
                raise InvalidRoute(
                    "",
                    f"socket path {self.socket!r} must be absolute and use only letters, digits and"
                    " '._/+~@=,-' (the web server configurations cannot quote anything else)",
                )
            if len(self.socket.encode()) > _SUN_PATH_MAX:
                raise InvalidRoute(
                    "",
                    f"socket path {self.socket!r} is longer than {_SUN_PATH_MAX} bytes, the limit of unix"
                    " sockets: choose a shorter runtime directory",
                )
            return
        if self.host is None or self.port is None:
            raise InvalidRoute("", "an upstream needs a unix socket path, or a host and a port")
        host = "127.0.0.1" if self.host == "localhost" else self.host.strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise InvalidRoute("", f"upstream host {self.host!r} is not an IP address") from None
        if not address.is_loopback:
            raise InvalidRoute(
                "",
                f"upstream host {self.host!r} is not a loopback address: app daemons listen on this"
                " host only (127.0.0.1 or ::1)",
            )
        object.__setattr__(self, "host", str(address))
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise InvalidRoute("", f"upstream port {self.port!r} is not a port number (1-65535)")

    @classmethod
    def unix(cls, path: str | PurePath) -> Upstream:
        """A unix socket upstream."""
        return cls(socket=str(path))

    @classmethod
    def tcp(cls, host: str, port: int) -> Upstream:
        """A loopback TCP upstream."""
        return cls(host=host, port=port)

    @classmethod
    def parse(cls, text: str) -> Upstream:
        """Read ``unix:/path``, ``/path``, ``host:port`` or ``[v6]:port``."""
        if text.startswith("unix:"):
            return cls.unix(text[5:])
        if text.startswith("/"):
            return cls.unix(text)
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise InvalidRoute("", f"upstream {text!r} is not 'unix:/path' or 'host:port'")
        return cls.tcp(host, int(port))

    @property
    def is_unix(self) -> bool:
        return self.socket is not None

    @property
    def address(self) -> str:
        """``host:port`` with IPv6 hosts in brackets (TCP upstreams only)."""
        host = self.host or ""
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"unix:{self.socket}" if self.socket is not None else self.address


@dataclass(frozen=True, kw_only=True)
class StaticPath:
    """A directory the web server serves at ``url`` under the mount's prefix (spec section 3.10)."""

    url: str
    directory: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _url_path(self.url, "", "static URL path"))
        object.__setattr__(self, "directory", _abs_path(self.directory, "", "static directory"))


class StaticLike(Protocol):
    """Anything with ``url`` and ``dir``, such as :class:`apppackage.description.StaticDir`."""

    @property
    def url(self) -> str: ...

    @property
    def dir(self) -> str: ...


def static_paths(static: Iterable[StaticLike], root: str | PurePath) -> tuple[StaticPath, ...]:
    """The description's ``static`` entries with their directories made absolute under *root*.

    *root* is the release directory the description's relative ``dir`` values refer to.
    """
    return tuple(StaticPath(url=s.url, directory=str(PurePath(root, s.dir))) for s in static)


@dataclass(frozen=True, kw_only=True)
class VirtualHost:
    """Host names served on one address and port, optionally over TLS.

    ``server_names`` empty means every host name that no other virtual host on the same
    address and port claims (the default host there). ``directives`` maps a server kind
    to raw configuration text placed inside this host's block: it is the operator's
    escape hatch and is checked only by the server's own configuration test.
    """

    name: str
    port: int
    server_names: tuple[str, ...] = ()
    address: str = "127.0.0.1"
    tls_certificate: str | None = None
    tls_key: str | None = None
    directives: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"/vhosts/{self.name}"
        _check_name(self.name, "/vhosts", "virtual host name")
        names: list[str] = []
        for i, raw in enumerate(self.server_names):
            server_name = raw.lower().rstrip(".")
            if not _SERVER_NAME.match(server_name):
                raise InvalidRoute(
                    f"{where}/server_names/{i}",
                    f"{raw!r} is not a host name (letters, digits, '-' and dots; '*.' may start it)",
                )
            if server_name in names:
                raise InvalidRoute(f"{where}/server_names/{i}", f"{raw!r} is listed twice")
            names.append(server_name)
        object.__setattr__(self, "server_names", tuple(names))
        try:
            address = ipaddress.ip_address(self.address.strip("[]"))
        except (ValueError, AttributeError):
            raise InvalidRoute(f"{where}/address", f"{self.address!r} is not an IP address") from None
        object.__setattr__(self, "address", str(address))
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise InvalidRoute(f"{where}/port", f"{self.port!r} is not a port number (1-65535)")
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise InvalidRoute(f"{where}/tls", "TLS needs both a certificate and a key file")
        if self.tls_certificate is not None and self.tls_key is not None:
            cert = _abs_path(self.tls_certificate, f"{where}/tls/certificate", "certificate file")
            key = _abs_path(self.tls_key, f"{where}/tls/key", "key file")
            object.__setattr__(self, "tls_certificate", cert)
            object.__setattr__(self, "tls_key", key)
        directives = dict(self.directives)
        for kind, text in directives.items():
            if kind not in KINDS:
                raise InvalidRoute(
                    f"{where}/directives/{kind}",
                    f"unknown web server {kind!r}: use one of {', '.join(KINDS)}",
                )
            if "\x00" in text:
                raise InvalidRoute(f"{where}/directives/{kind}", "directives must be text")
        object.__setattr__(self, "directives", directives)

    @property
    def tls(self) -> bool:
        return self.tls_certificate is not None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def listen(self) -> str:
        """``address:port`` with an IPv6 address in brackets."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class Mount:
    """One app on a virtual host under a path prefix.

    ``upstream`` None makes a static-only app (no daemon), which then needs ``static``.
    A static URL path ``/`` is only allowed for static-only apps: it would hide the
    whole app from its daemon.
    """

    app: str
    vhost: str
    prefix: str = "/"
    upstream: Upstream | None = None
    static: tuple[StaticPath, ...] = ()

    def __post_init__(self) -> None:
        where = f"/mounts/{self.app}"
        _check_name(self.app, "/mounts", "app name")
        _check_name(self.vhost, f"{where}/vhost", "virtual host name")
        object.__setattr__(self, "prefix", _url_path(self.prefix, f"{where}/prefix", "prefix"))
        static = tuple(self.static)
        seen: set[str] = set()
        for i, item in enumerate(static):
            if item.url in seen:
                raise InvalidRoute(f"{where}/static/{i}", f"static URL path {item.url!r} is listed twice")
            seen.add(item.url)
            if item.url == "/" and self.upstream is not None:
                raise InvalidRoute(
                    f"{where}/static/{i}",
                    "static URL path '/' would serve every request from files and hide the app's daemon:"
                    " give the files their own path (e.g. '/static')",
                )
        object.__setattr__(self, "static", static)
        if self.upstream is None and not static:
            raise InvalidRoute(
                where, f"app {self.app!r} has neither an upstream nor static directories: nothing to serve"
            )

    @property
    def static_urls(self) -> tuple[str, ...]:
        """The full URL paths of the static directories (prefix joined with each URL)."""
        return tuple(join_url(self.prefix, s.url) for s in self.static)
