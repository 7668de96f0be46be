"""What an app's daemon -- waitress for a WSGI app, uvicorn for an ASGI one -- must be started with to sit
behind the web server.

The web servers pass each request's path unchanged and add ``X-Forwarded-For``,
``X-Forwarded-Proto`` and ``X-Forwarded-Host`` (replacing whatever the client sent);
the ``Host`` header is kept. The daemon then:

* listens where the mount's upstream says (``unix_socket`` or ``host`` + ``port``);
* strips the mount's prefix: ``url_prefix=<prefix>`` makes ``SCRIPT_NAME`` the prefix
  and ``PATH_INFO`` the rest (a request for exactly ``/prefix`` has ``PATH_INFO`` "");
* believes those three headers only from the web server: ``trusted_proxy`` is the
  peer address waitress sees for it, ``localhost`` on a unix socket (waitress's name
  for every unix-socket peer) and ``127.0.0.1`` / ``::1`` on a loopback port, with
  ``trusted_proxy_count=1`` (only the last hop, the one the web server wrote) and
  ``clear_untrusted_proxy_headers`` so nothing else gets through.

The app then sees the client's address as ``REMOTE_ADDR``, the scheme (``https`` on a
TLS virtual host) as ``wsgi.url_scheme`` and the host the client asked for.

An ASGI daemon (:func:`asgi_daemon_options`) listens at the same place and believes the same headers from
the same peers (uvicorn's ``forwarded_allow_ips``: ``*`` on a unix socket, where uvicorn sees no peer
address); the scope's ``root_path`` is the mount's prefix and its ``path`` the whole path, prefix included
(spec section 3.16). uvicorn's own ``root_path`` setting is not that: it puts the prefix in front of the
path the web server sent, which holds it already.

On a unix socket anyone who can connect is trusted, so the socket's mode matters:
``600`` (owner only) is enough when the web server runs as the daemon's user. When the
runtime runs as root, the web server's workers run as an unprivileged user (see
:class:`~pyapp_runtime.webservers.server.ServerSettings`): the socket is ``660`` in a
directory of their group (docs/trust-model.md), never writable by everybody.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import InvalidRoute
from .model import Mount

__all__ = ["PROXY_HEADERS", "asgi_daemon_options", "daemon_arguments", "daemon_options"]

PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-forwarded-proto")
_LISTEN_KEYS = ("unix_socket", "unix_socket_perms", "host", "port")


def daemon_options(mount: Mount, *, socket_perms: str | None = None) -> dict[str, str | int | bool]:
    """Keyword arguments for ``waitress.serve(app, **options)`` serving *mount* behind a web server.

    *socket_perms* (octal text, unix sockets only) defaults to ``600``, or ``660`` when
    this process runs as root (the web server's workers then run as another user, whose
    group the socket's directory gives it: never writable by everybody).
    Raises :class:`InvalidRoute` for a static-only mount: it needs no daemon.
    """
    upstream = mount.upstream
    if upstream is None:
        raise InvalidRoute(
            f"/mounts/{mount.app}/upstream",
            f"app {mount.app!r} is mounted as static-only: the web server serves it and it needs no daemon",
        )
    options: dict[str, str | int | bool] = {}
    if upstream.socket is not None:
        options["unix_socket"] = upstream.socket
        options["unix_socket_perms"] = socket_perms or ("660" if os.geteuid() == 0 else "600")
        options["trusted_proxy"] = "localhost"
    else:
        assert upstream.host is not None and upstream.port is not None
        options["host"] = upstream.host
        options["port"] = upstream.port
        # A loopback connection comes from 127.0.0.1 whatever 127.x address it goes to.
        options["trusted_proxy"] = "::1" if ":" in upstream.host else "127.0.0.1"
    options["trusted_proxy_headers"] = " ".join(PROXY_HEADERS)
    options["trusted_proxy_count"] = 1
    options["clear_untrusted_proxy_headers"] = True
    if mount.prefix != "/":
        options["url_prefix"] = mount.prefix
    return options


def asgi_daemon_options(mount: Mount, *, socket_perms: str | None = None) -> dict[str, Any]:
    """What an ASGI daemon serving *mount* behind a web server is started with: where it listens (the keys
    of :func:`daemon_options`), ``mount_path`` (the scope's ``root_path``, ``""`` at a site's root) and
    ``uvicorn``, keyword arguments for ``uvicorn.Config``: the proxy headers, believed from the web
    server only. Raises :class:`InvalidRoute` for a static-only mount, as :func:`daemon_options` does."""
    waitress = daemon_options(mount, socket_perms=socket_perms)
    options: dict[str, Any] = {k: waitress[k] for k in _LISTEN_KEYS if k in waitress}
    trusted = "*" if "unix_socket" in waitress else waitress["trusted_proxy"]
    options["mount_path"] = "" if mount.prefix == "/" else mount.prefix
    options["uvicorn"] = {"proxy_headers": True, "forwarded_allow_ips": trusted}
    return options


def daemon_arguments(mount: Mount, *, socket_perms: str | None = None) -> list[str]:
    """The same options as ``waitress-serve`` command-line arguments (before ``module:app``)."""
    args = []
    for key, value in daemon_options(mount, socket_perms=socket_perms).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args.append(f"{flag}={value}")
    return args
