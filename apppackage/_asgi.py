"""Serving an ASGI application with uvicorn (spec sections 3.16 and 6.7): the ``serve`` kind of the bootstrap
for an ``asgi`` application.

The bootstrap loads this module by its path, in the application's process, only when it serves an ASGI
application: it imports the standard library only, and uvicorn when it serves (from the application's
own ``sys.path``, or the host's copy after it). The contract is the WSGI server's (``_serve`` in the
bootstrap): the same listening sockets (inherited, or bound here, held back until the host lets the
process take connections on a shared port), the same ready line, pid file and graceful stop.

What uvicorn gets: the application itself (a factory is called first), ASGI 3, the lifespan protocol
(``lifespan="auto"``: a failed start-up ends the process with status 3; an application that raises for
the ``lifespan`` scope is served without it), WebSocket connections when a WebSocket implementation is
importable, proxy headers from the web server only (``forwarded_allow_ips``). Behind a mount the
requests keep their whole path: the scope's ``root_path`` is set to the mount path here (uvicorn's own
``root_path`` would be put in front of the path a second time) and a request outside it answers 404.

A stop (SIGTERM or SIGINT) once serving takes the connections waiting on the listening sockets, closes
them, lets the requests in progress finish (a connection accepted a moment ago keeps
:data:`FRESH` seconds to send its first request), closes idle connections and sends the WebSocket ones
the close code 1012 (service restart), within ``drain`` seconds; then it runs the lifespan shutdown and
the process exits with status 0. A stop during start-up ends the process quietly.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["FRESH", "mounted", "serve"]

FRESH = 2.0
"""Seconds a stopping server waits for the first request of a connection it accepted before closing it."""
STARTUP_FAILED = 3
"""The exit status of a server whose application's lifespan start-up failed (uvicorn's own)."""
_NO_CYCLE = object()

App = Callable[..., Any]


def mounted(app: App, prefix: str) -> App:
    """*app* served under the mount path *prefix*: the scope's ``root_path`` is *prefix* and its ``path`` the
    request's whole path; an HTTP request outside *prefix* answers 404, a WebSocket handshake is refused."""

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            if path != prefix and not path.startswith(prefix + "/"):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                body = b"Not Found\n"
                headers = [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"%d" % len(body)),
                ]
                await send({"type": "http.response.start", "status": 404, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            scope = {**scope, "root_path": prefix}
        await app(scope, receive, send)

    return application


def serve(
    target: object,
    options: dict[str, Any],
    *,
    steer: Callable[..., None],
    admit: Callable[..., bool],
    sockets: Callable[[dict[str, Any]], tuple[list[Any], bool] | None],
    application: Callable[[object, dict[str, Any]], Any],
) -> int:
    """Serve the ASGI application *target* (or its factory's result) until SIGTERM or SIGINT.

    *options* are the bootstrap's ``serve`` options (``socket_fd`` or ``listen``, ``check``, ``hold``,
    ``factory``, ``config``, ``static``, ``pid_file``, ``ready_fd``, ``drain``) and: ``mount_path``, the
    mount path the requests come under; ``uvicorn``, more settings of ``uvicorn.Config``
    (``proxy_headers``, ``forwarded_allow_ips``, ``access_log``...). *steer*, *admit*, *sockets* and
    *application* are the bootstrap's: steer a shared port's new connections, admit a held-back port, the
    listening sockets (and whether the port is held back), the application to serve with its static
    directories (``None``: it said why there is none).
    """
    import contextlib
    import signal

    state: dict[str, Any] = {"stopping": False, "graceful": False}

    def stop(signum: int, frame: object) -> None:
        if not state["graceful"]:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            raise KeyboardInterrupt
        state["stopping"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    pid_file = options.get("pid_file")
    code = 0
    # A stop signal before the server runs ends the process quietly with status 0.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvicorn  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            sys.stderr.write(f"pyapp: cannot serve the ASGI application: {exc} (uvicorn serves it)\n")
            return 2
        app = application(target, options)
        if app is None:
            return 2
        if options.get("mount_path"):
            app = mounted(app, str(options["mount_path"]))
        bound = sockets(options)
        if bound is None:
            return 2
        socks, held = bound
        hold = options.get("hold")
        inherited = options.get("socket_fd") is not None
        # uvicorn's own root_path would be put in front of the path: the mount path is set above.
        settings = {"proxy_headers": False, "access_log": False, **(options.get("uvicorn") or {})}
        config = uvicorn.Config(app, interface="asgi3", lifespan="auto", log_level="info", **settings)
        import logging

        logging.basicConfig()
        server = _Server(config, state, drain=float(options.get("drain") or 10.0))
        if held:
            steering = options["listen"].get("steer")

            def take_over() -> None:
                socks[0].listen(1024)  # at once: the host reads the hold file's removal as "listening"
                if steering and steering[0] > 0:
                    steer(socks[0], int(steering[0]), int(steering[1]))
                server.take(socks[0])

            state["admit"] = lambda force=False: admit(str(hold), take_over, force)
        # Only the sockets bound here are this process's to remove; an inherited one is its parent's.
        names = [sock.getsockname() for sock in socks[int(inherited) :]]
        code = _run(server.serve(socks[1:] if held else socks, options), config)
        for name in names:
            if isinstance(name, str) and name:
                with contextlib.suppress(OSError):
                    os.unlink(name)
    if pid_file:
        with contextlib.suppress(OSError):
            with open(pid_file, encoding="ascii") as f:
                mine = f.read().strip() == str(os.getpid())
            if mine:
                os.unlink(pid_file)
    return code


def _run(main: Any, config: Any) -> int:
    """Run the coroutine *main* in uvicorn's event loop (uvloop where it is installed)."""
    import asyncio

    factory = getattr(config, "get_loop_factory", None)
    if factory is not None and hasattr(asyncio, "Runner"):
        with asyncio.Runner(loop_factory=factory()) as runner:
            return int(runner.run(main))
    return int(asyncio.run(main))


class _Server:
    """uvicorn's server, started on sockets given one by one and stopped the way the host needs."""

    def __init__(self, config: Any, state: dict[str, Any], *, drain: float) -> None:
        from uvicorn.server import Server  # type: ignore[import-not-found, unused-ignore]

        self.config = config
        self.state = state
        self.drain = drain
        self.server = Server(config)
        self.listening: list[tuple[Any, Any]] = []
        self.pending: list[Any] = []
        self.born: Any = None

    def protocol(self) -> Any:
        """A connection's protocol, as uvicorn makes it; when it was made is kept (:data:`FRESH`)."""
        made = self.config.http_protocol_class(
            config=self.config, server_state=self.server.server_state, app_state=self.server.lifespan.state
        )
        self.born[made] = time.monotonic()
        return made

    def take(self, sock: Any) -> None:
        """Serve *sock* too (from the loop: a held-back port the host let this process have)."""
        self.pending.append(sock)

    async def _open(self, sock: Any) -> None:
        import asyncio

        served = await asyncio.get_running_loop().create_server(self.protocol, sock=sock, backlog=1024)
        self.listening.append((sock, served))

    async def serve(self, socks: list[Any], options: dict[str, Any]) -> int:
        import asyncio
        import weakref

        self.born = weakref.WeakKeyDictionary()
        server, config = self.server, self.config
        if not config.loaded:
            config.load()
        server.lifespan = config.lifespan_class(config)
        await server.lifespan.startup()
        if server.lifespan.should_exit:
            sys.stderr.write("pyapp: the ASGI application did not start (its lifespan start-up failed)\n")
            return STARTUP_FAILED
        for sock in socks:
            await self._open(sock)
        await server.on_tick(0)  # the Date and Server headers
        pid_file = options.get("pid_file")
        if pid_file:
            with open(pid_file, "w", encoding="ascii") as f:
                f.write(f"{os.getpid()}\n")
        ready = options.get("ready_fd")
        if ready is not None:
            os.write(int(ready), b"ready\n")
            os.close(int(ready))
        self.state["graceful"] = True
        ticked = time.monotonic()
        while not self.state["stopping"]:
            if self.state.get("admit") and self.state["admit"]():
                del self.state["admit"]
            while self.pending:
                await self._open(self.pending.pop(0))
            # While the port is held back, look at the hold file often: the host waits for it.
            await asyncio.sleep(0.05 if self.state.get("admit") else 0.1)
            if time.monotonic() - ticked >= 1.0:
                ticked = time.monotonic()
                await server.on_tick(0)
        await self._stop()
        return 0

    async def _stop(self) -> None:
        """Stop taking connections, let the requests in progress end within the drain time, shut down."""
        import asyncio

        loop = asyncio.get_running_loop()
        waiting = []
        for sock, served in self.listening:
            # Take the connections that reached the socket before it closes: clients that
            # connected before the host switched to another server must get an answer.
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:  # BlockingIOError: none left
                    break
                waiting.append(conn)
            served.close()
        for conn in waiting:
            conn.setblocking(False)
            await loop.connect_accepted_socket(self.protocol, conn)
        state = self.server.server_state
        deadline = time.monotonic() + self.drain
        told: set[Any] = set()
        while time.monotonic() < deadline:
            for connection in list(state.connections):
                if connection in told:
                    continue
                # Idle, kept alive between requests: closed. One accepted a moment ago whose request has
                # not come in yet is not idle: its client is sending it. Any other ends after its response.
                fresh = getattr(connection, "cycle", _NO_CYCLE) is None
                if fresh and time.monotonic() - self.born.get(connection, 0.0) <= FRESH:
                    continue
                told.add(connection)
                connection.shutdown()
            if not state.connections and not state.tasks:
                break
            await asyncio.sleep(0.05)
        # Past the drain time: what is left is cut off.
        for task in list(state.tasks):
            task.cancel()
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await self.server.lifespan.shutdown()
