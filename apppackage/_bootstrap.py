"""The start of every process run for an application (spec section 5).

Run as a script (``python -s -S _bootstrap.py PAYLOAD``) it reads a JSON payload,
sets ``sys.path`` and the variables, and calls the application's object. It uses
the standard library only and imports nothing it does not need: it is on the
start path of every application process.
"""

from __future__ import annotations

import os
import sys

__all__ = ["interpreter_paths", "resolve", "split_ref"]


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


def _apply(payload: dict) -> None:  # type: ignore[type-arg]
    sys.path[:] = list(payload["sys_path"]) + interpreter_paths(sys.path)
    os.environ.update(payload["variables"])


def _exit_code(result: object) -> int:
    if result is None:
        return 0
    if isinstance(result, bool):
        return 0 if result else 1
    if isinstance(result, int):
        # An exit status is one byte: 256 would read as success.
        return result if 0 <= result <= 255 else 1
    return 0


def _serve(target: object, options: dict) -> int:  # type: ignore[type-arg]
    """Serve the WSGI app *target* with waitress on an inherited listening socket (section 6.6).

    *options*: ``socket_fd`` (bound and listening, passed by the host), ``factory``
    and ``config`` (call ``target(config)`` first), ``threads``, and ``ready_fd``, a
    pipe that gets one line once the server accepts connections. SIGINT and SIGTERM
    stop it cleanly with exit status 0.
    """
    import contextlib
    import logging
    import signal
    import socket

    # waitress comes from the application's sys.path: its own site-packages, or the
    # host's server-packages entry after them.
    import waitress  # type: ignore[import-untyped, unused-ignore]

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # A stop signal at any point from here on ends the process quietly with status 0;
    # once the loop runs, run() itself returns after shutting down.
    with contextlib.suppress(KeyboardInterrupt):
        factory = options.get("factory")
        app = target(dict(options.get("config") or {})) if factory else target  # type: ignore[operator]
        if not callable(app):
            sys.stderr.write("pyapp: the WSGI application is not callable\n")
            return 2
        logging.basicConfig()
        sock = socket.socket(fileno=int(options["socket_fd"]))
        server = waitress.create_server(app, sockets=[sock], threads=int(options.get("threads") or 4))
        ready = options.get("ready_fd")
        if ready is not None:
            os.write(int(ready), b"ready\n")
            os.close(int(ready))
        server.run()
    return 0


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
    try:
        code = _main(sys.argv)
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - any failure of the app is reported, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.exit(code)
