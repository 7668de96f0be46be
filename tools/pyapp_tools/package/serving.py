"""Serving a :class:`~pyapp_tools.package.running.LocalRun` with waitress (a WSGI app) or uvicorn (an ASGI
app), and running one of its commands.

The server runs in its own process, started through ``apppackage``'s bootstrap
with the ``serve`` kind: this process binds the listening socket (so that
``--port 0`` has a known port before the app starts, and ``PYAPP_PORT`` is right),
passes it to the child, and waits for the child to say it accepts connections.
SIGINT and SIGTERM stop the child cleanly; the run then ends with status 0.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apppackage import AppPackageError
from apppackage.childenv import child_environ
from apppackage.description import Asgi, Description, Wsgi
from apppackage.hooks import bootstrap_argv, write_payload

from .quickstart import wait_ready
from .running import LocalRun

__all__ = [
    "exit_status",
    "listen",
    "run_command",
    "serve",
    "url_for",
    "wait_ready",
    "web_argument",
    "web_part",
]

STOP_GRACE = 10.0


def listen(host: str, port: int, unix_socket: str | None = None) -> socket.socket:
    """A listening socket on *host*:*port* (0: any free port) or on the Unix socket *unix_socket*."""
    if unix_socket:
        path = Path(unix_socket)
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise AppPackageError(f"--unix-socket {path}: exists and is not a socket")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # a stale socket left by a server that is gone
            else:
                raise AppPackageError(f"--unix-socket {path}: another server is listening on it")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        except OSError as exc:
            sock.close()
            raise AppPackageError(f"--unix-socket {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        sock.listen(1024)
        return sock
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AppPackageError(f"--host {host}: {exc.strerror}") from None
    family, socktype, proto, _, address = infos[0]
    sock = socket.socket(family, socktype, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise AppPackageError(
            f"cannot listen on {host}:{port}: {exc.strerror} (pick another --port; --port 0 picks a free one)"
        ) from None
    sock.listen(1024)
    return sock


def url_for(sock: socket.socket) -> str:
    """The address *sock* listens on, as a URL (or ``unix:PATH``)."""
    if sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def web_part(description: Description) -> Wsgi | Asgi | None:
    """What a run serves: the description's WSGI or ASGI application (``None``: it serves no HTTP)."""
    return description.wsgi if description.wsgi is not None else description.asgi


def web_argument(run: LocalRun, *, socket_fd: int, ready_fd: int, threads: int) -> dict[str, Any]:
    """What the bootstrap's ``serve`` kind gets to serve the app of *run* on the inherited listening
    socket *socket_fd*, writing a line to the pipe *ready_fd* once it accepts connections."""
    description = run.package.description
    web = web_part(description)
    assert web is not None
    argument: dict[str, Any] = {
        "socket_fd": socket_fd,
        "ready_fd": ready_fd,
        "factory": web.factory,
        "config": run.config,
        # No web server in front: the server answers the static directories itself (section 3.10).
        "static": [[s.url, str(run.host.root / s.dir)] for s in description.static],
    }
    if description.wsgi is not None:
        argument["threads"] = threads
    else:  # uvicorn: one line per request, as a developer expects of it
        argument.update(asgi=True, uvicorn={"access_log": True})
    return argument


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def serve(
    run: LocalRun,
    sock: socket.socket,
    *,
    threads: int = 4,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Serve the app of *run* on the listening *sock* until it exits or this process is stopped.

    *on_ready(url)* is called once the app is loaded and the server accepts
    connections. Returns 0 after SIGINT/SIGTERM, else the server's exit status.
    Call it from the main thread (it handles SIGTERM while it runs).
    """
    package = run.package
    web = web_part(package.description)
    if web is None:
        raise AppPackageError(
            f"{run.release} declares no WSGI or ASGI application (no /wsgi or /asgi in metadata.yaml): "
            "nothing to serve; run one of its commands with `pyapp command`"
        )
    unix_path = sock.getsockname() if sock.family == socket.AF_UNIX else None
    port = None if unix_path else sock.getsockname()[1]
    env = package.environment(run.host, port=port, socket=unix_path, services=run.services)
    ready_r, ready_w = os.pipe()
    argument = web_argument(run, socket_fd=sock.fileno(), ready_fd=ready_w, threads=threads)
    url = url_for(sock)
    payload = write_payload(
        env, kind="serve", ref=web.app, argument=argument, name="web", cwd=run.host.data_path
    )
    previous_term = signal.signal(signal.SIGTERM, _raise_stop)
    previous_int = signal.getsignal(signal.SIGINT)
    proc = None
    try:
        proc = subprocess.Popen(
            bootstrap_argv(payload),
            env=child_environ(env.variables),
            stdin=subprocess.DEVNULL,
            pass_fds=(sock.fileno(), ready_w),
        )
        # The child has its own copies: a server that dies refuses connections at once.
        os.close(ready_w)
        ready_w = -1
        sock.close()
        if wait_ready(ready_r) and on_ready is not None:
            on_ready(url)
        return exit_status(proc.wait())
    except (KeyboardInterrupt, _Stop):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if proc is not None:
            _stop(proc)
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            _stop(proc)  # an unexpected error here must not leave the server running
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)
        payload.unlink(missing_ok=True)
        sock.close()
        if unix_path:
            Path(unix_path).unlink(missing_ok=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass


def exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the command's process is stopped before this one ends."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated


def run_command(run: LocalRun, name: str, argv: Sequence[str]) -> int:
    """Run the app's command *name* with *argv* in the caller's cwd and terminal; return its exit status.

    Ctrl-C and SIGTERM stop the command (its process gets SIGTERM) and give 130 and 143.
    Call it from the main thread (it handles SIGTERM while it runs).
    """
    package = run.package
    env = package.environment(run.host, services=run.services)
    previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        result = package.run_command(name, list(argv), env=env, capture=False)
    except _Terminated:
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    return exit_status(result.returncode)
