"""Fixtures of the example tests: each example built with ``pyapp-build`` and installed on a host of its own.

The ``install`` fixture gives an :class:`Installed`: the example's ``.pyapp`` (built once per test
session, per worker under xdist, offline from the test wheelhouse) installed with the real
``pyapp install --home HOME`` with ``PYAPP_DAEMONS=1``. Its web daemon, processes and task scheduler run
under the host's supervisord; the tests reach the app over its stable unix socket
(``apps/<name>/run/web.sock``) or, for a process with a port, the port the host gave it, and run its
commands the way the host does (:meth:`pyapp_runtime.Host.run_command`). Each host has a short path under
/tmp (unix socket paths are short) and its own range of ports; its supervisord, and so every process of
the app, is stopped when the test ends (tests/conftest.py says why no supervisord may outlive a test).

The command lines themselves (``pyapp run``, ``pyapp command``) run through ``cli``,
``start_cli`` and ``serve_cli``: the console scripts next to the running interpreter,
with the run cache and state under the test's ``tmp_path`` and no package index.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyapp_tools.building.builder import BuildOptions, BuildResult, build
from testkit import app_process, processes_under, stop_process, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

WAIT = 120.0
"""How long a test waits for something the app does on its own (a generous deadline, never a measure)."""


def lines_of(paths: Iterable[str | Path]) -> list[str]:
    """The lines of the files at *paths* (missing files have none)."""
    lines: list[str] = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            lines += Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


# -- processes ----------------------------------------------------------------------


@dataclass(kw_only=True)
class Running:
    """A process started by a test, its output going to *log*."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, ready: Callable[[], bool], limit: float = WAIT) -> None:
        """Wait for *ready*; fail with the output if the process exits first or it never gets there."""
        deadline = time.monotonic() + limit
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the process exited with {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {limit} s; the process said:\n{self.output()}")
            time.sleep(0.02)

    def wait_listening(self, port: int) -> None:
        self.wait_for(lambda: port_open(port))

    def stop(self, limit: float = WAIT) -> int:
        """SIGTERM, as a supervisor stops a process; its exit code."""
        self.proc.terminate()
        return self.proc.wait(timeout=limit)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# -- an installed example -------------------------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


# Headers about one connection, which WSGI leaves to the server (PEP 3333).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class OverSocket:
    """A WSGI application that sends every request it gets to the daemon listening on *path*, as
    HTTP over that unix socket, and gives back the daemon's answer as it came.

    It lets ``webtest.TestApp`` (forms, cookies, redirects) drive the real daemon: the path
    sent is ``SCRIPT_NAME + PATH_INFO``, so a ``TestApp`` whose ``SCRIPT_NAME`` is the
    app's mount path sends what a web server in front of the mount would.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
        target = urllib.parse.quote(raw, safe="/;:@&=+$,!~*'()") or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").title()] = environ[key]
        headers["Connection"] = "close"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        connection = _UnixConnection(self.path, timeout=60)
        try:
            connection.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", kept)
        return [data]


@dataclass(frozen=True, kw_only=True)
class Launch:
    """How the host starts one of an app's processes: the bootstrap's command line without its
    payload, its environment, and the payload (``sys.path``, variables, what to call)."""

    argv: list[str]
    environ: dict[str, str]
    payload: dict[str, Any]


@dataclass(kw_only=True)
class Installed:
    """An example installed with ``pyapp install`` on the host in *home*; *report* is what
    ``pyapp install --json`` printed."""

    name: str
    home: Path
    package: Path
    env: dict[str, str]
    report: dict[str, Any]
    base: Path
    started: list[Running] = field(default_factory=list)

    def pyapp(self, *args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """``pyapp ARGS --home HOME`` to its end (it must succeed unless not *ok*)."""
        done = run_pyapp(self.env, *args, "--home", self.home)
        if ok:
            assert done.returncode == 0, f"pyapp {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
        return done

    def json(self, *args: str | Path, ok: bool = True) -> Any:
        return json.loads(self.pyapp(*args, "--json", ok=ok).stdout)

    # -- where things are (docs/host-layout.md) ------------------------------------------

    @property
    def app_dir(self) -> Path:
        return self.home / "apps" / self.name

    @property
    def release(self) -> Path:
        """The directory of the release the install made."""
        return Path(self.report["path"])

    @property
    def socket(self) -> str:
        """The stable socket of the app's web daemon (the web server's upstream)."""
        return str(self.app_dir / "run" / "web.sock")

    def writable_path(self, name: str) -> Path:
        return self.app_dir / "data" / name

    def log_lines(self, process: str) -> list[str]:
        """What every copy of *process* wrote, in every generation: ``logs/<process>-*.log``
        (they stay when the app stops)."""
        return lines_of(sorted((self.app_dir / "logs").glob(f"{process}-*.log")))

    def supervisor_log(self) -> list[str]:
        """supervisord's own log: which program started, stopped, and with which exit status."""
        return lines_of([self.home / "supervisor" / "supervisord.log"])

    @staticmethod
    def wait_until(ready: Callable[[], bool], what: str, limit: float = WAIT) -> None:
        wait_until(ready, what, limit)

    # -- its processes ---------------------------------------------------------------------

    def processes(self) -> list[dict[str, Any]]:
        """``pyapp status NAME --json``: the app's running processes."""
        return list(self.json("status", self.name))

    def process(self, name: str) -> dict[str, Any]:
        """The running process *name* (``web``, ``queue#0``...)."""
        found = [p for p in self.processes() if p["process"] == name]
        assert len(found) == 1, f"no one process {name!r} in {self.processes()}"
        return found[0]

    def supervisorctl(self, *args: str) -> str:
        """supervisord's own command line, on this host's supervisord (what pyapp has no command for)."""
        config = self.home / "supervisor" / "supervisord.conf"
        done = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config), *args],
            capture_output=True, text=True, timeout=WAIT, check=False,
        )  # fmt: skip
        return done.stdout + done.stderr

    def mount(self, prefix: str) -> None:
        """Mount the app at *prefix* on a virtual host; no web server runs (``web_server: none``),
        so its daemon serves under the prefix on its socket, as it would behind one."""
        self.pyapp("vhost", "add", "main", "--port", "8080")
        mounted = self.json("mount", self.name, "main", prefix)
        assert (mounted["mount"]["prefix"], mounted["restarted"]) == (prefix, True), mounted

    def web(self, script_name: str = "") -> Any:
        """A ``webtest.TestApp`` whose requests go to the app's daemon over its socket; with
        *script_name* (the mount path), they go under it."""
        with warnings.catch_warnings():
            # WebTest's WebOb imports the deprecated cgi module; this is the tests' side, not the app's.
            warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
            import webtest

        extra = {"SCRIPT_NAME": script_name} if script_name else {}
        return webtest.TestApp(OverSocket(self.socket), extra_environ=extra)

    def run_command(self, command: str, *argv: str) -> Any:
        """Run the app's command in the environment of its current release, as the host does
        (:meth:`pyapp_runtime.Host.run_command`); its ``RunResult``, output captured."""
        from pyapp_runtime import Host

        return Host(self.home).run_command(self.name, command, argv, capture=True, timeout=WAIT)

    def run_hook(self, hook: str, **context: Any) -> Any:
        """Run the app's *hook* on its current release the way the host runs its hooks
        (:func:`pyapp_runtime.lifecycle.hooks.run_release_hook`), with its configuration values
        and *context*; its ``HookRun``."""
        from pyapp_runtime import Host
        from pyapp_runtime.lifecycle.hooks import run_release_hook

        values = Host(self.home).config(self.name, show_secrets=True).values
        return run_release_hook(hook, self.release, config=values, **context)

    def launch_of(self, process: str) -> Launch:
        """How the host started the running *process*: what its supervisor runs (inside its sandbox when
        it has one), read from ``/proc``."""
        pid = app_process(self.process(process)["pid"])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        environ = dict(
            line.split("=", 1)
            for line in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
            if "=" in line
        )
        # python -s -S _bootstrap.py PAYLOAD (docs/daemons.md): the payload is the last argument.
        return Launch(argv=argv[:-1], environ=environ, payload=json.loads(Path(argv[-1]).read_text()))

    def start(self, launch: Launch, log: Path, **changes: Any) -> Running:
        """Start *launch* again (same interpreter, bootstrap and environment) on a copy of its payload
        with *changes* (``ref``, ``argument``...), its output to *log*; it is killed at the end."""
        copy = log.with_suffix(".json")
        copy.write_text(json.dumps(launch.payload | changes | {"delete": False}))
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*launch.argv, str(copy)],
                env=launch.environ,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(Running(proc=proc, log=log))
        return self.started[-1]

    def close(self) -> None:
        """Stop what runs on this host: supervisord and the app's processes, and what the test started."""
        for running in self.started:
            if running.proc.poll() is None:
                running.proc.kill()
            running.proc.wait()
        with contextlib.suppress(OSError, ValueError):
            stop_process(int((self.home / "supervisor" / "supervisord.pid").read_text()))
        for pid in processes_under(self.base):
            stop_process(pid)


