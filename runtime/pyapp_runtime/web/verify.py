"""Mounts verified end to end: an app's health check asked for through the web server itself.

Once the web server has taken a change that mounts or moves an app, :func:`verify_mount`
asks for the app's health path (spec section 3.15, ``health.path``) under its mount
prefix, with the virtual host's name, at the virtual host's address and port (over TLS
without checking the certificate), as a visitor would. It asks again, a quarter of a second
apart, for at most ``health.start`` seconds, each answer within ``health.timeout``; a
2xx or 3xx answer is healthy (as for the daemons' own check, :mod:`..processes.health`).

Before that it asks the app's daemon directly: one that does not answer (or an app that is
not running) cannot be verified, and that is reported, not held against the route. A
route that the daemon answers but the web server does not is a :class:`RouteCheck` that
failed: its detail says why, naming the directory the web server's workers (another user,
as root) cannot traverse when that is the cause, and the wait ends there. A static-only
mount is verified by one of its files when a static directory has one at its top.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from apppackage.description import Health

from ..processes.health import INTERVAL, Address, check
from ..webservers import Blocked, Mount, Routes, VirtualHost, WebServer, WebServerError
from .results import RouteCheck

__all__ = ["RouteNotServed", "Target", "verify_mount"]


@dataclass(frozen=True, kw_only=True)
class Target:
    """One request that shows a mount served: where to send it, as which host, and what to wait."""

    scheme: str
    address: str
    port: int
    host: str
    path: str
    timeout: float
    start: float
    reach: tuple[Path, ...] = ()
    """What the web server's workers must reach to answer it (a socket, a static directory)."""

    @property
    def url(self) -> str:
        port = "" if self.port == (443 if self.scheme == "https" else 80) else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"


class RouteNotServed(WebServerError):
    """The web server does not serve what a change routed to it; the change was undone.

    ``checks`` are the mounts that failed (each :class:`RouteCheck` says why), ``output``
    what the web server logged since the change.
    """

    def __init__(self, kind: str, checks: tuple[RouteCheck, ...], output: str = "") -> None:
        self.kind = kind
        self.checks = checks
        self.output = output
        message = "\n".join(c.detail for c in checks)
        message += f"\nThe change was undone: the routes and {kind}'s configuration are as they were."
        if output.strip():
            message += f"\n--- {kind} log since the change ---\n{output.rstrip()}"
        super().__init__(message)


def verify_mount(
    server: WebServer, routes: Routes, app: str, health: Health, *, home: Path, not_running: str | None
) -> RouteCheck:
    """Whether *routes*' mount of *app* is served through *server* (see the module's text).

    *not_running* says why the app's daemons do not run (``None``: they do).
    """
    mount = routes.mounts[app]
    vhost = routes.vhosts[mount.vhost]
    if mount.upstream is None:
        target = _static_target(vhost, mount, health)
        if target is None:
            return RouteCheck(
                app=app, url=routes.url(app), outcome="unverified",
                detail=f"{app} serves static files only, none at the top of its directories to ask for",
            )  # fmt: skip
        return _through(server, app, target, home=home)
    target = _health_target(vhost, mount, health)
    if not_running is not None:
        return RouteCheck(app=app, url=target.url, outcome="unverified", detail=not_running)
    upstream = mount.upstream
    address = Address(socket=upstream.socket, host=upstream.host or "127.0.0.1", port=upstream.port)
    direct = check(address, target.path, host=target.host, timeout=health.timeout)
    if not direct.healthy:
        return RouteCheck(
            app=app, url=target.url, outcome="unverified",
            detail=f"{app}'s daemon does not answer at {address} ({direct.detail}): see pyapp status {app}",
        )  # fmt: skip
    return _through(server, app, target, home=home, direct=direct.detail)


def _through(server: WebServer, app: str, target: Target, *, home: Path, direct: str = "") -> RouteCheck:
    deadline = time.monotonic() + target.start
    blocked: tuple[Path, Blocked] | None = None
    while True:
        healthy, answer = _ask(target)
        if healthy:
            return RouteCheck(
                app=app, url=target.url, outcome="verified", detail=f"{answer} through {server.kind}"
            )
        blocked = next(((p, b) for p in target.reach if (b := server.blocked(p)) is not None), None)
        # The workers' way to the app is closed: waiting would not open it.
        if blocked is not None or time.monotonic() >= deadline:
            break
        time.sleep(INTERVAL)
    detail = f"{app} is not served through {server.kind}: {answer}"
    if direct:
        detail += f", while its daemon answers directly ({direct})"
    if blocked is not None:
        detail += _cause(server.kind, *blocked, home=home)
    else:
        config = server.live_config()
        detail += (
            f", for {target.start:g} s. See what {server.kind} logged (below) and the configuration it"
            f" was given ({config.resolve() if config else 'none'}), then change again"
        )
    return RouteCheck(app=app, url=target.url, outcome="failed", detail=detail + ".")


