"""``pyapp run`` started again the same way: its web app starts before the command line has loaded.

A run that serves its web app only (no processes, tasks or ``--reload``) on a fixed TCP port keeps a
*launch record* once its web app is ready: what it started (the bootstrap's command line, variables and
payload), where it listened, and the size, modification time and inode of every file its preparation
read (the package or the checkout's description files, the configuration it was given, the state dir's
secrets and install marker). The record is kept under ``$XDG_CACHE_HOME/pyapp/launch/`` (mode 0600: it
holds the configuration), named after the command line, the directory and the variables that choose the
cache and state dirs.

The next run with the same command line (:func:`arm`, called by the ``pyapp`` console script before
anything else is imported) checks those files with a ``stat`` each, binds the port and starts the web
app from the record at once, while the command line loads and prepares the run as it always does. When
the prepared run starts its web app, it *adopts* the early one only if it is exactly what it would start
(:meth:`Session.adopt`: the same command line, variables, payload and socket); otherwise it stops the
early one and starts its own. An early start changes when the first response comes, never what answers.

Standard library only, and little of it: this runs before the rest of pyapp is imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import socket
    from collections.abc import Iterable, Mapping
    from typing import IO, Any

__all__ = ["EarlyChild", "Session", "arm", "disarm", "launch_root", "session", "stamps", "wait_ready"]

RECORD_VERSION = 1
KEY_VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "PIP_FIND_LINKS", "TMPDIR")
"""The variables that choose where a run's cache and state are (part of a record's key)."""


def launch_root() -> str:
    """``$XDG_CACHE_HOME/pyapp/launch`` (default ``~/.cache/pyapp/launch``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyapp", "launch")


def _key(argv: list[str]) -> list[Any]:
    return [
        RECORD_VERSION,
        list(argv),
        os.getcwd(),
        sys.executable,
        {name: os.environ.get(name) for name in KEY_VARIABLES},
    ]


def _record_path(key: list[Any]) -> str:
    text = json.dumps(key, sort_keys=True)
    return os.path.join(launch_root(), f"{zlib.crc32(text.encode()):08x}.json")


def stamps(paths: Iterable[str | os.PathLike[str]]) -> list[list[Any]]:
    """``[path, size, mtime_ns, inode]`` of each of *paths* (``[path, None, None, None]``: missing)."""
    out: list[list[Any]] = []
    for path in paths:
        name = os.fspath(path)
        try:
            st = os.stat(name)
        except OSError:
            out.append([name, None, None, None])
        else:
            out.append([name, st.st_size, st.st_mtime_ns, st.st_ino])
    return out


class EarlyChild:
    """The early web app's process, with what the run asks of a :class:`subprocess.Popen`."""

    def __init__(self, pid: int, stdout: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: IO[bytes] = open(stdout, "rb")  # noqa: SIM115 - closed by whoever reads it to the end

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode
        import time

        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                import subprocess

                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


class Session:
    """This process's ``pyapp run``, armed with its command line: the early start, if any, and its record."""

    def __init__(self, argv: list[str]) -> None:
        self.key = _key(argv)
        self.path = _record_path(self.key)
        self.record: dict[str, Any] | None = None
        self.sock: _socket.socket | None = None
        self.proc: EarlyChild | None = None
        self.ready_r = -1
        self.ready = False
        """Whether the early web app said it accepts connections (it did before the run adopts it)."""
        self.payload = ""
        self.early_fd = -1
        self.adopted = False
        self.bind: dict[str, Any] | None = None
        """Where the run listens, when an early start could serve it (a TCP port it chose)."""

    # -- the early start --------------------------------------------------------------

    def _load(self) -> dict[str, Any] | None:
        try:
            with open(self.path, encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != self.key:
            return None
        if stamps(s[0] for s in record["stamps"]) != record["stamps"]:
            return None  # something the run read has changed: the run prepares it again first
        return record

    def start(self) -> None:
        """Bind the recorded port and start the recorded web app, when the record is still true."""
        record = self._load()
        if record is None:
            return
        import _socket  # the C module: socket.py costs more than the whole early start

        bind = record["bind"]
        host = bind["host"]
        # An ASCII host as bytes: a str goes through the idna codec, which costs more to import than the rest.
        host = host.encode() if isinstance(host, str) and host.isascii() else host
        try:
            family, kind, proto, _, address = _socket.getaddrinfo(
                host, bind["port"], 0, _socket.SOCK_STREAM, 0, _socket.AI_PASSIVE
            )[0]
            sock = _socket.socket(family, kind, proto)
        except OSError:
            return
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1024)
        except OSError:
            sock.close()
            return  # the run reports it, as it would have
        self.record, self.sock, self.early_fd = record, sock, sock.fileno()
        import _signal  # type: ignore[import-not-found]  # the C module, without signal.py's enums

        # The early web app leads a session of its own: SIGINT or SIGTERM before the run takes over the
        # signals must still end it (see disarm), and the run with status 0, as later; and neither may
        # come between its start and this process knowing it.
        held = {_signal.SIGINT, _signal.SIGTERM}
        for signum in held:
            _signal.signal(signum, _stopped)
        _signal.pthread_sigmask(_signal.SIG_BLOCK, held)
        try:
            self._spawn(record["launch"])
        except OSError:
            self.discard()
            return
        finally:
            _signal.pthread_sigmask(_signal.SIG_UNBLOCK, held)
        # The rest of the command line loads once the web app serves: on a machine of few cores, loading
        # it meanwhile would only slow the web app's start.
        self.ready = wait_ready(self.ready_r)

    def _spawn(self, launch: Mapping[str, Any]) -> None:
        from apppackage.childenv import child_environ

        assert self.sock is not None
        sock_fd = self.sock.fileno()
        ready_r, ready_w = os.pipe()
        out_r, out_w = os.pipe()
        payload = dict(launch["payload"])
        payload["argument"] = dict(payload["argument"], socket_fd=sock_fd, ready_fd=ready_w)
        self.ready_r = ready_r
        self.payload = _write_payload(payload)
        argv = [*launch["argv"], self.payload]
        # As subprocess.Popen(start_new_session=True, pass_fds=...) would, without importing it.
        os.set_inheritable(sock_fd, True)
        os.set_inheritable(ready_w, True)
        try:
            pid = os.posix_spawn(
                argv[0], argv, child_environ(payload["variables"]),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, out_w, 2),
                ],
                setsid=True,
                setsigmask=(),
            )  # fmt: skip
        finally:
            os.set_inheritable(sock_fd, False)
            os.close(ready_w)
            os.close(out_w)
        self.proc = EarlyChild(pid, out_r)

    # -- what the prepared run does with it ---------------------------------------------

    def socket_for(self, host: str, port: int) -> socket.socket | None:
        """The early listening socket, when it is the one the run would bind on *host*:*port*.

        Port 0 (any free port) is never started early: the app's ``PYAPP_PORT`` changes each time."""
        self.bind = {"host": host, "port": port} if port else None
        if self.sock is None or self.record is None:
            return None
        if self.record["bind"] != self.bind:
            self.discard()
            return None
        import socket

        sock, self.sock = self.sock, None
        return socket.socket(fileno=sock.detach())

    def adopt(self, launch: Mapping[str, Any], sock: socket.socket) -> tuple[EarlyChild, str] | None:
        """The early web app (its process and payload file), ready, when it is exactly *launch* on *sock*;
        else ``None``, the early one stopped."""
        proc = self.proc
        if proc is None or self.record is None or not self.ready:
            self.discard()
            return None
        same = _comparable(self.record["launch"]) == _comparable(launch)
        if not same or sock.fileno() != self.early_fd or proc.poll() is not None:
            self.discard()
            return None
        self.adopted = True
        self.proc = None
        os.close(self.ready_r)
        self.ready_r = -1
        return proc, self.payload

    def remember(self, launch: Mapping[str, Any], inputs: list[list[Any]]) -> None:
        """Keep *launch*, the web app of a run that serves nothing else, for the next run with this command
        line; *inputs* are the stamps of what its preparation read. A run that listens elsewhere than on a
        TCP port it chose (:meth:`socket_for`) is forgotten instead."""
        if self.bind is None:
            self.forget()
            return
        record = {
            "key": self.key,
            "bind": self.bind,
            "launch": _comparable(launch),
            "stamps": inputs,
        }
        if self.record is not None and {k: self.record.get(k) for k in record} == record:
            return
        try:
            os.makedirs(launch_root(), mode=0o700, exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a run without a record next time: slower, no worse

    def forget(self) -> None:
        """Remove this command line's record (the run is not one an early start could serve)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def discard(self) -> None:
        """Stop the early web app and close what it held, unless the run adopted it. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None:
            import signal

            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - whatever it is, it goes now
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self.ready_r >= 0:
            os.close(self.ready_r)
            self.ready_r = -1
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.payload and not self.adopted:
            with contextlib.suppress(OSError):
                os.unlink(self.payload)


def _comparable(launch: Mapping[str, Any]) -> dict[str, Any]:
    """*launch* without what differs from one start to the next: the inherited descriptors."""
    payload = dict(launch["payload"])
    argument = {
        k: v for k, v in dict(payload.get("argument") or {}).items() if k not in ("socket_fd", "ready_fd")
    }
    payload["argument"] = argument
    # Through JSON, as a record read back is: tuples become lists, keys strings.
    comparable: dict[str, Any] = json.loads(json.dumps({"argv": list(launch["argv"]), "payload": payload}))
    return comparable


def wait_ready(fd: int) -> bool:
    """Whether the app wrote its ready line on the pipe *fd* (False: it closed the pipe by exiting first)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            return False
        data += chunk
    return True


def _write_payload(payload: Mapping[str, Any]) -> str:
    """Write *payload* to a new private file in the temporary directory; return its path."""
    directory = os.environ.get("TMPDIR") or "/tmp"  # noqa: S108 - as tempfile chooses, without importing it
    while True:
        path = os.path.join(directory, f"pyapp-{os.urandom(6).hex()}.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f)
        return path


_SESSION: Session | None = None


def arm(argv: list[str]) -> None:
    """Make this process's :class:`Session` for ``pyapp run`` *argv* and start its web app early when its
    record allows. Never raises: at worst the run starts as it would have without a record."""
    global _SESSION
    try:
        _SESSION = Session(argv)
        _SESSION.start()
    except Exception:  # noqa: BLE001 - an early start is an optimisation only
        if _SESSION is not None:
            _SESSION.discard()


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def session() -> Session | None:
    """This process's session, when the ``pyapp`` console script armed one."""
    return _SESSION


def disarm() -> None:
    """Stop what the session started early and nothing adopted (the run ended, or failed before)."""
    if _SESSION is not None:
        _SESSION.discard()
