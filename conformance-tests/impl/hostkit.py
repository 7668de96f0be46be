"""A scratch pyapp host for one conformance case: what ``pyapp-host-impl`` runs every case on.

:class:`ScratchHost` is a :class:`pyapp_runtime.Host` in a new directory under the
system's temporary directory (a short path: the apps' unix sockets live below it),
running the apps' processes under its own supervisord, with no web server in front
(``web_server: none``: each app's daemon answers its static files itself, spec
section 3.10), no system user per app and no sandbox, so that it needs no root. It
takes its ports from a range of its own. Leaving it ends every process started below
its directory and removes the directory.

:func:`write_package` writes a built package directory: the case's files and their
``RECORD`` (section 2.3), which a host installs like the ``.pyapp`` holding the same
files (section 2.1).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["ScratchHost", "alive", "environ", "fetch", "wait_for", "write_package"]

WAIT = 30.0
"""How long a step waits for what an app does on its own (a file it writes, a process that starts)."""


def write_package(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """The package directory *root* holding *files* (relative path -> text) and their ``RECORD``."""
    rows = []
    for name, content in sorted(files.items()):
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        rows.append(f"{name},sha256={digest},{len(data)}\n")
    (root / "RECORD").write_text("".join([*rows, "RECORD,,\n"]), "utf-8")
    return root


def alive(pid: int) -> bool:
    """Whether process *pid* runs (a zombie its parent has not reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    """*predicate*'s first true value within *timeout* seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def fetch(
    where: str | int,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """One request, its path sent exactly as given, to a unix socket (a path) or a loopback port.

    The answer is ``{"status", "headers" (lower-case names), "body"}``; ``{"status": null,
    "error": ...}`` when nothing answers.
    """
    connection: http.client.HTTPConnection
    if isinstance(where, int):
        connection = http.client.HTTPConnection("127.0.0.1", where, timeout=timeout)
    else:
        connection = _UnixConnection(where, timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Connection": "close", **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        return {
            "status": response.status,
            "headers": {name.lower(): value for name, value in response.getheaders()},
            "body": body.decode("utf-8", "replace"),
        }
    except OSError as exc:
        return {"status": None, "error": str(exc)}
    finally:
        connection.close()


class ScratchHost:
    """A host in a new temporary directory, for one case (a context manager)."""

    def __init__(self) -> None:
        from pyapp_runtime import Host
        from pyapp_runtime.settings import HostSettings

        # A short path: unix sockets (the apps', supervisord's) must fit in 108 bytes.
        parent = "/tmp" if os.path.isdir("/tmp") else None
        self.base = Path(tempfile.mkdtemp(prefix="pyapp-c-", dir=parent))
        self.home = self.base / "home"
        low = random.randrange(20000, 60000)
        settings = {
            "daemons": True,
            "ports": f"{low}-{low + 60}",
            "app_users": False,
            "confinement": "none",
            "web_server": "none",
        }
        # The host reads host.yaml where it is not handed its settings (its hooks do), and the variables
        # that override it are this process's, not the host's: none of them apply here.
        for variable in ("PYAPP_HOME", "PYAPP_DAEMONS", "PYAPP_WEB_SERVER"):
            os.environ.pop(variable, None)
        self.home.mkdir()
        (self.home / "host.yaml").write_text(json.dumps(settings), "utf-8")
        self.host = Host(self.home, settings=HostSettings.load(self.home), web_server="none")

    def __enter__(self) -> ScratchHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, *parts: str) -> Path:
        """A path in the scratch directory, outside the host's home (the cases' own files)."""
        return self.base.joinpath(*parts)

    def app_dir(self, name: str, *parts: str) -> Path:
        """A directory of app *name* on this host (its data path: ``app_dir(name, "data")``)."""
        return self.home.joinpath("apps", name, *parts)

    def web_address(self, name: str) -> str | int | None:
        """Where app *name*'s WSGI server listens: its stable unix socket, or its port."""
        stable = self.app_dir(name, "run", "web.sock")
        if stable.exists():
            return str(stable)
        with contextlib.suppress(Exception):
            for status in self.host.status(name):
                if status.role == "web" and status.state == "running":
                    return status.socket or status.port
        return None

    def close(self) -> None:
        """End every process started below the scratch directory (supervisord and the apps'), remove it."""

        def kill_all() -> bool:
            found = self._processes()
            for pid in found:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            return not found

        wait_for(kill_all, timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)

    def _processes(self) -> list[int]:
        """The live processes whose command line or working directory lies below the scratch directory."""
        inside = str(self.base) + os.sep
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if (any(inside in arg for arg in argv) or (cwd + os.sep).startswith(inside)) and alive(
                int(entry)
            ):
                found.append(int(entry))
        return found


@contextlib.contextmanager
def environ(variables: Mapping[str, str]) -> Iterator[None]:
    """This process's environment (which the host and its supervisord inherit) with *variables* added."""
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
