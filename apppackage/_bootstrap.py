"""The start of every process run for an application (spec section 5).

Run as a script (``python -s -S _bootstrap.py PAYLOAD``) it reads a JSON payload,
sets ``sys.path`` and the variables, and calls the application's object. It uses
the standard library only and imports nothing it does not need: it is on the
start path of every application process.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported on the start path of every process
    from typing import Any

__all__ = ["interpreter_paths", "resolve", "split_ref", "undeclared"]


def split_ref(ref: str) -> tuple[str, str]:
    """Split ``module.path:attr.path``; raise ``ValueError`` when it is not one."""
    module, sep, attrs = ref.partition(":")
    if not sep or not module or not attrs:
        raise ValueError(f"{ref!r} is not a 'module:attribute' reference")
    return module, attrs


def resolve(ref: str) -> object:
    """Import the module of *ref* and walk its attribute path."""
    import importlib

    module_name, attrs = split_ref(ref)
    obj: object = importlib.import_module(module_name)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


def interpreter_paths(paths: list[str]) -> list[str]:
    """The entries of *paths* that belong to the interpreter's standard library, not site-packages."""
    bases = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    out = []
    for entry in paths:
        if not entry:
            continue
        real = os.path.realpath(entry)
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            continue
        if any(real == b or real.startswith(b + os.sep) for b in bases):
            out.append(entry)
    return out


_SURROUNDING: list[str] = []
"""The site-packages around a checkout run (the payload's ``surrounding``), for :func:`undeclared`."""


def _apply(payload: dict) -> None:  # type: ignore[type-arg]
    sys.path[:] = list(payload["sys_path"]) + interpreter_paths(sys.path)
    os.environ.update(payload["variables"])
    _SURROUNDING[:] = payload.get("surrounding") or []


