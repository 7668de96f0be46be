"""Fixtures for the supervision tests: a real supervisord under a short state directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyapp_runtime.supervision import ProcessSpec, Supervisor

# A tiny HTTP server on a free loopback port: prints "port N", answers with its pid.
HTTP_SERVER = """\
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()} {os.environ.get('GREETING', '')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="pyapp-sv-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stop_supervisord(state_dir: Path) -> None:
    """Shut the supervisord of *state_dir* down; kill it by its pid file if it does not answer."""
    sup = Supervisor(state_dir)
    try:
        if sup.shutdown(timeout=30):
            return
    except Exception:
        pass
    with contextlib.suppress(OSError, ValueError):
        pid = int((state_dir / "supervisord.pid").read_text())
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def state_dir(short_dir: Path) -> Iterator[Path]:
    """A state directory whose supervisord, if any was started, is shut down afterwards."""
    state = short_dir / "state"
    try:
        yield state
    finally:
        stop_supervisord(state)


@pytest.fixture
def supervisor(state_dir: Path) -> Supervisor:
    """A running supervisord of its own for one test."""
    sup = Supervisor(state_dir)
    sup.ensure_running()
    return sup


@pytest.fixture
def make_spec(short_dir: Path) -> Callable[..., ProcessSpec]:
    """Build a ProcessSpec running a Python script, logging under the short directory."""

    def make(app: str, name: str, script: str = HTTP_SERVER, **kwargs: object) -> ProcessSpec:
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        environment.update(kwargs.pop("environment", {}))  # type: ignore[arg-type]
        options: dict[str, object] = {
            "stdout_log": str(short_dir / f"{app}@{name}.log"),
            "cwd": str(short_dir),
            "stop_wait": 5,
        }
        options.update(kwargs)
        return ProcessSpec(
            app=app,
            name=name,
            argv=(sys.executable, "-u", "-c", script),
            environment=environment,
            **options,  # type: ignore[arg-type]
        )

    return make
