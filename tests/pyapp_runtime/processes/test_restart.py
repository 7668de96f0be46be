"""Restarting an app: ``Host.restart`` and ``pyapp restart``, with a real supervisord and real requests.

What a user notices: the WSGI daemon is a new process (the one that answers says so), the old
one is gone, and the app serves again on its stable socket.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from testkit import gone, wait_until

pytestmark = pytest.mark.slow

PYAPP = shutil.which("pyapp", path=str(Path(sys.executable).parent))

CHATTY = """

def chatter(*args):
    print("chatting", flush=True)
    while True:
        time.sleep(1)
"""


def pyapp(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    """The real ``pyapp`` command line on the host *home*, given only as ``--home`` (daemons on)."""
    assert PYAPP, f"pyapp is not installed next to {sys.executable}"
    environ = {k: v for k, v in os.environ.items() if k != "PYAPP_HOME"}
    environ["PYAPP_DAEMONS"] = "1"
    return subprocess.run(
        [PYAPP, *map(str, args), "--home", str(home)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_host_restart_replaces_the_wsgi_daemon_and_the_app_serves_again(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe())
    sock = helpers.stable_socket(home, "webprobe")
    (old,) = host.status("webprobe")
    assert old.pid is not None and helpers.serving(sock) == helpers.process_of(old.pid)

    result = host.restart("webprobe")

    assert result.action == "restart"
    (web,) = result.processes
    assert (web.role, web.state) == ("web", "running")
    assert web.pid is not None and web.pid != old.pid
    assert helpers.serving(sock) == helpers.process_of(web.pid), "the new process is the one that answers"
    assert wait_until(lambda: gone(old.pid), "the old WSGI daemon has ended")
    assert [s.pid for s in host.status("webprobe")] == [web.pid]


def test_host_restart_starts_a_stopped_app(host: Host, home: Path, packages: Any, helpers: Any) -> None:
    host.install(packages.webprobe())
    sock = helpers.stable_socket(home, "webprobe")
    (old,) = host.status("webprobe")
    host.stop("webprobe")
    wait_until(lambda: gone(old.pid), "the stopped WSGI daemon has ended")
    with pytest.raises(OSError):
        helpers.request(sock, timeout=2)

    (web,) = host.restart("webprobe").processes

    assert web.state == "running" and web.pid != old.pid
    assert helpers.serving(sock) == helpers.process_of(web.pid)


def test_pyapp_restart_on_the_command_line(home: Path, packages: Any, helpers: Any) -> None:
    helpers.write_host_yaml(home)
    installed = pyapp("install", packages.webprobe(), home=home)
    assert installed.returncode == 0, installed.stderr
    sock = helpers.stable_socket(home, "webprobe")
    first = json.loads(pyapp("ps", "--json", home=home).stdout)[0]["pid"]
    assert helpers.serving(sock) == helpers.process_of(first)

    restarted = pyapp("restart", "webprobe", home=home)
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.startswith("webprobe restarted\n")
    row = next(line.split() for line in restarted.stdout.splitlines() if line.startswith("web "))
    assert row[1] == "running"
    second = int(row[2])
    assert second != first
    assert helpers.serving(sock) == helpers.process_of(second), "the table shows the process that answers"
    wait_until(lambda: gone(first), "the old WSGI daemon has ended")

    as_json = pyapp("restart", "webprobe", "--json", home=home)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert (data["name"], data["action"]) == ("webprobe", "restart")
    (web,) = data["processes"]
    assert web["state"] == "running" and web["pid"] not in (first, second)
    assert helpers.serving(sock) == helpers.process_of(web["pid"])

    missing = pyapp("restart", "nothing-here", home=home)
    assert missing.returncode == 1
    assert "nothing-here" in missing.stderr
    assert helpers.serving(sock) == helpers.process_of(web["pid"]), "a failed restart elsewhere leaves it be"


def test_a_stopped_apps_logs_are_still_shown(host: Host, packages: Any) -> None:
    host.install(
        packages.webprobe("1.0.0", extra=CHATTY, processes={"chatter": {"call": "webprobe:chatter"}})
    )
    running = {log.process: log.path for log in host.logs("webprobe")}
    assert set(running) == {"web", "chatter#0", "hooks"}
    wait_until(lambda: "chatting" in Path(running["chatter#0"]).read_text(), "the process wrote nothing")

    host.stop("webprobe")
    assert host.status("webprobe") == []
    stopped = {log.process: log.path for log in host.logs("webprobe")}
    assert stopped == running  # what the processes wrote stays readable (pyapp logs -p chatter)
    (chatter,) = host.logs("webprobe", process="chatter")
    assert "chatting" in Path(chatter.path).read_text()


def test_a_restore_is_read_by_the_running_app_at_once(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    """Restoring a backup replaces the running processes (as a reload does): the app answers with the
    restored configuration without anyone restarting it; a stopped app stays stopped."""
    host.install(packages.webprobe("1.0.0", config=True))
    sock = helpers.stable_socket(home, "webprobe")
    host.set_config("webprobe", ["label=kept"])
    backup = host.backup("webprobe")
    host.set_config("webprobe", ["label=later"])
    assert helpers.request(sock)[1] == "webprobe 1.0.0 later"
    (before,) = host.status("webprobe")

    host.restore("webprobe", backup.archive)

    assert helpers.request(sock)[1] == "webprobe 1.0.0 kept"
    (after,) = host.status("webprobe")
    assert after.state == "running" and after.pid != before.pid
    wait_until(lambda: gone(before.pid), "the processes from before the restore have ended")

    host.stop("webprobe")
    host.restore("webprobe", backup.archive)
    assert {s.state for s in host.status("webprobe")} <= {"stopped", "absent"}
