"""Fixtures for the web server tests: real nginx/Apache/lighttpd and real waitress daemons.

Everything runs on loopback ports and under a short directory of its own (unix socket
paths are limited to 107 bytes). When the tests run as root, the web servers' workers
switch to an unprivileged user, so that directory belongs to their group (set-group-id, as
the runtime makes an app's socket directory: ``share_sockets``) and the daemons' sockets
are ``0660`` (``daemon_options`` does that for root): never writable by everybody.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyapp_runtime.isolation.perms import share_sockets
from pyapp_runtime.webservers import (
    Installation,
    Mount,
    ServerSettings,
    WebServer,
    daemon_options,
    find_installation,
)
from testkit import free_port

# A WSGI app that answers with what it saw, and appends each request path to its log.
ECHO_APP = """\
import json, sys, waitress
name, log_path, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def app(environ, start_response):
    with open(log_path, "a") as log:
        log.write(environ.get("REQUEST_URI", "") + "\\n")
    body = json.dumps({
        "app": name,
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
        "query": environ.get("QUERY_STRING", ""),
        "host": environ.get("HTTP_HOST"),
        "scheme": environ["wsgi.url_scheme"],
        "remote_addr": environ.get("REMOTE_ADDR"),
        "link": environ["SCRIPT_NAME"] + "/page",
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
waitress.serve(app, **options)
"""

CLIENT_ADDRESS = "127.0.0.2"
"""The tests' requests come from this loopback address, so the app can tell it from the proxy's."""


def installed(kind: str) -> Installation:
    found = find_installation(kind)  # type: ignore[arg-type]
    if found is None:
        pytest.skip(f"{kind} is not installed (./dev test installs it)")
    return found


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def requests(self) -> list[str]:
        """The request URIs this daemon has served."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def accepting(options: dict[str, object]) -> bool:
    if "unix_socket" in options:
        family, target = socket.AF_UNIX, options["unix_socket"]
    else:
        family, target = socket.AF_INET, (options["host"], options["port"])
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(target)  # type: ignore[arg-type]
        except OSError:
            return False
    return True


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, str]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def fetch(
    port: int,
    path: str,
    host: str,
    *,
    tls: bool = False,
    headers: dict[str, str] | None = None,
    address: str = "127.0.0.1",
) -> Response:
    """One GET request from ``CLIENT_ADDRESS`` with a Host header (and SNI for TLS)."""
    raw = socket.create_connection((address, port), timeout=30, source_address=(CLIENT_ADDRESS, 0))
    sock: socket.socket = raw
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(raw, server_hostname=host.split(":")[0])
    with sock:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pyapp-ws-", dir="/tmp"))
    path.chmod(0o711)
    if os.geteuid() == 0:
        share_sockets(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_daemon(short_dir: Path) -> Iterator[Callable[[Mount], Daemon]]:
    """Start the echo app under waitress for a mount, with the options the mount asks for."""
    script = short_dir / "echo_app.py"
    script.write_text(ECHO_APP)
    started: list[Daemon] = []

    def start(mount: Mount, name: str | None = None) -> Daemon:
        name = name or mount.app
        options = daemon_options(mount)
        log = short_dir / f"{name}.requests"
        process = subprocess.Popen(
            [sys.executable, str(script), name, str(log), json.dumps(options)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        daemon = Daemon(name=name, process=process, log=log)
        started.append(daemon)
        deadline = time.monotonic() + 20
        while not accepting(options):
            assert process.poll() is None, f"daemon {name} exited"
            assert time.monotonic() < deadline, f"daemon {name} did not start"
            time.sleep(0.02)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def make_server(short_dir: Path) -> Iterator[Callable[[str], WebServer]]:
    """A managed web server of a kind, stopped (its process group killed) afterwards."""
    servers: list[WebServer] = []

    def make(kind: str) -> WebServer:
        server = WebServer.in_state_dir(short_dir / "webservers", installed(kind), ServerSettings(workers=1))
        servers.append(server)
        return server

    yield make
    for server in servers:
        pid = server.pid()
        with contextlib.suppress(Exception):
            server.stop()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def certificate() -> Iterator[tuple[str, str]]:
    """A self-signed certificate and key for TLS virtual hosts (readable by the servers' workers)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (./dev test installs it)")
    folder = Path(tempfile.mkdtemp(prefix="pyapp-ws-tls-", dir="/tmp"))
    folder.chmod(0o755)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=own.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o644)
    try:
        yield str(cert), str(key)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="fetch")
def fetch_fixture() -> Callable[..., Response]:
    """:func:`fetch`: one request through a web server."""
    return fetch


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """:func:`free_port`: a loopback port nothing listens on."""
    return free_port


@pytest.fixture
def client_address() -> str:
    return CLIENT_ADDRESS
