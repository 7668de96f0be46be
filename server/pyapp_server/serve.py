"""Running the management server until it is told to stop: waitress for HTTP, cheroot for HTTPS.

At start the server writes, under ``<data>/server/`` (mode 0700):

``local-token``
    an admin token for the user running the server (mode 0600), reused across restarts
    while it stays valid; ``pyapp-ctl`` finds it by itself
``endpoint.json``
    ``{"url", "pid", "version", "data_dir", "token_file"}``: where the server listens;
    removed when it stops

Binding an address other than loopback is refused unless authentication is configured:
a token made with ``pyapp-server token create`` (other than the local one) or
``admin_token``; without ``tls_cert`` such a server speaks plain HTTP, which its log
warns about. Either server asks the body gate (:mod:`pyapp_server.gate`) before it reads
a request's body. While it runs it watches the host (unless ``watch_interval`` is 0): it brings up
what should run, then restores what dies (:mod:`pyapp_server.watcher`). Stopping (SIGINT, SIGTERM)
lets running jobs end; it never stops apps.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from apppackage import __version__
from apppackage.errors import AppPackageError
from apppackage.files import write_atomic

from .app import main, services_of
from .bodies import MULTIPART_SLACK
from .gate import BodyGate, gate_of
from .services import Services
from .settings import ServerSettings
from .watcher import HostWatcher

__all__ = ["ENDPOINT_FILE", "LOCAL_TOKEN_FILE", "RunningServer", "ServeError", "check_bind", "serve", "start"]

ENDPOINT_FILE = "endpoint.json"
LOCAL_TOKEN_FILE = "local-token"  # noqa: S105 (a file name)

log = logging.getLogger("pyapp_server")


class ServeError(AppPackageError):
    """The server cannot start as configured (the message says what to change)."""


class _Stop(SystemExit):
    """Raised by SIGTERM/SIGINT in the serving loop; a SystemExit, which waitress's and cheroot's loops
    pass on (waitress's swallows any other exception raised while a connection is being read)."""


def check_bind(settings: ServerSettings, services: Services) -> None:
    """Refuse a non-loopback address unless tokens can authenticate remote clients."""
    if settings.loopback or services.tokens.has_remote_auth():
        return
    raise ServeError(
        f"refusing to listen on {settings.host}, which is not a loopback address, without authentication: "
        "make a token first (pyapp-server token create --role admin --name NAME) or set admin_token; "
        "every request will then need a token"
    )


def url_of(settings: ServerSettings, port: int) -> str:
    if settings.unix_socket is not None:
        return "http+unix://" + urllib.parse.quote(str(settings.unix_socket), safe="")
    host, scheme = settings.host, "https" if settings.tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


@dataclass(frozen=True, kw_only=True)
class RunningServer:
    """A server made by :func:`start`: ``run()`` serves until stopped, ``close()`` cleans up."""

    settings: ServerSettings
    services: Services
    server: Any
    """The listening server: waitress's, or a :class:`pyapp_server.tls.TlsServer`."""
    url: str
    endpoint_file: Path
    token_file: Path
    watcher: HostWatcher | None = None
    """The thread watching the host (``None``: ``watch_interval`` is 0)."""

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM (or :meth:`close` from another thread)."""

        def stop(signum: int, frame: FrameType | None) -> None:
            stop_soon = getattr(self.server, "stop_soon", None)
            if stop_soon is not None:
                stop_soon()
            raise _Stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.server.run()
        except (_Stop, KeyboardInterrupt):
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()

    def close(self) -> None:
        """Stop listening and watching, let running jobs end, remove ``endpoint.json``; apps keep running."""
        self.server.close()
        if self.watcher is not None:
            self.watcher.stop()
        try:
            if json.loads(self.endpoint_file.read_text("utf-8")).get("pid") == os.getpid():
                self.endpoint_file.unlink()
        except (OSError, ValueError):
            pass
        self.services.close(wait=True, farewell=f"pyapp-server {__version__} stopped")
        log.info("stopped")


def _listen(app: Any, gate: BodyGate, settings: ServerSettings) -> tuple[Any, int]:
    host = "127.0.0.1" if settings.host == "localhost" else settings.host
    if settings.tls_cert is not None and settings.tls_key is not None:
        from . import tls

        try:
            tls.check_certificate(str(settings.tls_cert), str(settings.tls_key))
        except (OSError, ValueError) as exc:
            raise ServeError(
                f"cannot use the certificate {settings.tls_cert} with the key {settings.tls_key}: {exc}; "
                "give PEM files of one pair (settings tls_cert, tls_key)"
            ) from None
        secure = tls.create_server(
            app,
            gate,
            host=host,
            port=settings.port,
            threads=settings.threads,
            certificate=str(settings.tls_cert),
            key=str(settings.tls_key),
        )
        return secure, secure.effective_port
    from .listener import create_server

    options: dict[str, Any] = {
        "threads": settings.threads,
        # Past the gate's limits (which answer in JSON first): waitress's own ceiling.
        "max_request_body_size": settings.max_upload_size + MULTIPART_SLACK + 1,
        "ident": "pyapp-server",
        "clear_untrusted_proxy_headers": True,
    }
    if settings.unix_socket is not None:
        settings.unix_socket.parent.mkdir(parents=True, exist_ok=True)
        server = create_server(
            app, gate, unix_socket=str(settings.unix_socket), unix_socket_perms="600", **options
        )
        return server, 0
    server = create_server(app, gate, host=host, port=settings.port, **options)
    return server, int(server.effective_port)


def start(settings: ServerSettings) -> RunningServer:
    """Make the app, check the bind policy, write the local token, and listen (not serving yet)."""
    app = main(None, **settings.to_settings())
    services = services_of(app)
    try:
        check_bind(settings, services)
        token_file = settings.state_dir / LOCAL_TOKEN_FILE
        services.tokens.ensure_local(token_file)
        try:
            server, port = _listen(app, gate_of(app.registry), settings)
        except OSError as exc:
            where = settings.unix_socket or f"{settings.host}:{settings.port}"
            raise ServeError(
                f"cannot listen on {where}: {exc.strerror or exc}; choose another with --port, "
                "--unix-socket or the port setting"
            ) from None
    except BaseException:
        services.close()
        raise
    url = url_of(settings, port)
    endpoint_file = settings.state_dir / ENDPOINT_FILE
    endpoint = {
        "url": url,
        "pid": os.getpid(),
        "version": __version__,
        "data_dir": str(settings.data_dir),
        "token_file": str(token_file),
    }
    write_atomic(endpoint_file, json.dumps(endpoint, indent=2) + "\n")
    services.events.record("server", f"pyapp-server {__version__} started on {url}")
    log.info("serving on %s (data: %s)", url, settings.data_dir)
    if not settings.loopback and not settings.tls:
        log.warning(
            "listening on %s with plain HTTP: tokens cross the network in clear; "
            "set tls_cert and tls_key to serve HTTPS",
            settings.host,
        )
    watcher = None
    if settings.watch_interval > 0:
        watcher = HostWatcher(services.apps, services.events, settings.state_dir, settings.watch_interval)
        watcher.start()
    return RunningServer(
        settings=settings,
        services=services,
        server=server,
        url=url,
        endpoint_file=endpoint_file,
        token_file=token_file,
        watcher=watcher,
    )


def serve(settings: ServerSettings, *, ready: Callable[[RunningServer], None] | None = None) -> None:
    """Start the server, call *ready* (to print where it listens), and serve until stopped."""
    running = start(settings)
    try:
        if ready is not None:
            ready(running)
    except BaseException:
        running.close()
        raise
    running.run()
