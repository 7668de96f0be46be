"""A live pyapp-server that runs apps' processes, under faults: ``kill -9`` during an update job, and
many clients changing one app at once.

After a crash the server recovers the app as it starts again: the app is on one release, which
serves, and nothing of the other runs. Concurrent calls each get an answer (2xx, or 409 when the
app is busy; never 500), and the app ends in a consistent state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import gone, request, stop_supervisord, wait_until

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))


class Console:
    """A live server on a host under a short path; its admin token."""

    def __init__(self, live_server: Any, server_env: dict[str, str], data_dir: Path) -> None:
        self.live_server = live_server
        self.env = {**server_env, "PYAPP_DAEMONS": "1"}
        self.data_dir = data_dir
        self.server: Any = None

    def start(self, **env: str) -> Console:
        self.server = self.live_server(data_dir=self.data_dir, env={**self.env, **env})
        return self

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        status, _headers, raw = self.server.request(
            method, path, token=self.server.token, body=data,
            content_type="application/json" if data is not None else None,
        )  # fmt: skip
        return status, json.loads(raw)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job once it ended."""
        for _ in range(60):
            status, job = self.call("GET", f"/api/v1/jobs/{job_id}?wait=10")
            assert status == 200, job
            if job["state"] in ("succeeded", "failed"):
                return dict(job)
        raise AssertionError(f"job {job_id} did not end in 600 s: {job}")

    def update(self, package: Path, *, first: bool = False) -> dict[str, Any]:
        """Install (*first*) or update hello to *package* through the API; the job once it ended."""
        where = "/api/v1/apps" if first else "/api/v1/apps/hello/update"
        status, job = self.call("POST", where, {"path": self.server.on_server(package)})
        assert status == 202, job
        return self.job(job["id"])

    def pyapp(self, *args: str) -> Any:
        env = {**self.env, "PYAPP_HOME": str(self.data_dir)}
        proc = subprocess.run([PYAPP, *args, "--json"], env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture
def console(live_server: Any, server_env: dict[str, str]) -> Iterator[Console]:
    base = Path(tempfile.mkdtemp(prefix="pyapp-cr-", dir="/tmp"))
    console = Console(live_server, server_env, base / "data")
    try:
        yield console
    finally:
        if console.server is not None and console.server.proc.poll() is None:
            console.server.stop()
        stop_supervisord(base / "data" / "supervisor")
        shutil.rmtree(base, ignore_errors=True)


def app_processes(data_dir: Path) -> dict[int, str]:
    """Every live process of hello (by its data path, /proc): pid -> the release root it runs from."""
    marker = f"PYAPP_DATA_PATH={data_dir / 'apps' / 'hello' / 'data'}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ and not gone(int(entry)):
            root = next((v for v in environ if v.startswith(b"PYAPP_ROOT=")), b"PYAPP_ROOT=")
            found[int(entry)] = root.decode().partition("=")[2]
    return found


def assert_consistent(console: Console) -> dict[str, Any]:
    """hello is on one release, which serves; nothing else of it runs or is left half-done."""
    apps = console.data_dir / "apps"
    status, shown = console.call("GET", "/api/v1/apps/hello")
    assert status == 200, shown
    release = shown["release"]
    assert os.readlink(apps / "hello" / "current") == f"releases/{release}"
    code, body = request(apps / "hello" / "run" / "web.sock")
    assert code == 200 and f"hello {shown['version']}" in body, body
    ps = [p for p in console.pyapp("ps") if p["app"] == "hello"]
    assert ps and {(p["release"], p["state"]) for p in ps} == {(release, "running")}, ps
    assert set(app_processes(console.data_dir).values()) == {str(apps / "hello" / "releases" / release)}
    assert not (apps / "hello.journal").exists()
    assert [p.name for p in (apps / "hello" / "releases").iterdir() if p.name.startswith(".")] == []
    return dict(shown)


def test_a_server_killed_during_an_update_recovers_as_it_starts(console, packages):
    console.start()
    installed = console.update(packages.hello(), first=True)
    assert installed["state"] == "succeeded", json.dumps(installed)
    console.server.stop()
    # Started again to stop at the update's health gate, where both releases run.
    console.start(PYAPP_TEST_PAUSE_AT="healthy", PYAPP_TEST_PAUSE_MARKER=str(console.data_dir / "paused"))
    status, job = console.call(
        "POST", "/api/v1/apps/hello/update", {"path": console.server.on_server(packages.hello("2.0.0"))}
    )
    assert status == 202, job
    wait_until(lambda: (console.data_dir / "paused").exists(), "the update job reaching its health gate", 240)
    assert len(set(app_processes(console.data_dir).values())) == 2  # both releases run
    console.server.proc.send_signal(signal.SIGKILL)
    console.server.proc.communicate()

    console.start()
    shown = assert_consistent(console)
    assert shown["version"] == "1.0.0"
    status, stale = console.call("GET", f"/api/v1/jobs/{job['id']}")
    assert (stale["state"], stale["error"]["code"]) == ("failed", "interrupted")
    status, events = console.call("GET", "/api/v1/events?app=hello&limit=5")
    recovered = [e for e in events["events"] if e["kind"] == "recover"]
    assert recovered and "undid the interrupted install" in recovered[0]["message"], events
    assert console.update(packages.hello("2.0.0"))["state"] == "succeeded"
    assert assert_consistent(console)["version"] == "2.0.0"


CALLS = 8
"""Clients at once."""
ROUNDS = 4
"""Calls each client makes, one after another (waiting for its job, when it started one)."""


def test_concurrent_calls_on_one_app(console, packages):
    console.start()
    versions = {v: packages.hello(v) for v in ("1.0.0", "2.0.0", "3.0.0")}
    assert console.update(versions["1.0.0"], first=True)["state"] == "succeeded"
    assert console.update(versions["2.0.0"])["state"] == "succeeded"
    paths = {v: console.server.on_server(p) for v, p in versions.items()}
    answers: list[tuple[str, int, Any]] = []
    jobs: list[str] = []
    lock = threading.Lock()

    def calls(index: int) -> list[tuple[str, str, Any]]:
        version = ("1.0.0", "2.0.0", "3.0.0")[index % 3]
        return [
            ("POST", "/api/v1/apps/hello/update", {"path": paths[version], "force": True}),
            ("PATCH", "/api/v1/apps/hello/config", {"values": {"greeting": f"Hi {'abcdefgh'[index]}"}}),
            ("POST", "/api/v1/apps/hello/restart", None),
            ("POST", "/api/v1/apps/hello/rollback", None),
            ("POST", "/api/v1/apps/hello/start", None),
        ]

    def client(index: int) -> None:
        for round_ in range(ROUNDS):
            todo = calls(index)
            method, path, body = todo[(index + round_) % len(todo)]
            try:
                status, answer = console.call(method, path, body)
            except Exception as exc:  # a dropped connection is a failure too
                status, answer = -1, repr(exc)
            with lock:
                answers.append((f"{method} {path}", status, answer))
                if status == 202:
                    jobs.append(answer["id"])
            if status == 202:
                console.job(answer["id"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
        assert not thread.is_alive()

    for what, status, answer in answers:
        assert 200 <= status < 300 or status == 409, (what, status, answer)
        if status == 409:
            assert answer["error"]["code"] in ("app-busy", "conflict"), (what, answer)
    assert any(status == 409 for _what, status, _answer in answers), "the calls did overlap"
    for job_id in jobs:
        job = console.job(job_id)
        if job["state"] == "failed":
            assert job["error"]["status"] != 500, job
    assert_consistent(console)
