"""Installed apps run as supervised daemons: real supervisord, real requests over unix sockets and ports."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.settings import HostSettings
from pyapp_runtime.webservers import Mount, RouteStore, Upstream, VirtualHost
from testkit import app_process, gone, ns_pid, wait_until

pytestmark = pytest.mark.slow

DAEMONS_ON = {"PYAPP_DAEMONS": "1"}


def test_hello_serves_on_its_stable_socket_and_comes_back_after_a_kill(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    result = host.install(packages.example("hello"))
    assert result.action == "installed"
    sock = helpers.stable_socket(home, "hello")
    status, page = helpers.request(sock)
    assert status == 200 and "Hello from hello 1.0.0" in page
    (web,) = host.status("hello")
    assert (web.process, web.state, web.role) == ("web", "running", "web")
    assert web.socket is not None and os.path.realpath(sock) == web.socket
    pid_file = home / "apps" / "hello" / "run" / f"{web.program.partition('@')[2]}.pid"
    assert int(pid_file.read_text()) == ns_pid(app_process(web.pid))  # the app's pid, as it sees itself

    assert web.pid is not None
    os.kill(web.pid, signal.SIGKILL)

    restarted = wait_until(
        lambda: [s for s in host.status("hello") if s.state == "running" and s.pid != web.pid]
    )
    assert wait_until(lambda: helpers.request(sock)[0] == 200)
    assert restarted[0].pid is not None
    assert int(pid_file.read_text()) == ns_pid(app_process(restarted[0].pid))


def test_the_daemon_imports_nothing_of_the_host_and_runs_in_the_release_environment(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe())
    env = helpers.env_of(helpers.stable_socket(home, "webprobe"))
    assert env["heavy"] == []  # no apppackage, yaml, jsonschema, pyapp_runtime... on the start path
    variables = env["variables"]
    release = host.release("webprobe")
    assert variables["PYAPP_ROOT"] == str(release.path)
    assert variables["PYAPP_SOCKET"].endswith(".sock") and "PYAPP_PORT" not in variables
    assert variables["PYAPP_MOUNT_PATH"] == variables["SCRIPT_NAME"] == ""
    assert env["cwd"] == str(home / "apps" / "webprobe" / "data")


def test_a_mounted_app_gets_its_prefix_and_trusts_only_the_local_proxy(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    store = RouteStore(home / "webservers")
    store.update(
        lambda r: r.add_vhost(VirtualHost(name="main", port=8080, server_names=("apps.example",))).mount(
            Mount(app="webprobe", vhost="main", prefix="/probe", upstream=Upstream.unix("/nowhere.sock"))
        )
    )
    host.install(packages.webprobe())
    sock = helpers.stable_socket(home, "webprobe")
    env = helpers.env_of(sock, "/probe")
    assert (env["script_name"], env["path_info"]) == ("/probe", "/env")
    assert env["variables"]["SCRIPT_NAME"] == env["variables"]["PYAPP_MOUNT_PATH"] == "/probe"
    # The web server (here: whoever connects to the socket) is the trusted proxy.
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    status, body = helpers.request(sock, "/probe/env", headers=forwarded)
    assert status == 200
    assert json.loads(body)["remote_addr"] == "203.0.113.9"
    assert json.loads(body)["scheme"] == "https"
    # The mount now routes to the app's stable socket.
    assert store.load().mounts["webprobe"].upstream == Upstream.unix(sock)


def test_hello_serves_on_a_port_of_the_range_when_the_host_says_so(
    make_host: Callable[..., Host], home: Path, packages: Any, helpers: Any
) -> None:
    host = make_host(listen="port", method="processes", processes=2)
    host.install(packages.example("hello"))
    webs = host.status("hello")
    assert [w.process for w in webs] == ["web#0", "web#1"]
    port = webs[0].port
    assert port is not None and all(w.port == port for w in webs)
    low, high = host.daemons.settings.ports
    assert low <= port <= high
    status, page = helpers.request(port)
    assert status == 200 and "Hello from hello 1.0.0" in page
    status, page = helpers.request(port, "/env")
    assert json.loads(page)["variables"]["PYAPP_PORT"] == str(port)
    assert json.loads((home / "ports.json").read_text())["ports"] == {"hello@web": port}  # the app's


def test_the_worker_example_runs_its_queue_and_its_api(
    make_host: Callable[..., Host], packages: Any, helpers: Any
) -> None:
    host = make_host(listen="port")
    host.install(packages.example("worker"))
    processes = {s.process: s for s in host.status("worker")}
    assert set(processes) == {"web", "queue#0", "queue#1", "api#0"}
    assert all(s.state == "running" for s in processes.values())
    api, web = processes["api#0"].port, processes["web"].port
    assert api is not None and web is not None and api != web

    request = urllib.request.Request(
        f"http://127.0.0.1:{api}/jobs", data=json.dumps({"op": "upper", "text": "hi there"}).encode()
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        job = json.load(response)

    def finished() -> dict[str, Any] | None:
        data = json.loads(helpers.request(api, job["url"])[1])
        return data if data["state"] == "done" else None

    assert wait_until(finished)["result"] == "HI THERE"
    assert helpers.request(web, "/health") == (200, "ok")

    stopped = host.stop("worker")
    assert stopped.processes == ()
    with pytest.raises(OSError):
        helpers.request(api, "/status", timeout=2)
    started = host.start("worker")
    assert {s.state for s in started.processes} == {"running"}
    assert {s.port for s in started.processes if s.process == "api#0"} == {api}
    assert helpers.request(api, "/status")[0] == 200


def test_apps_outlive_the_command_that_started_them(
    home: Path, packages: Any, helpers: Any, pyapp_cli: Any
) -> None:
    helpers.write_host_yaml(home)
    done = pyapp_cli("install", packages.example("hello"), home=home, env=DAEMONS_ON)
    assert done.returncode == 0, done.stderr
    assert "process web: running on unix:" in done.stdout
    sock = helpers.stable_socket(home, "hello")
    assert helpers.request(sock)[0] == 200

    listed = pyapp_cli("ps", "--json", home=home, env=DAEMONS_ON)
    (web,) = json.loads(listed.stdout)
    assert (web["app"], web["process"], web["state"]) == ("hello", "web", "running")
    assert web["memory"] > 0 and web["uptime"] is not None and web["pid"] > 0

    assert pyapp_cli("stop", "hello", home=home, env=DAEMONS_ON).returncode == 0
    assert not os.path.exists(sock)
    status = pyapp_cli("status", "hello", home=home, env=DAEMONS_ON)
    assert "hello is not running" in status.stdout
    assert pyapp_cli("start", "hello", home=home, env=DAEMONS_ON).returncode == 0
    assert helpers.request(sock)[0] == 200
    reloaded = pyapp_cli("reload", "hello", "--json", home=home, env=DAEMONS_ON)
    assert reloaded.returncode == 0, reloaded.stderr
    (fresh,) = json.loads(reloaded.stdout)["processes"]
    assert fresh["state"] == "running" and fresh["pid"] != web["pid"] and fresh["program"] != web["program"]
    assert helpers.request(sock)[0] == 200

    logs = pyapp_cli("logs", "hello", "--process", "hooks", "-n", "5", home=home, env=DAEMONS_ON)
    assert logs.returncode == 0, logs.stderr

    units = pyapp_cli("export-systemd", "hello", "-o", home / "units", home=home, env=DAEMONS_ON)
    assert units.returncode == 0, units.stderr
    files = sorted(p.name for p in (home / "units").iterdir())
    assert files == ["pyapp-hello.target", f"pyapp-{web['program']}.service"]
    service = (home / "units" / files[1]).read_text()
    assert "KillSignal=SIGTERM" in service and "_bootstrap.py" in service


def test_installing_with_no_start_leaves_the_app_stopped(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.example("hello"), start=False)
    assert host.status("hello") == []
    assert not os.path.exists(helpers.stable_socket(home, "hello"))
    host.install(packages.example("hello", "1.1.0"))  # a stopped app stays stopped when updated
    assert host.status("hello") == []
    host.start("hello")
    assert "hello 1.1.0" in helpers.request(helpers.stable_socket(home, "hello"))[1]


def test_removing_an_app_stops_its_processes_and_frees_its_ports(
    make_host: Callable[..., Host], home: Path, packages: Any, helpers: Any
) -> None:
    host = make_host(listen="port")
    host.install(packages.example("worker"))
    host.install(packages.example("hello"))
    supervisord = host.daemons.supervisor.pid()
    assert supervisord is not None
    pids = [s.pid for s in host.status("worker")]
    host.remove("worker")
    assert [s.app for s in host.ps()] == ["hello"]
    assert list(json.loads((home / "ports.json").read_text())["ports"]) == ["hello@web"]
    for pid in pids:
        assert pid is not None
        wait_until(lambda pid=pid: gone(pid))
    # The last app gone, so is the supervisor; the next install starts it again.
    assert host.daemons.supervisor.pid() == supervisord
    host.remove("hello")
    assert host.ps() == [] and json.loads((home / "ports.json").read_text())["ports"] == {}
    assert gone(supervisord) and host.daemons.supervisor.pid() is None
    host.install(packages.example("hello"))
    assert host.status("hello")[0].state == "running"


def test_changing_the_configuration_restarts_the_app_with_the_new_values(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.example("hello"))
    sock = helpers.stable_socket(home, "hello")
    assert "Hello from" in helpers.request(sock)[1]
    host.set_config("hello", ["greeting=Howdy"])
    assert "Howdy from hello" in helpers.request(sock)[1]


def test_a_host_whose_paths_are_too_long_for_unix_sockets_uses_a_short_directory(
    tmp_path: Path, packages: Any, helpers: Any
) -> None:
    home = tmp_path / ("a-long-directory-name-" * 4) / "home"
    host = Host(home, settings=HostSettings(daemons=True))
    try:
        host.install(packages.example("hello"))
        (web,) = host.status("hello")
        assert web.socket is not None and not web.socket.startswith(str(home))
        stable = os.path.join(os.path.dirname(web.socket), "web.sock")
        assert helpers.request(stable)[0] == 200
        host.remove("hello")
        assert not os.path.exists(os.path.dirname(web.socket))
    finally:
        helpers.stop_supervisord(home / "supervisor")
