"""The management server watches its host: supervisord killed and restored, a program that keeps crashing
shown as failing (API, ``pyapp-ctl apps list``) and retried, the host's events in the history.

A live pyapp-server with ``PYAPP_DAEMONS=1`` and ``watch_interval`` 1, apps under a real supervisord.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apiconsole import ApiConsole
from testkit import app_process, gone, process_trees, processes_under, request, stop_supervisord, wait_until

pytestmark = pytest.mark.slow

CRASHER = '''\
"""A process that runs until a file CRASH is in the app's data directory, then exits at once, saying why."""
import os, sys, time


def run(*args):
    data = os.environ["PYAPP_DATA_PATH"]
    while True:
        if os.path.exists(os.path.join(data, "CRASH")):
            print("crasher: the queue at queue.invalid is gone", flush=True)
            sys.exit(3)
        time.sleep(0.05)
'''


def build_crashy_hello(out: Path) -> Path:
    """examples/hello with a process, crasher, that keeps crashing once told to."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / "hello"
    examples = Path(__file__).resolve().parents[2] / "examples"
    shutil.copytree(examples / "hello", source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    (source / "src" / "hello" / "crasher.py").write_text(CRASHER)
    meta = source / "metadata.yaml"
    meta.write_text(meta.read_text() + "processes:\n  crasher:\n    call: hello.crasher:run\n")
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


@pytest.fixture
def console(live_server: Any, server_env: dict[str, str], openapi: Any) -> Iterator[ApiConsole]:
    base = Path(tempfile.mkdtemp(prefix="pyapp-w-", dir="/tmp"))
    data_dir = base / "data"
    env = {**server_env, "PYAPP_DAEMONS": "1", "PYAPP_SERVER_WATCH_INTERVAL": "1"}
    server = None
    try:
        server = live_server(data_dir=data_dir, env=env)
        yield ApiConsole(server, openapi)
    finally:
        if server is not None:
            server.stop()
        stop_supervisord(data_dir / "supervisor")
        for pid in processes_under(base):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


def test_the_watcher_restores_a_killed_supervisord_with_no_duplicate(
    console: ApiConsole, packages: Any
) -> None:
    console.install(packages.hello())
    sock = console.server.data_dir / "apps" / "hello" / "run" / "web.sock"
    (web,) = console.processes("hello")
    supervisord = int((console.server.data_dir / "supervisor" / "supervisord.pid").read_text())
    os.kill(supervisord, signal.SIGKILL)

    wait_until(lambda: gone(web["pid"]), "what the dead supervisord left has stopped")
    (again,) = wait_until(
        lambda: [p for p in console.processes("hello") if p["state"] == "running"], "the app runs again"
    )
    assert again["pid"] != web["pid"] and request(sock, "/health")[0] == 200
    assert process_trees(console.server.data_dir / "apps") == [again["pid"]]

    events = wait_until(
        lambda: console.ok("GET", "/api/v1/events?kind=supervisord")["events"], "the event in the history"
    )
    # Sandboxed, the app died with supervisord (nothing left to stop); unconfined, the event names the
    # orphans it stopped.
    assert events[0]["actor"] == "host" and "supervisord did not run" in events[0]["message"]


def test_a_crash_loop_is_failing_in_the_api_and_pyapp_ctl_and_retried_with_backoff(
    console: ApiConsole, tmp_path: Path, run_tool: Callable[..., Any], server_env: dict[str, str]
) -> None:
    console.install(build_crashy_hello(tmp_path))
    (crasher,) = [p for p in console.processes("hello") if p["role"] == "process"]
    (console.server.data_dir / "apps" / "hello" / "data" / "CRASH").write_text("")
    os.kill(crasher["pid"], signal.SIGKILL)

    def listed() -> dict[str, Any] | None:
        (app,) = console.ok("GET", "/api/v1/apps")["apps"]
        return app if app["state"] == "failing" and app["failing"][0]["retries"] >= 2 else None

    app = wait_until(listed, "hello failing, retried twice", timeout=180)
    (failing,) = app["failing"]
    assert failing["process"] == "crasher#0" and "queue.invalid is gone" in failing["output"]
    shown = [p for p in console.processes("hello") if p["failing"]]
    assert [p["program"] for p in shown] == [failing["program"]]

    events = console.ok("GET", "/api/v1/events?app=hello&kind=crash")["events"]
    assert len(events) >= 3 and {(e["actor"], e["outcome"]) for e in events} == {("host", "failed")}
    assert "keeps exiting at its start" in events[-1]["message"]

    ctl = run_tool(
        "pyapp-ctl", "--server", console.server.url, "--token", console.server.token, "apps", "list",
        env=server_env,
    )  # fmt: skip
    assert ctl.returncode == 0, ctl.stderr
    assert "failing" in ctl.stdout and "crasher#0 is failing" in ctl.stdout and "queue.invalid" in ctl.stdout


def test_each_apps_health_is_checked_by_the_watcher_and_listed(console: ApiConsole, packages: Any) -> None:
    """The last check of each app's health path (as its clients reach it) is in the apps' list: healthy,
    then, while its daemon hangs, unhealthy with why; a stopped app has none."""
    console.install(packages.hello())

    def health() -> dict[str, Any] | None:
        (app,) = console.ok("GET", "/api/v1/apps")["apps"]
        return app["health"]  # type: ignore[no-any-return]

    first = wait_until(lambda: (h := health()) and h["healthy"] and h, "a healthy check listed")
    assert first["status"] == 200 and "GET /health answered 200" in first["detail"]
    (web,) = console.processes("hello")
    hung = app_process(web["pid"])
    os.kill(hung, signal.SIGSTOP)
    try:
        sick = wait_until(lambda: (h := health()) and not h["healthy"] and h, "the hung daemon: unhealthy")
        assert sick["status"] is None and "timed out" in sick["detail"]
    finally:
        os.kill(hung, signal.SIGCONT)
    wait_until(lambda: (h := health()) and h["healthy"], "healthy again once it answers")
    console.ok("POST", "/api/v1/apps/hello/stop")
    wait_until(lambda: health() is None, "a stopped app serves nothing: no health")
