"""How a new release takes over (spec section 3.18, ``updates: start``), and a rollback below the data version
(section 3.19) served end to end, with real processes under supervisord.

The single-writer app below is the webprobe whose web daemon and ``writer`` process each hold an
exclusive lock on a file of the data directory for as long as they live (``flock``, non-blocking): a
process that finds the lock held records ``busy`` and ends. A release that starts while another one's
processes still run can therefore not start; one whose processes all took their locks ran alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.errors import DataVersionTooLow
from pyapp_runtime.processes.daemons import DaemonFailed
from testkit import wait_until

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))

SINGLE_WRITER = '''
import fcntl


def _record(event, who):
    with open(os.path.join(os.environ["PYAPP_DATA_PATH"], "writers.jsonl"), "a") as f:
        f.write(json.dumps({"event": event, "who": who, "version": VERSION, "pid": os.getpid()}) + "\\n")


def _single_writer(who):
    """Hold data/<who>.lock while this process lives; when another process holds it, end."""
    path = os.path.join(os.environ["PYAPP_DATA_PATH"], who + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _record("busy", who)
        raise SystemExit(f"{who} {VERSION}: another process writes {path}")
    _record("locked", who)
    return fd


if "PYAPP_PROCESS" not in os.environ:  # the web daemon (a process of section 3.12 has PYAPP_PROCESS)
    _WEB_LOCK = _single_writer("web")


def writer():
    _single_writer("writer")
    while True:
        time.sleep(1)
'''

SERVED_DATA = """
_answer = application


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/data":
        with open(os.path.join(os.environ["PYAPP_DATA_PATH"], "state.txt")) as f:
            body = f.read().encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    return _answer(environ, start_response)


def keep(context):
    with open(os.path.join(context["data_path"], "state.txt"), "w") as f:
        f.write(f"kept by {context['version']}")
"""


def single_writer(packages: Any, version: str, start: str | None, **options: Any) -> Path:
    updates = {"updates": {"start": start}} if start else {}
    return packages.webprobe(
        version, extra=SINGLE_WRITER, pyapp="1.1", processes={"writer": {"call": "webprobe:writer"}},
        **updates, **options,
    )  # fmt: skip


def writers(home: Path) -> list[tuple[str, str, str]]:
    """What the single-writer app's processes recorded, in order: (event, who, version)."""
    path = home / "apps" / "webprobe" / "data" / "writers.jsonl"
    lines = path.read_text().splitlines()
    return [(e["event"], e["who"], e["version"]) for e in map(json.loads, lines)]


def web_starts(records: list[tuple[str, str, str]]) -> list[str]:
    """The version of each web daemon that started and took its lock, in order."""
    return [version for event, who, version in records if (event, who) == ("locked", "web")]


def where(host: Host, helpers: Any, home: Path) -> str | int:
    (web,) = [s for s in host.status("webprobe") if s.process == "web"]
    return web.port if web.port is not None else helpers.stable_socket(home, "webprobe")