def run_pyapp(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("pyapp"), *map(str, args)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def host_environment() -> dict[str, str]:
    """The environment of the host's commands: daemons on, nothing of the caller's pyapp settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PIP_", "XDG_"))}
    return env | {"PYAPP_DAEMONS": "1", "PIP_NO_INDEX": "1"}


def assignments(settings: dict[str, Any] | None) -> list[str]:
    """``--set KEY=VALUE`` options for *settings* (a list as comma-separated items)."""
    options = []
    for key, value in (settings or {}).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = ",".join(map(str, value))
        else:
            text = str(value)
        options += ["--set", f"{key}={text}"]
    return options


# -- building ---------------------------------------------


def build_example(example: str, out_dir: Path, wheelhouse: Path) -> BuildResult:
    """``pyapp-build examples/EXAMPLE -o OUT_DIR --wheelhouse WHEELHOUSE --offline``, as a library call."""
    return build(EXAMPLES / example, BuildOptions(out_dir=out_dir, wheelhouse=wheelhouse, offline=True))


# -- the command lines ---------------------------------------------


def tool(name: str) -> str:
    """The console script *name* installed next to the running interpreter."""
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"{name} is not installed next to {sys.executable}"
    return str(path)


@dataclass(frozen=True, kw_only=True)
class Served:
    """``pyapp run`` serving on *url*."""

    running: Running
    url: str

    def get(self, path: str) -> tuple[int, str, str]:
        """GET *path*: status, content type and body."""
        request = urllib.request.Request(self.url.rstrip("/") + path)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers["Content-Type"], exc.read().decode()

    def get_json(self, path: str) -> Any:
        status, kind, body = self.get(path)
        assert (status, kind) == (200, "application/json"), body
        return json.loads(body)

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit status and everything it printed."""
        return self.running.stop(), self.running.output()


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def pyapp_for(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuildResult]:
    """``make(example)``: the example built with ``pyapp-build``, once per test session."""
    made: dict[str, BuildResult] = {}

    def make(example: str) -> BuildResult:
        if example not in made:
            made[example] = build_example(example, tmp_path_factory.mktemp(f"dist-{example}"), wheelhouse)
        return made[example]

    return make


@pytest.fixture(scope="session")
def build_into(wheelhouse: Path) -> Callable[[str, Path], BuildResult]:
    """``build_into(example, out_dir)``: build the example afresh, offline from the wheelhouse."""
    return lambda example, out_dir: build_example(example, out_dir, wheelhouse)


@pytest.fixture
def install(pyapp_for: Callable[[str], BuildResult]) -> Iterator[Callable[..., Installed]]:
    """``install(example, settings=None, *, start=True, host="", services=None, package=None)``: the
    built example installed with ``pyapp install`` on a host of its own, *settings* given with
    ``--set``; with ``start=False`` (``--no-start``) its processes wait for ``pyapp start``. *host*
    adds lines to the host's ``host.yaml`` (``method: processes``...), *services* are given with
    ``--service NAME=VALUE``, and *package* is installed instead of the example's own build (a
    variant of it a test made)."""
    made: list[Installed] = []

    def make(
        example: str,
        settings: dict[str, Any] | None = None,
        *,
        start: bool = True,
        host: str = "",
        services: dict[str, str] | None = None,
        package: Path | None = None,
    ) -> Installed:
        base = Path(tempfile.mkdtemp(prefix="pyapp-ex-", dir="/tmp"))
        home = base / "home"
        home.mkdir()
        low = random.randrange(10000, 19900)  # apart from the ranges other tests pick
        (home / "host.yaml").write_text(f"ports: {low}-{low + 40}\n{host}")
        env = host_environment()
        package = package or pyapp_for(example).path
        options = assignments(settings) + ([] if start else ["--no-start"])
        options += [f"--service={name}={value}" for name, value in (services or {}).items()]
        installed = run_pyapp(env, "install", package, *options, "--home", home, "--json")
        report = json.loads(installed.stdout) if installed.stdout.startswith("{") else {}
        made.append(
            Installed(
                name=report.get("name", ""), home=home, package=package, env=env, report=report, base=base
            )
        )
        assert installed.returncode == 0, (
            f"pyapp install {package.name}:\n{installed.stdout}{installed.stderr}"
        )
        return made[-1]

    yield make
    for installed in made:
        installed.close()
        shutil.rmtree(installed.base, ignore_errors=True)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for the command lines: run cache and state under tmp_path, no package index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PIP_"))}
    env.pop("SOURCE_DATE_EPOCH", None)
    return env | {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PIP_NO_INDEX": "1",
    }


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("pyapp", *args)``: run a command line to its end; its status and output."""

    def run(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool(name), *map(str, args)],
            env=cli_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def start_cli(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """``start_cli("pyapp", *args, env=None)``: a command line left running, its output in a log file.

    Whatever is still running when the test ends is killed.
    """
    started: list[Running] = []

    def start(name: str, *args: str | Path, env: dict[str, str] | None = None) -> Running:
        log = tmp_path / f"{name}-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [tool(name), *map(str, args)],
                env=cli_env if env is None else env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Running(proc=proc, log=log))
        return started[-1]

    yield start
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait()


@pytest.fixture
def serve_cli(start_cli: Callable[..., Running]) -> Callable[..., Served]:
    """``serve_cli(path, *options, env=None)``: ``pyapp run PATH --port 0 OPTIONS``, once it
    has printed "Serving NAME VERSION on URL"."""

    def serve(path: Path, *args: str, env: dict[str, str] | None = None) -> Served:
        running = start_cli("pyapp", "run", path, "--port", "0", *args, env=env)
        running.wait_for(lambda: " on http://" in running.output(), limit=WAIT)
        line = next(x for x in running.output().splitlines() if x.startswith("Serving "))
        return Served(running=running, url=line.rsplit(" on ", 1)[1].strip())

    return serve


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
