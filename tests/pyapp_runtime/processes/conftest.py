"""Fixtures for the daemon tests: a host with a real supervisord under a short path, real packages.

``webprobe`` is a test app whose WSGI application reports what its process got (the
version, ``SCRIPT_NAME``, the client address, the heavy modules it imported) and
answers ``/slow`` after a second; built ``broken`` it fails its health check (and says
why on stderr). Built ``asgi``, the same answers come from an ASGI application (``SCRIPT_NAME`` is
its scope's ``root_path``), which also echoes a WebSocket at ``/ws`` and answers ``/lifespan``
with what its lifespan start-up did. ``taskprobe`` has only tasks: ``tick`` logs each run's start
and end and outlasts its own interval; ``hang`` says which process it runs in (pid namespace:pid) and
sleeps until it is killed at its timeout (10 s: room for a fresh interpreter to start on a busy machine).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyapp_runtime import Host
from pyapp_runtime.settings import AppDaemonSettings, HostSettings
from testkit import app_process, gone, ns_pid, request, stop_supervisord

from apppackage.record import render_record
from apppackage.sources import DirectorySource

WEBPROBE = '''\
"""A WSGI or an ASGI app that tells what its process got."""
import json, os, sys, time

VERSION = os.environ.get("PYAPP_VERSION", "?")
HEAVY = ("apppackage", "yaml", "jsonschema", "pyapp_runtime", "pyapp_tools", "click", "packaging")

QUOTES = chr(34) + chr(39)


def _config():
    """The filled-in configuration (simple "key: value" lines), read without a YAML library."""
    try:
        with open(os.environ["PYAPP_CONFIG_FILE"]) as f:
            lines = f.read().splitlines()
    except (KeyError, OSError):
        return {}
    return {k.strip(): v.strip().strip(QUOTES) for k, _, v in (line.partition(":") for line in lines)}


CONFIG = _config()
LABEL = f" {CONFIG['label']}" if CONFIG.get("label") else ""
BROKEN = (
    os.path.exists(os.path.join(os.path.dirname(__file__), "BROKEN"))
    or CONFIG.get("state") == "broken"
    or (CONFIG.get("state") == "needs-prefix" and not os.environ.get("PYAPP_MOUNT_PATH"))
)
if BROKEN:
    print(f"webprobe {VERSION}: the database at db.invalid does not answer", file=sys.stderr, flush=True)


'''

WEBPROBE_WSGI = """
def application(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    if path == "/health":
        status = "500 Internal Server Error" if BROKEN else "200 OK"
        start_response(status, [("Content-Type", "text/plain")])
        return [status.encode()]
    if path == "/slow":
        time.sleep(1)
    if path == "/env":
        body = json.dumps({
            "version": VERSION, "pid": os.getpid(),
            "process": f"{os.readlink('/proc/self/ns/pid')}:{os.getpid()}",
            "script_name": environ.get("SCRIPT_NAME", ""),
            "path_info": path, "remote_addr": environ.get("REMOTE_ADDR"),
            "scheme": environ["wsgi.url_scheme"],
            "variables": {k: v for k, v in os.environ.items() if k.startswith(("PYAPP_", "SCRIPT_NAME"))},
            "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY),
            "cwd": os.getcwd(),
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"webprobe {VERSION}{LABEL}".encode()]
"""

WEBPROBE_ASGI = """
import asyncio

LIFESPAN = {"started": False}


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                LIFESPAN["started"] = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    root = scope.get("root_path", "")
    path = scope["path"][len(root):] or "/"
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            await send({"type": "websocket.send", "text": f"{VERSION} {root} {message.get('text')}"})
        return
    kind, status, body = "text/plain", 200, f"webprobe {VERSION}{LABEL}".encode()
    if path == "/health":
        status = 500 if BROKEN else 200
        body = b"broken" if BROKEN else b"ok"
    elif path == "/slow":
        await asyncio.sleep(1)
    elif path == "/lifespan":
        body = json.dumps(LIFESPAN).encode()
    elif path == "/env":
        kind = "application/json"
        client = scope.get("client")
        body = json.dumps({
            "version": VERSION, "pid": os.getpid(),
            "process": f"{os.readlink('/proc/self/ns/pid')}:{os.getpid()}",
            "script_name": root, "path_info": path, "path": scope["path"],
            "remote_addr": client[0] if client else None, "scheme": scope["scheme"],
            "variables": {k: v for k, v in os.environ.items() if k.startswith(("PYAPP_", "SCRIPT_NAME"))},
            "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY),
            "cwd": os.getcwd(),
        }).encode()
    headers = [(b"content-type", kind.encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""

TASKPROBE = '''\
"""Tasks that record their runs."""
import json, os, time
from pathlib import Path


def tick(context):
    log = Path(context["data_path"]) / "ticks.jsonl"
    started = time.time()
    time.sleep(1.5)
    with open(log, "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "start": started, "end": time.time(),
                            "config": context["config"], "task": context["task"]}) + "\\n")
    print("tick done")


def hang(context):
    print(f"hanging in process {os.readlink('/proc/self/ns/pid')}:{os.getpid()}", flush=True)
    time.sleep(600)  # longer than any test waits: only the kill at its timeout ends it there
'''


def build(src: Path, out: Path) -> Path:
    """Zip the package directory *src* with its RECORD into *out*."""
    import zipfile

    files = {n: (src / n).read_bytes() for n in DirectorySource(src).names() if n != "RECORD"}
    files["RECORD"] = render_record(files).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(name, files[name])
    return out


class Packages:
    """Test packages, built on demand into one directory."""

    def __init__(self, root: Path, repo_root: Path) -> None:
        self.root = root
        self.repo_root = repo_root

    def _write(self, name: str, version: str, metadata: Mapping[str, Any], files: Mapping[str, str]) -> Path:
        src = self.root / f"{name}-{version}-src"
        shutil.rmtree(src, ignore_errors=True)
        for rel, text in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_text(text)
        meta = {"pyapp": "1.0", "name": name, "version": version, **metadata}
        (src / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        return build(src, self.root / f"{name}-{version}.pyapp")

    def webprobe(
        self,
        version: str = "1.0.0",
        *,
        broken: bool = False,
        config: bool = False,
        asgi: bool | str = False,
        extra: str = "",
        files: Mapping[str, str] | None = None,
        **metadata: Any,
    ) -> Path:
        """The webprobe app; *broken*, it fails its health check for 3 s.

        With *config* it has settings: ``label`` (added to its answer) and ``state``
        (``broken``: it fails its health check, for 10 s; ``needs-prefix``: so it does when
        it is not mounted under a prefix). *asgi*: its application is an ASGI one (a version 1.1
        description); a string names another object of its module as the application. *extra* is
        code added to its module (the functions of tasks or processes given in *metadata*); *files*
        more files of the package (its static directories).
        """
        meta: dict[str, Any] = {"wsgi": {"app": "webprobe:application"}, "health": {"path": "/health"}}
        if asgi:
            app = asgi if isinstance(asgi, str) else "webprobe:application"
            meta = {"pyapp": "1.1", "asgi": {"app": app}, "health": meta["health"]}
        code = WEBPROBE + (WEBPROBE_ASGI if asgi else WEBPROBE_WSGI)
        files = {"src/webprobe/__init__.py": code + extra, **(files or {})}
        if broken:
            meta["health"] = {"path": "/health", "start": 3, "timeout": 2}
        elif config:
            # Room for a slow start on a busy machine; a configuration it cannot run with waits it out.
            meta["health"] = {"path": "/health", "start": 10, "timeout": 5}
        if broken:
            files["src/webprobe/BROKEN"] = ""
        if config:
            fields = {
                "label": {"type": "string", "default": ""},
                "state": {"type": "string", "default": "ok"},
            }
            files["configuration.yaml"] = yaml.safe_dump({"fields": fields}, sort_keys=False)
        meta.update(metadata)
        return self._write("webprobe", version, meta, files)

    def taskprobe(self, version: str = "1.0.0") -> Path:
        meta = {
            "tasks": {
                "tick": {"call": "taskprobe:tick", "every": 1, "timeout": 30},
                "hang": {"call": "taskprobe:hang", "every": 2, "timeout": 10},
            },
        }
        files = {
            "src/taskprobe/__init__.py": TASKPROBE,
            "configuration.yaml": yaml.safe_dump(
                {"format": "yaml", "fields": {"colour": {"type": "string", "default": "blue"}}}
            ),
        }
        return self._write("taskprobe", version, meta, files)

    def example(self, name: str, version: str | None = None) -> Path:
        """examples/<name> as a .pyapp (optionally with another version)."""
        src = self.root / f"{name}-{version or 'orig'}-src"
        if not src.exists():
            shutil.copytree(
                self.repo_root / "examples" / name, src, ignore=shutil.ignore_patterns("__pycache__", "dist")
            )
            if version:
                meta = yaml.safe_load((src / "metadata.yaml").read_text())
                meta["version"] = version
                (src / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        return build(src, self.root / f"{name}-{version or 'orig'}.pyapp")


@pytest.fixture
def packages(tmp_path: Path, repo_root: Path) -> Packages:
    return Packages(tmp_path / "packages", repo_root)


@pytest.fixture
def home() -> Iterator[Path]:
    """A host directory with a short path (unix sockets), whose supervisord is shut down afterwards."""
    base = Path(tempfile.mkdtemp(prefix="pyapp-d-", dir="/tmp"))
    home = base / "home"
    try:
        yield home
    finally:
        stop_supervisord(home / "supervisor")
        shutil.rmtree(base, ignore_errors=True)


def port_range() -> tuple[int, int]:
    """A range of loopback ports for one test (the host skips any port in use)."""
    low = random.randrange(20000, 29000)
    return (low, low + 40)


@pytest.fixture
def make_host(home: Path) -> Callable[..., Host]:
    """``make_host(listen="unix", confinement="auto", **app_settings)``: a Host running daemons, with its
    own port range."""
    ports = port_range()

    def make(*, confinement: str = "auto", **daemon: Any) -> Host:
        settings = HostSettings(
            daemons=True, ports=ports, confinement=confinement, defaults=AppDaemonSettings(**daemon)
        )
        return Host(home, settings=settings)

    return make


@pytest.fixture
def host(make_host: Callable[..., Host]) -> Host:
    return make_host()


def write_host_yaml(home: Path, **settings: Any) -> None:
    """``<home>/host.yaml`` with a port range of its own and *settings* (for the command line)."""
    low, high = port_range()
    home.mkdir(parents=True, exist_ok=True)
    (home / "host.yaml").write_text(yaml.safe_dump({"ports": f"{low}-{high}", **settings}))


def env_of(where: str | int, prefix: str = "") -> dict[str, Any]:
    status, body = request(where, prefix + "/env")
    assert status == 200, body
    return dict(json.loads(body))


def serving(where: str | int, prefix: str = "") -> str:
    """Which process answers at *where*: its pid namespace and its pid there (see :func:`process_of`)."""
    return str(env_of(where, prefix)["process"])


def process_of(pid: int) -> str:
    """The app process supervisord started as *pid* (inside its sandbox when it has one), as the app
    names itself in ``/env``: pid namespace and pid there, so two sandboxes' pid 2 are told apart."""
    inner = app_process(pid)
    return f"{os.readlink(f'/proc/{inner}/ns/pid')}:{ns_pid(inner)}"


def running_as(process: str) -> bool:
    """Whether a process named as :func:`process_of` names it (``pid:[ns]:pid``) runs on this machine."""
    namespace, _, pid = process.rpartition(":")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == namespace and ns_pid(int(entry)) == int(pid):
                    return not gone(int(entry))
            except (OSError, ValueError):
                continue
    return False


def stable_socket(home: Path, app: str) -> str:
    return str(home / "apps" / app / "run" / "web.sock")


class Helpers:
    """The helpers above, for test modules (conftest modules cannot be imported by them)."""

    request = staticmethod(request)
    env_of = staticmethod(env_of)
    serving = staticmethod(serving)
    process_of = staticmethod(process_of)
    running_as = staticmethod(running_as)
    stable_socket = staticmethod(stable_socket)
    write_host_yaml = staticmethod(write_host_yaml)
    stop_supervisord = staticmethod(stop_supervisord)


@pytest.fixture
def helpers() -> type[Helpers]:
    return Helpers