def test_beside_the_new_release_starts_while_the_old_one_runs(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    first = host.install(single_writer(packages, "1.0.0", None))

    with pytest.raises(DaemonFailed) as caught:
        host.install(single_writer(packages, "1.1.0", "beside"))

    assert "webprobe 1.0.0 keeps serving" in str(caught.value)
    assert ("busy", "web", "1.1.0") in writers(home)  # it found 1.0.0's lock held: the two ran together
    assert host.release("webprobe").id == first.release
    assert helpers.request(where(host, helpers, home)) == (200, "webprobe 1.0.0")


@pytest.mark.parametrize("listen", ["unix", "port"])
def test_after_stop_never_runs_two_releases_at_once_and_a_failing_one_leaves_the_old_one_serving(
    make_host: Callable[..., Host], home: Path, packages: Any, helpers: Any, listen: str
) -> None:
    host = make_host(listen=listen)
    host.install(single_writer(packages, "1.0.0", "after-stop"))
    old = [helpers.process_of(s.pid) for s in host.status("webprobe") if s.pid]

    updated = host.install(single_writer(packages, "1.1.0", "after-stop"))

    assert updated.action == "updated"
    assert helpers.request(where(host, helpers, home)) == (200, "webprobe 1.1.0")
    assert host.show("webprobe").updates == {"strategy": "always-latest", "start": "after-stop"}
    records = writers(home)
    assert not [r for r in records if r[0] == "busy"], records  # each took its locks: it ran alone
    assert web_starts(records) == ["1.0.0", "1.1.0"]
    assert len(old) == 2 and not any(helpers.running_as(process) for process in old)

    # A new release that never gets healthy: stopped, and the running one started again and serving.
    with pytest.raises(DaemonFailed) as caught:
        host.install(single_writer(packages, "2.0.0", "after-stop", broken=True))

    message = str(caught.value)
    assert "GET /health answered 500" in message
    assert "webprobe 1.1.0, stopped before it (updates: start: after-stop), serves again" in message
    assert host.release("webprobe").version == "1.1.0"
    statuses = host.status("webprobe")
    assert {(s.process, s.state) for s in statuses} == {("web", "running"), ("writer#0", "running")}
    assert helpers.request(where(host, helpers, home)) == (200, "webprobe 1.1.0")
    records = writers(home)
    assert not [r for r in records if r[0] == "busy"], records
    assert web_starts(records) == ["1.0.0", "1.1.0", "2.0.0", "1.1.0"]
    assert not (home / "apps" / "webprobe" / "run" / "paused.json").exists()


def test_after_stop_holds_for_a_rollback_and_a_reload_too(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(single_writer(packages, "1.0.0", "after-stop"))
    host.install(single_writer(packages, "1.1.0", "after-stop"))

    assert host.rollback("webprobe").version == "1.0.0"
    host.reload("webprobe")

    assert helpers.request(where(host, helpers, home)) == (200, "webprobe 1.0.0")
    records = writers(home)
    assert not [r for r in records if r[0] == "busy"], records
    assert web_starts(records) == ["1.0.0", "1.1.0", "1.0.0", "1.0.0"]


def test_a_rollback_below_the_data_version_serves_the_restored_data_once_the_backup_is_restored(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    def release(version: str, data_version: int, hook: str) -> Path:
        return packages.webprobe(
            version, extra=SERVED_DATA, pyapp="1.1", data_version=data_version, hooks={hook: "webprobe:keep"}
        )

    host.install(release("1.0.0", 1, "install"))
    sock = helpers.stable_socket(home, "webprobe")
    assert helpers.request(sock, "/data") == (200, "kept by 1.0.0")
    host.install(release("2.0.0", 2, "post-update"))  # its post-update migrates the data
    assert helpers.request(sock, "/data") == (200, "kept by 2.0.0")

    with pytest.raises(DataVersionTooLow) as refused:
        host.rollback("webprobe")
    assert refused.value.backup is not None
    assert helpers.request(sock) == (200, "webprobe 2.0.0")  # refused before anything changed

    restored = host.restore("webprobe", refused.value.backup)
    assert restored.note is not None and "pyapp rollback webprobe --to 1.0.0" in restored.note
    rolled = host.rollback("webprobe")

    assert rolled.version == "1.0.0"
    assert helpers.request(sock) == (200, "webprobe 1.0.0")
    assert helpers.request(sock, "/data") == (200, "kept by 1.0.0")
    assert [s.release for s in host.status("webprobe")] == [rolled.release]


def test_after_a_crash_while_the_old_release_was_stopped_recovery_starts_it_again(
    home: Path, packages: Any, helpers: Any, pyapp_cli: Any
) -> None:
    helpers.write_host_yaml(home)
    daemons_on = {"PYAPP_DAEMONS": "1"}
    first = pyapp_cli("install", single_writer(packages, "1.0.0", "after-stop"), home=home, env=daemons_on)
    assert first.returncode == 0, first.stderr
    marker = home.parent / "paused"
    env = {**os.environ, "PYAPP_HOME": str(home), **daemons_on}
    env.update(PYAPP_TEST_PAUSE_AT="healthy", PYAPP_TEST_PAUSE_MARKER=str(marker))
    update = subprocess.Popen(
        [PYAPP, "install", str(single_writer(packages, "1.1.0", "after-stop"))],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # 1.1.0 is healthy, 1.0.0 stopped before it started: the command dies before the switch.
    wait_until(lambda: marker.exists() or update.poll() is not None, "the update reaching its step", 240)
    assert update.poll() is None, update.communicate()
    update.send_signal(signal.SIGKILL)
    update.communicate()

    shown = pyapp_cli("show", "webprobe", "--json", home=home, env=daemons_on)  # the next command recovers

    assert shown.returncode == 0, shown.stderr
    recovered = json.loads(shown.stdout)["recovered"]
    assert "started again webprobe@web-" in recovered, recovered
    assert helpers.request(helpers.stable_socket(home, "webprobe")) == (200, "webprobe 1.0.0")
    records = writers(home)
    assert not [r for r in records if r[0] == "busy"], records
    assert web_starts(records) == ["1.0.0", "1.1.0", "1.0.0"]
