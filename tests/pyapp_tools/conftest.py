"""Helpers for driving the real ``pyapp`` and ``pyapp-build`` command lines."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The console script *name* installed next to the running interpreter."""
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment for the command lines: caches and state in tmp_path, no package index."""
    env = dict(os.environ)
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        PIP_NO_INDEX="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def run_cli(
    name: str, *args: str | Path, env: dict[str, str], check: bool = False, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [tool(name), *map(str, args)], env=env, capture_output=True, text=True, timeout=240, **kwargs
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    first_line: str

    def get(self, path: str = "/") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        """Send *sig* to the pyapp process only; return its exit status and stderr."""
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err


@contextmanager
def serving(*args: str | Path, env: dict[str, str]) -> Iterator[Server]:
    """Start ``pyapp run ARGS --port 0`` and wait for its "Serving ... on URL" line.

    The lines of the app's programs (``web | ...``) that come before it are skipped.
    """
    proc = subprocess.Popen(
        [tool("pyapp"), "run", *map(str, args), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with proc:
        try:
            assert proc.stdout is not None
            # A run that never gets there is killed, which ends its output.
            timer = threading.Timer(120, proc.kill)
            timer.start()
            try:
                line = proc.stdout.readline()
                while " | " in line:
                    line = proc.stdout.readline()
            finally:
                timer.cancel()
            if " on http://" not in line:
                proc.kill()
                _, err = proc.communicate()
                raise AssertionError(f"pyapp run did not start: {line!r}\n{err}")
            yield Server(proc=proc, url=line.rsplit(" on ", 1)[1].strip(), first_line=line.strip())
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project from a {relative path: text} mapping; return its directory."""

    def write(files: dict[str, str], name: str = "project") -> Path:
        root = tmp_path / name
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return write


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``pyapp`` or ``pyapp-build`` in a subprocess: ``cli("pyapp", "validate", path)``."""

    def call(name: str, *args: str | Path, env: dict[str, str] | None = None, **kwargs: object):
        return run_cli(name, *args, env=env or cli_env, **kwargs)

    return call


@pytest.fixture
def serve_app(cli_env: dict[str, str]) -> Callable[..., object]:
    """``with serve_app(path, *options) as server:`` runs ``pyapp run`` on a free loopback port."""

    def start(*args: str | Path, env: dict[str, str] | None = None):
        return serving(*args, env=env or cli_env)

    return start


DEPS_APP = '''\
"""An app using a compiled (markupsafe) and a pure-Python (translationstring) dependency."""

import json
import sys

import markupsafe
import translationstring


def application(environ, start_response):
    body = {
        "escaped": str(markupsafe.escape("<b>")),
        "compiled": "markupsafe._speedups" in sys.modules,
        "markupsafe": markupsafe.__file__,
        "translationstring": translationstring.__file__,
        "sys_path": sys.path,
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
'''

DEPS_METADATA = """\
pyapp: "1.0"
name: deps-demo
version: "0.2.0"
wsgi:
  app: demo.app:application
dependencies:
  packages:
    - markupsafe
    - translationstring>=1.3
"""


@pytest.fixture
def deps_project(write_project: Callable[..., Path]) -> Path:
    """A project depending on markupsafe (a compiled wheel) and translationstring (pure Python)."""
    return write_project(
        {
            "metadata.yaml": DEPS_METADATA,
            "src/demo/__init__.py": "",
            "src/demo/app.py": DEPS_APP,
        },
        name="deps-demo",
    )


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a local pyapp-server and its pyapp-ctl: all state in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
    clean.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"),
        XDG_CACHE_HOME=str(home / ".cache"), PIP_NO_INDEX="1", PYAPP_HOME=str(tmp_path / "data"),
    )  # fmt: skip
    return clean


@pytest.fixture
def local_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """A pyapp-server (running no daemons) on a free loopback port, found through its endpoint file."""
    proc = subprocess.Popen(
        [tool("pyapp-server"), "run", "--port", "0", "--data-dir", str(tmp_path / "data")],
        env={**server_env, "PYAPP_DAEMONS": "0"}, cwd=server_env["HOME"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert " on http://" in line, f"pyapp-server did not start: {line!r}"
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