def undeclared(exc: BaseException | None, surrounding: list[str]) -> str | None:
    """What to do about *exc* when it is (or was raised while handling) the failed import of a module
    the app's ``sys.path`` lacks but the directories *surrounding* hold: declare its distribution.

    ``None`` for any other failure. Only called once a process has failed: it may be slow.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            break
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    if not isinstance(exc, ModuleNotFoundError) or not exc.name or not surrounding:
        return None
    import importlib.machinery
    import importlib.metadata
    import inspect

    top = exc.name.partition(".")[0]
    finder = importlib.machinery.PathFinder
    if finder.find_spec(top, sys.path) is not None or finder.find_spec(top, surrounding) is None:
        return None
    names = []
    for dist in importlib.metadata.distributions(path=surrounding):
        tops = set((dist.read_text("top_level.txt") or "").split())
        if not tops:
            for file in dist.files or ():
                tops.add(file.parts[0] if len(file.parts) > 1 else inspect.getmodulename(str(file)) or "")
        name = dist.metadata["Name"]
        if top in tops and name and name not in names:
            names.append(name)
    where = "(`dependencies: packages:` in metadata.yaml, or `dependencies` in pyproject.toml's [project])"
    start = f"module {top!r} is not among the app's declared dependencies; the surrounding environment has it"
    if not names:
        return f"{start} (no distribution names it): add the one that provides it to the dependencies {where}"
    which = " or ".join(repr(n) for n in names)
    return f"{start} from distribution {which}: add {names[0]!r} to the dependencies {where}"


def _explain(exc: BaseException | None) -> None:
    hint = undeclared(exc, _SURROUNDING)
    if hint:
        sys.stderr.write(f"pyapp: {hint}\n")


def _exit_code(result: object) -> int:
    if result is None:
        return 0
    if isinstance(result, bool):
        return 0 if result else 1
    if isinstance(result, int):
        # An exit status is one byte: 256 would read as success.
        return result if 0 <= result <= 255 else 1
    return 0


def _listen(spec: dict, listen: bool = True) -> object:  # type: ignore[type-arg]
    """Bind the listening socket *spec* names: ``{"unix": path, "perms": "600"}`` or
    ``{"host": "127.0.0.1", "port": N, "reuse_port": bool}``; listen on it unless *listen* is false."""
    import socket
    import stat

    if spec.get("unix"):
        path = str(spec["unix"])
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)  # left by a server of this process's name that is gone
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, int(str(spec.get("perms") or "600"), 8))
    else:
        family, kind, proto, _, address = socket.getaddrinfo(
            spec.get("host") or "127.0.0.1", int(spec["port"]), type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if spec.get("reuse_port"):
            # Several processes of one server share the port; the kernel spreads the connections.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    if listen:
        sock.listen(1024)
    return sock


def _serve(target: object, options: dict) -> int:  # type: ignore[type-arg]
    """Serve the WSGI app *target* with waitress (section 6.6) until SIGTERM or SIGINT.

    *options*: where to listen -- ``socket_fd`` (a listening socket bound by the host
    and inherited) or ``listen`` (bound here, see :func:`_listen`); ``factory`` and
    ``config`` (call ``target(config)`` first); ``static``, ``[url, directory]`` pairs answered
    from the files before the app (see ``_static.py``); ``threads``; ``waitress``, more
    waitress settings (``url_prefix``, ``trusted_proxy``...); ``check``, a unix socket
    (as for ``listen``) also served, where the host asks this process alone when its
    port is shared (``reuse_port``); ``pid_file``, written once
    the server listens; ``ready_fd``, a pipe that gets one line once the server accepts
    connections; ``drain``, the seconds a stop may take (default 10); ``hold``, a file:
    while it exists (with a ``check`` socket), the ``listen`` socket is bound but takes no
    connection -- the host checks this process's health first, then writes ``go`` in
    the file, and the process listens and removes it.

    A stop signal during start-up ends the process quietly. Once serving, a stop
    accepts the connections already waiting, stops listening, lets the requests in
    progress finish and closes idle connections, then exits with status 0.

    With ``asgi`` true, *target* is an ASGI application (section 3.16), served with uvicorn on the
    same terms (``_asgi.py`` beside this file; its ``mount_path`` and ``uvicorn`` options replace
    ``waitress`` and ``threads``).
    """
    if options.get("asgi"):
        with_static = lambda app, static: _sibling("_static.py").with_static_asgi(app, static)  # noqa: E731
        return _sibling("_asgi.py").serve(  # type: ignore[no-any-return]
            target, options, steer=_steer, admit=_admit, sockets=_sockets,
            application=lambda target, options: _application(target, options, "ASGI", with_static),
        )  # fmt: skip
    import contextlib
    import logging
    import signal

    # waitress comes from the application's sys.path: its own site-packages, or the
    # host's server-packages entry after them.
    import waitress  # type: ignore[import-untyped, unused-ignore]

    # Until the graceful loop runs, a stop signal raises KeyboardInterrupt; then it only asks.
    state: dict = {"server": None, "stopping": False}  # type: ignore[type-arg]

    def stop(signum: int, frame: object) -> None:
        if state["server"] is None or not state.get("graceful"):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            raise KeyboardInterrupt
        state["stopping"] = True
        _wake(state["server"])

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    pid_file = options.get("pid_file")
    # A stop signal before the server runs ends the process quietly with status 0.
    with contextlib.suppress(KeyboardInterrupt):
        app = _application(target, options, "WSGI", _with_static)
        if app is None:
            return 2
        logging.basicConfig()
        bound = _sockets(options)
        if bound is None:
            return 2
        socks, held = bound
        if options.get("socket_fd") is not None:
            # The inherited socket's file is its parent's, which serves it again after a restart.
            state["inherited"] = socks[0].getsockname()
        settings = dict(options.get("waitress") or {})
        settings["threads"] = int(options.get("threads") or 4)
        serving = socks[1:] if held else socks
        # waitress serves a TCP and a unix socket as two servers: one event loop, one thread pool.
        socket_map: dict = {}  # type: ignore[type-arg]
        state["server"] = server = waitress.create_server(
            app, map=socket_map, sockets=serving[:1], **settings
        )

        def serve(sock: object) -> None:
            waitress.create_server(
                app, map=socket_map, _dispatcher=server.task_dispatcher, sockets=[sock], **settings
            )

        for extra in serving[1:]:
            serve(extra)
        if held:
            steer = options["listen"].get("steer")

            def take_over() -> None:
                serve(socks[0])
                if steer and steer[0] > 0:
                    _steer(socks[0], int(steer[0]), int(steer[1]))

            state["admit"] = lambda force=False: _admit(str(options["hold"]), take_over, force)
        if pid_file:
            with open(pid_file, "w", encoding="ascii") as f:
                f.write(f"{os.getpid()}\n")
        ready = options.get("ready_fd")
        if ready is not None:
            os.write(int(ready), b"ready\n")
            os.close(int(ready))
        _run(server, state, float(options.get("drain") or 10.0))
    if pid_file:
        with contextlib.suppress(OSError):
            with open(pid_file, encoding="ascii") as f:
                mine = f.read().strip() == str(os.getpid())
            if mine:
                os.unlink(pid_file)
    return 0


def _application(target: object, options: dict, kind: str, with_static: object) -> object:  # type: ignore[type-arg]
    """What a ``serve`` serves: *target*, or what its factory returns for the filled-in configuration,
    answering the static directories first (*with_static*); ``None`` once it said why it cannot."""
    app = target(dict(options.get("config") or {})) if options.get("factory") else target  # type: ignore[operator]
    if not callable(app):
        sys.stderr.write(f"pyapp: the {kind} application is not callable\n")
        return None
    if options.get("static"):
        try:
            return with_static(app, options["static"])  # type: ignore[operator]
        except ImportError as exc:
            sys.stderr.write(f"pyapp: cannot serve the static directories: {exc}\n")
            return None
    return app


def _sockets(options: dict) -> tuple[list, bool] | None:  # type: ignore[type-arg]
    """The listening sockets of a ``serve``, the inherited one (``socket_fd``) first, then those bound
    here (``listen``, then ``check``); and whether the port is held back (its ``hold`` file exists: it is
    bound, not listened on, until the host lets this process have it). ``None`` once it said which
    could not be bound."""
    import socket

    wanted = [options["listen"]] if options.get("socket_fd") is None else []
    wanted += [options["check"]] if options.get("check") else []
    hold = options.get("hold") if len(wanted) == 2 else None
    held = bool(hold) and os.path.exists(str(hold))
    socks: list[object] = []
    for spec in wanted:
        try:
            socks.append(_listen(spec, listen=not (held and not socks)))
        except OSError as exc:
            sys.stderr.write(f"pyapp: cannot listen on {spec}: {exc}\n")
            return None
    if options.get("socket_fd") is not None:
        socks.insert(0, socket.socket(fileno=int(options["socket_fd"])))
    return socks, held


def _with_static(app: object, static: list) -> object:  # type: ignore[type-arg]
    """*app* answering the static requests of *static* (section 3.10) itself (see ``_static.py``)."""
    return _sibling("_static.py").with_static(app, static)


def _sibling(name: str) -> Any:
    """The module *name* beside this file, loaded by its path once (the application's ``sys.path`` holds
    nothing of the host's)."""
    import importlib.util

    key = "_pyapp_" + name.removesuffix(".py").lstrip("_")
    if key in sys.modules:
        return sys.modules[key]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def _wake(server: object) -> None:
    """Interrupt the server's wait for events (from a signal handler: a byte to its trigger pipe)."""
    import contextlib

    socket_map = getattr(server, "_map", None) or getattr(server, "map", None) or {}
    for dispatcher in list(socket_map.values()):
        pull = getattr(dispatcher, "pull_trigger", None)
        if pull is not None:
            with contextlib.suppress(OSError):
                pull()
            return


def _steer(sock: object, first: int, copies: int) -> None:
    """Send the new connections of the port to the sockets that joined its group from index *first* on.

    Once healthy, a new generation's daemons listen beside the *first* sockets of the
    running one (its ``copies`` join after them); a classic BPF program for the group
    (``SO_ATTACH_REUSEPORT_CBPF``) then gives them every new connection, so that the old
    ones have nothing waiting when they close. An index past the group's end (the old
    ones gone) falls back to the kernel's hash. Where the kernel refuses, nothing changes.
    """
    import contextlib
    import ctypes
    import socket
    import struct

    if copies == 1:
        code = [(0x06, 0, 0, first)]  # ret #first
    else:  # ld rand; mod #copies; add #first; ret a
        code = [(0x20, 0, 0, 0xFFFFF038), (0x94, 0, 0, copies), (0x04, 0, 0, first), (0x16, 0, 0, 0)]
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *line) for line in code))
    with contextlib.suppress(OSError):  # SO_ATTACH_REUSEPORT_CBPF, with a struct sock_fprog
        fprog = struct.pack("HP", len(code), ctypes.addressof(program))  # C layout, padding and all
        sock.setsockopt(socket.SOL_SOCKET, 51, fprog)  # type: ignore[attr-defined]


