"""``pyapp boot``, ``pyapp shutdown``, ``pyapp export-systemd --host``, and the web server healed: real
commands, a real web server on a loopback port (nginx, Apache and lighttpd), apps under supervisord.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime.hostevents import read_events
from pyapp_runtime.webservers import find_installation
from testkit import free_port, gone, processes_under, stop_process, wait_until

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
KINDS = ("nginx", "apache", "lighttpd")
PID_FILES = {"nginx": "nginx.pid", "apache": "httpd.pid", "lighttpd": "lighttpd.pid"}


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "Connection": "close"})
        return connection.getresponse().status
    finally:
        connection.close()


def serves(port: int) -> bool:
    try:
        return get(port, "/hello/") == 200
    except OSError:
        return False


class Host:
    """A host under a short path, served by the web server *kind*, and its commands."""

    def __init__(self, base: Path, kind: str) -> None:
        self.base, self.kind = base, kind
        self.home = base / "home"
        self.home.mkdir()
        low = random.randrange(30000, 39000)
        (self.home / "host.yaml").write_text(f"web_server: {kind}\nports: {low}-{low + 40}\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
        self.env.update(PYAPP_HOME=str(self.home), PYAPP_DAEMONS="1")
        self.pid_file = self.home / "webservers" / kind / "run" / PID_FILES[kind]

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([PYAPP, *args], env=self.env, capture_output=True, text=True, timeout=240)
        if ok:
            assert done.returncode == 0, f"pyapp {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def master(self) -> int:
        """The web server's main process id (0 while there is none, or its pid file is being written)."""
        try:
            text = self.pid_file.read_text().strip()
        except FileNotFoundError:
            return 0
        return int(text) if text.isdigit() else 0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run("shutdown", ok=False)
        for pid in processes_under(self.base):
            stop_process(pid)


def session_of(pid: int) -> list[int]:
    """The live processes of the session *pid* leads (a web server's master and its workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if stat[3] == str(pid) and not gone(int(entry)):
                    found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pyapp_tools.building.builder import BuildOptions, build

    out = tmp_path_factory.mktemp("boot-packages")
    shutil.copytree(EXAMPLES / "hello", out / "hello", ignore=shutil.ignore_patterns("__pycache__", "dist"))
    return build(out / "hello", BuildOptions(out_dir=out / "dist", offline=True)).path


@pytest.fixture(params=KINDS)
def host(request: pytest.FixtureRequest, hello: Path) -> Iterator[Host]:
    kind = request.param
    if find_installation(kind) is None:
        pytest.skip(f"{kind} is not installed (./dev test installs it)")
    base = Path(tempfile.mkdtemp(prefix="pyapp-hb-", dir="/tmp"))
    base.chmod(0o711)  # the web server's workers (another user as root) traverse it
    made = Host(base, kind)
    try:
        made.run("install", str(hello))
        yield made
    finally:
        made.close()
        shutil.rmtree(base, ignore_errors=True)


def test_a_killed_web_server_is_restarted_and_its_leftover_workers_never_hold_its_port(host: Host) -> None:
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port))
    host.run("mount", "hello", "main", "/hello")
    assert serves(port)

    def kill_master() -> list[int]:
        master = host.master()
        left = [pid for pid in session_of(master) if pid != master]
        os.kill(master, signal.SIGKILL)
        wait_until(lambda: gone(master), "the master has died")
        return left

    # pyapp web start: what the dead master left stops first, so its port is free.
    left = kill_master()
    assert left or host.kind != "nginx"  # nginx's workers outlive their master, holding its port
    started = host.run("web", "start", ok=False)
    assert started.returncode == 0 and "in use" not in started.stdout + started.stderr, started.stderr
    assert all(gone(pid) for pid in left)
    assert serves(port)

    # pyapp ps: a command that needs the host restores its web server.
    dead = host.master()
    kill_master()
    host.run("ps")
    assert host.master() not in (0, dead) and not gone(host.master())
    wait_until(lambda: serves(port), "the app is served again")

    # The watcher (pyapp boot --watch) restores it by itself.
    watcher = subprocess.Popen(
        [PYAPP, "boot", "--watch", "--interval", "1"], env=host.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: host.master() and not gone(host.master()), "the watcher has checked once")
        dead = host.master()
        kill_master()
        wait_until(lambda: host.master() not in (0, dead) and serves(port), "served again")
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, errors = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, errors
    kinds = [e.kind for e in read_events(host.home / "events.jsonl")[0]]
    assert kinds.count("web-server") >= 2


def test_shutdown_then_boot_brings_back_the_app_and_its_web_server(host: Host) -> None:
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port))
    host.run("mount", "hello", "main", "/hello")
    assert host.json("shutdown") == {"supervisord": True, "web_server": True}
    assert not serves(port) and not processes_under(host.home)
    host.run("ps")  # shut down: nothing comes back before pyapp boot
    assert not serves(port) and not processes_under(host.home)
    report = host.json("boot")
    assert report["errors"] == [] and report["supervisord"] and report["web_server"]
    wait_until(lambda: serves(port), "served again after boot")


def test_after_a_power_cut_boot_brings_back_the_app_and_its_web_server(host: Host) -> None:
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port))
    host.run("mount", "hello", "main", "/hello")
    supervisord = int((host.home / "supervisor" / "supervisord.pid").read_text())
    for pid in [supervisord, host.master(), *processes_under(host.home)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not processes_under(host.home) and gone(supervisord), "everything has died")
    assert not serves(port)
    report = host.json("boot")
    assert report["errors"] == [] and report["supervisord"] and report["web_server"]
    wait_until(lambda: serves(port), "served again after boot")
    (web,) = wait_until(lambda: [p for p in host.json("ps") if p["state"] == "running"], "ps: running")
    assert web["app"] == "hello"


@pytest.mark.parametrize("host", ["nginx"], indirect=True)
def test_the_host_unit_passes_systemd_analyze_verify(host: Host, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed: apt-get install --no-install-recommends systemd")
    units = tmp_path / "units"
    written = host.json("export-systemd", "--host", "-o", str(units), "--user", "root")
    (unit,) = [Path(f) for f in written["files"]]
    assert unit.name == "pyapp-host.service"
    text = unit.read_text()
    assert f"boot --watch --home {host.home}" in text and f"shutdown --home {host.home}" in text
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(units) in line]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr
    refused = host.run("export-systemd", "-o", str(units), ok=False)
    assert refused.returncode == 2 and "give the app NAME or --host" in refused.stderr