def _cause(kind: str, path: Path, blocked: Blocked, *, home: Path) -> str:
    """Why *kind*'s workers cannot reach *path*, and what to do about it."""
    user, directory = blocked.user, blocked.directory
    cause = f". {kind}'s workers run as {user}, who cannot traverse {blocked}"
    if directory.is_relative_to(home):
        return cause + f": let {user} through, chmod o+x {directory}"
    if not path.is_relative_to(home):
        # The host's private short directory for sockets, which must stay private (processes.programs).
        return cause + (
            f", where the host keeps the app's sockets because the paths under its home {home} are too"
            " long for unix sockets. Move PYAPP_HOME to a shorter path"
        )
    return cause + (
        f", above the host's home {home}. Move PYAPP_HOME to a directory {user} can traverse, or let"
        f" {user} through: chmod o+x {directory}"
    )


def _host(vhost: VirtualHost) -> str:
    """The name a request for *vhost* carries: its first exact name, a wildcard's, or its address."""
    exact = [n for n in vhost.server_names if not n.startswith("*.")]
    if exact:
        return exact[0]
    if vhost.server_names:
        return "www" + vhost.server_names[0][1:]
    return f"[{vhost.address}]" if ":" in vhost.address else vhost.address


def _connect_to(vhost: VirtualHost) -> str:
    ip = ipaddress.ip_address(vhost.address)
    # A server listening on every address is reached on the loopback one.
    if ip.is_unspecified:
        return "::1" if ip.version == 6 else "127.0.0.1"
    return vhost.address


def _health_target(vhost: VirtualHost, mount: Mount, health: Health) -> Target:
    prefix = "" if mount.prefix == "/" else mount.prefix
    reach: tuple[Path, ...] = ()
    if mount.upstream is not None and mount.upstream.socket is not None:
        socket_path = Path(mount.upstream.socket)
        reach = (socket_path, socket_path.resolve())
    return Target(
        scheme=vhost.scheme, address=_connect_to(vhost), port=vhost.port, host=_host(vhost),
        path=prefix + health.path, timeout=health.timeout, start=health.start, reach=reach,
    )  # fmt: skip


def _static_target(vhost: VirtualHost, mount: Mount, health: Health) -> Target | None:
    """A request for one file at the top of one of the mount's static directories (``None``: no file)."""
    for item, url in zip(mount.static, mount.static_urls, strict=True):
        directory = Path(item.directory)
        with contextlib.suppress(OSError):
            files = sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
            if files:
                return Target(
                    scheme=vhost.scheme, address=_connect_to(vhost), port=vhost.port, host=_host(vhost),
                    path=url.rstrip("/") + "/" + quote(files[0]), timeout=health.timeout,
                    start=health.timeout, reach=(directory, directory.resolve()),
                )  # fmt: skip
    return None


class _Connection(http.client.HTTPSConnection):
    """HTTPS to *address* for the virtual host *host* (SNI), the certificate not checked: the probe
    asks whether the web server routes to the app, not whether its certificate is trusted."""

    def __init__(self, address: str, port: int, host: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, timeout=timeout, context=context)
        self._tls = context
        self._server_name = host.strip("[]")

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        try:
            name: str | None = self._server_name
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(self._server_name)
                name = None  # no SNI for an address
            self.sock = self._tls.wrap_socket(raw, server_hostname=name)
        except BaseException:
            raw.close()
            raise


def _ask(target: Target) -> tuple[bool, str]:
    """One request for *target*: whether it was answered healthily, and how it was answered."""
    connection: http.client.HTTPConnection
    address = f"[{target.address}]" if ":" in target.address else target.address
    if target.scheme == "https":
        connection = _Connection(address, target.port, target.host, target.timeout)
    else:
        connection = http.client.HTTPConnection(address, target.port, timeout=target.timeout)
    request = f"GET {target.url}"
    deadline = time.monotonic() + target.timeout
    try:
        connection.request("GET", target.path, headers={"Host": target.host, "User-Agent": "pyapp-verify"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return False, f"{request} failed ({reason})"
    finally:
        connection.close()
    if time.monotonic() > deadline:
        return False, f"{request} answered {response.status} after {target.timeout:g} s"
    return 200 <= response.status < 400, f"{request} answered {response.status} {response.reason}"