FRESH = 2.0
"""Seconds a stopping server waits for the first request of a connection it accepted before closing it."""


def _admit(hold: str, serve: object, force: bool = False) -> bool:
    """Whether the port held back by *hold* now takes connections: once the host wrote ``go`` in
    the file, or removed it (or *force*), *serve* is called and the file removed."""
    import contextlib

    with contextlib.suppress(FileNotFoundError), open(hold, encoding="ascii") as f:
        if f.read().strip() != "go" and not force:
            return False
    serve()  # type: ignore[operator]
    with contextlib.suppress(OSError):
        os.unlink(hold)
    return True


def _run(server: object, state: dict, drain: float) -> None:  # type: ignore[type-arg]
    """Serve until ``state["stopping"]``, then stop gracefully within *drain* seconds.

    waitress alone stops at once (requests in progress are cut off), so the loop is
    run here, one step at a time, with waitress's own event loop.
    """
    import contextlib
    import time

    try:
        from waitress import wasyncore  # type: ignore[import-untyped, unused-ignore]
        from waitress.channel import HTTPChannel  # type: ignore[import-untyped, unused-ignore]
        from waitress.server import BaseWSGIServer  # type: ignore[import-untyped, unused-ignore]

        socket_map = server._map if hasattr(server, "_map") else server.map  # type: ignore[attr-defined]
        adj = server.adj  # type: ignore[attr-defined]
        use_poll = adj.asyncore_use_poll
    except (ImportError, AttributeError):  # another waitress: its own loop, which stops at once
        if state.get("admit"):
            state.pop("admit")(True)
        server.run()  # type: ignore[attr-defined]
        return
    state["graceful"] = True
    while not state["stopping"]:
        if state.get("admit") and state["admit"]():
            del state["admit"]
        # While the port is held back, look at the hold file often: the host waits for it.
        timeout = 0.05 if state.get("admit") else adj.asyncore_loop_timeout
        wasyncore.loop(timeout=timeout, map=socket_map, use_poll=use_poll, count=1)
    for listener in [d for d in list(socket_map.values()) if isinstance(d, BaseWSGIServer)]:
        # Take the connections that reached the socket before it closes: clients that
        # connected before the host switched to another server must get an answer.
        while True:
            before = len(socket_map)
            listener.handle_accept()
            if len(socket_map) == before:
                break
        listener.accepting = False
        listener.del_channel()
        name = listener.socket.getsockname()
        listener.socket.close()
        if isinstance(name, str) and name and name != state.get("inherited"):
            with contextlib.suppress(OSError):
                os.unlink(name)
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        channels = [c for c in list(socket_map.values()) if isinstance(c, HTTPChannel)]
        if not channels:
            break
        for channel in channels:
            if not channel.requests and not channel.total_outbufs_len and channel.request is None:
                # Idle, kept alive between requests: close it. One accepted a moment ago whose
                # request has not come in yet is not idle: its client is sending it.
                fresh = channel.last_activity == channel.creation_time
                if not fresh or time.time() - channel.creation_time > FRESH:
                    channel.will_close = True
        wasyncore.loop(timeout=0.05, map=socket_map, use_poll=use_poll, count=1)
    server.task_dispatcher.shutdown(timeout=1)  # type: ignore[attr-defined]


def _main(argv: list[str]) -> int:
    import json

    with open(argv[1], encoding="utf-8") as f:
        payload = json.load(f)
    if payload.get("delete"):
        os.unlink(argv[1])
    _apply(payload)
    if payload.get("cwd"):
        os.chdir(payload["cwd"])
    kind = payload["kind"]
    ref = payload["ref"]
    try:
        target = resolve(ref)
    except Exception as exc:  # noqa: BLE001 - reported to the host, which shows it
        sys.stderr.write(f"pyapp: cannot load {ref!r}: {type(exc).__name__}: {exc}\n")
        _explain(exc)
        return 2
    if kind == "command":
        argv_for_app = list(payload.get("argument") or [])
        sys.argv = [payload.get("name", ref), *argv_for_app]
        return _exit_code(target(argv_for_app))  # type: ignore[operator]
    if kind in ("hook", "task"):
        result = target(payload.get("argument"))  # type: ignore[operator]
        if result is False:
            sys.stderr.write(f"pyapp: {ref} returned False\n")
            return 1
        return 0
    if kind == "process":
        return _exit_code(target(*(payload.get("argument") or [])))  # type: ignore[operator]
    if kind == "serve":
        return _serve(target, payload.get("argument") or {})
    sys.stderr.write(f"pyapp: unknown kind {kind!r}\n")
    return 2


if __name__ == "__main__":
    # sys.path[0] is this file's directory: drop it so that nothing of the host leaks in.
    del sys.path[0]
    import signal

    # The host stops an app's process with SIGTERM: whatever started it ignoring SIGTERM (the launcher
    # of a sandbox, which must outlive the signal), the app starts with the default action.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        code = _main(sys.argv)
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - any failure of the app is reported, then exit 1
        import traceback

        traceback.print_exc()
        _explain(sys.exc_info()[1])
        code = 1
    sys.stdout.flush()
    sys.exit(code)
