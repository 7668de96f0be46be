"""examples/worker: a WSGI front, a queue worker process and a JSON API process started by a command.

It is installed with ``pyapp install`` (see conftest.py): the host runs its web daemon, the two copies
of its queue worker and its API process, on a port of the host's range, under supervisord. Where a
test needs jobs to stay queued while the rest runs, it stops the queue workers alone with
supervisord's own command line (pyapp stops and starts an app's processes together).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from apppackage import AppPackage

if TYPE_CHECKING:
    from conftest import Installed, Running, Served
    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "/apps/worker"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def worker(install: Any) -> Installed:
    return install("worker")


def enqueue(d: Installed, op: str, text: str) -> str:
    result = d.run_command("enqueue", op, text)
    assert result.returncode == 0, result.output
    return str(result.output.strip())


def queue_dir(d: Installed) -> Path:
    return d.writable_path("queue")


def queue_programs(d: Installed) -> list[str]:
    """The supervisord programs of the running queue workers (``worker@queue-<i>-<tag>``)."""
    programs = [p["program"] for p in d.processes() if p["process"].partition("#")[0] == "queue"]
    assert len(programs) == 2, d.processes()  # processes.queue.count
    return programs


def queue_workers(d: Installed, action: str, programs: list[str]) -> None:
    """``supervisorctl stop|start`` the queue workers *programs*; the web front and the API go on."""
    said = d.supervisorctl(action, *programs)
    word = {"stop": "stopped", "start": "started"}[action]
    assert all(f"{p}: {word}" in said for p in programs), said


def wait_done(d: Installed, *job_ids: str) -> None:
    done = queue_dir(d) / "done"
    d.wait_until(lambda: all((done / f"{j}.json").exists() for j in job_ids), f"jobs {job_ids} done")


def stopped_with(d: Installed, program: str) -> str | None:
    """The exit status supervisord logged when *program* stopped (``0``, ``terminated by SIGTERM``...)."""
    found = [re.search(rf"stopped: {re.escape(program)} \((.*)\)$", line) for line in d.supervisor_log()]
    statuses = [m[1].removeprefix("exit status ") for m in found if m]
    return statuses[-1] if statuses else None


def host_ports(d: Installed) -> range:
    low, _, high = str(yaml.safe_load((d.home / "host.yaml").read_text())["ports"]).partition("-")
    return range(int(low), int(high) + 1)


def test_validates(pyapp_for: Callable[[str], BuildResult]) -> None:
    for path in (EXAMPLES / "worker", pyapp_for("worker").path):
        with AppPackage(path) as package:
            assert package.validate() == [], path


# -- commands and the worker ---------------------------------------------------------


def test_enqueue_and_status_commands(install: Any) -> None:
    stopped = install("worker", start=False)  # no queue worker takes the job
    job_id = enqueue(stopped, "upper", "hello")
    assert re.fullmatch(r"[0-9a-f]+-[0-9a-f]{8}", job_id)
    assert (queue_dir(stopped) / "incoming" / f"{job_id}.json").is_file()
    status = stopped.run_command("status")
    assert status.output.splitlines() == ["queued: 1", "running: 0", "done: 0", "failed: 0"]
    unknown = stopped.run_command("enqueue", "shout", "hi")
    assert unknown.returncode == 2
    assert "unknown operation 'shout' (operations: upper, reverse, words)" in unknown.output


def test_the_queue_workers_process_the_jobs_queued_before_they_start(install: Any) -> None:
    d = install("worker", start=False)
    jobs = {enqueue(d, "upper", "hello world"): "HELLO WORLD", enqueue(d, "words", "a b c"): 3}
    # A job dropped in by hand, with an operation the worker does not know.
    (queue_dir(d) / "incoming" / "ffffffffff-00000000.json").write_text('{"op": "nope", "text": ""}')

    d.pyapp("start", d.name)

    wait_done(d, *jobs)
    failed_file = queue_dir(d) / "failed" / "ffffffffff-00000000.json"
    d.wait_until(failed_file.exists, "the unknown job failed")
    for job_id, expected in jobs.items():
        done = json.loads((queue_dir(d) / "done" / f"{job_id}.json").read_text())
        assert done["result"] == expected
        # The worker says so once the result is written.
        d.wait_until(
            lambda j=job_id: f": job {j} done" in "\n".join(d.log_lines("queue")), f"job {job_id} logged"
        )
    failed = json.loads(failed_file.read_text())
    assert failed["error"] == "KeyError: 'nope'"
    assert list((queue_dir(d) / "incoming").iterdir()) == []


@pytest.mark.slow
def test_the_queue_workers_run_until_the_app_stops(worker: Installed) -> None:
    programs = queue_programs(worker)
    first = enqueue(worker, "reverse", "abc")
    wait_done(worker, first)
    second = enqueue(worker, "upper", "later")  # picked up while they run
    wait_done(worker, second)

    worker.pyapp("stop", worker.name)
    assert [stopped_with(worker, p) for p in programs] == ["0", "0"]
    done = queue_dir(worker) / "done"
    assert json.loads((done / f"{second}.json").read_text())["result"] == "LATER"
    assert len([line for line in worker.log_lines("queue") if line.endswith(": stopped")]) == 2


# -- the web front -------------------------------------------------------------------


def test_status_page_under_a_prefix(worker: Installed) -> None:
    worker.mount(PREFIX)
    done = [enqueue(worker, "upper", "<b>bold</b>"), enqueue(worker, "words", "one two")]
    wait_done(worker, *done)
    queue_workers(worker, "stop", queue_programs(worker))
    enqueue(worker, "reverse", "queued")
    app = worker.web(PREFIX)
    page = app.get("/")
    data = app.get("/status.json").json
    assert app.get("/health").text == "ok"
    assert "<tr><th>queued</th><td>1</td></tr>" in page.text
    assert "<tr><th>done</th><td>2</td></tr>" in page.text
    assert "&lt;B&gt;BOLD&lt;/B&gt;" in page.text
    assert "<B>" not in page.text
    assert re.findall(r'href="([^"]*)"', page.text) == [f"{PREFIX}/", f"{PREFIX}/status.json"]
    assert data["counts"] == {"queued": 1, "running": 0, "done": 2, "failed": 0}
    assert {j["result"] for j in data["recent"]} == {"<B>BOLD</B>", 2}


# -- the API process -----------------------------------------------------------------


def call(port: int, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


@pytest.mark.slow
def test_api_answers_on_its_port(worker: Installed) -> None:
    api = worker.process("api#0")
    port = api["port"]
    assert api["listen"] == f"127.0.0.1:{port}" and port in host_ports(worker)
    assert call(port, "/status") == (200, {"queued": 0, "running": 0, "done": 0, "failed": 0})

    programs = queue_programs(worker)
    queue_workers(worker, "stop", programs)  # the job stays queued until they start again
    status, created = call(port, "/jobs", {"op": "upper", "text": "via api"})
    assert status == 202
    assert created["url"] == f"/jobs/{created['id']}"
    status, job = call(port, created["url"])
    assert (status, job["state"], job["text"]) == (200, "queued", "via api")

    queue_workers(worker, "start", programs)
    wait_done(worker, created["id"])
    assert call(port, created["url"])[1]["result"] == "VIA API"
    assert call(port, "/jobs", {"op": "shout", "text": "x"})[0] == 400
    assert call(port, "/jobs", b"not json")[0] == 400
    assert call(port, "/jobs/../../etc")[0] == 404
    assert call(port, "/elsewhere")[0] == 404

    worker.pyapp("stop", worker.name)
    assert stopped_with(worker, api["program"]) == "0"
    output = worker.log_lines("api")
    assert f"serve-api: listening on http://127.0.0.1:{port}" in output
    assert "serve-api: stopped" in output


@pytest.mark.slow
def test_api_falls_back_to_pyapp_port(worker: Installed, tmp_path: Path) -> None:
    api = worker.process("api#0")
    launch = worker.launch_of("api#0")
    assert launch.payload["argument"] == ["--port", str(api["port"])]  # as metadata.yaml declares it
    assert launch.payload["variables"]["PYAPP_PORT"] == str(api["port"])
    worker.pyapp("stop", worker.name)  # frees the port
    # The host's own start of the API process, without its arguments.
    running = worker.start(launch, tmp_path / "api.log", argument=[])
    running.wait_listening(api["port"])
    assert call(api["port"], "/status")[0] == 200
    assert running.stop() == 0


def test_api_without_a_port_refuses_to_start(worker: Installed) -> None:
    result = worker.run_command("serve-api")
    assert result.returncode == 2
    assert "no port: pass --port PORT or set PYAPP_PORT" in result.output


@pytest.mark.slow
def test_pyapp_run_serves_the_built_package(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli: Callable[..., Any]
) -> None:
    built = pyapp_for("worker")
    queued = cli("pyapp", "command", built.path, "enqueue", "upper", "<b>hi</b>")
    assert queued.returncode == 0, queued.stderr
    served = serve_cli(built.path, "--web-only")  # no worker: the job stays queued
    status, kind, page = served.get("/")
    data = served.get_json("/status.json")
    health = served.get("/health")
    code, output = served.stop()
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert "<tr><th>queued</th><td>1</td></tr>" in page
    assert data["counts"] == {"queued": 1, "running": 0, "done": 0, "failed": 0}
    assert health == (200, "text/plain; charset=utf-8", "ok")
    assert (code, "Traceback" in output) == (0, False)


@pytest.mark.slow
def test_the_api_command_runs_from_the_command_line_until_sigterm(
    start_cli: Callable[..., Running], free_port: int
) -> None:
    # As the README shows: `pyapp command examples/worker serve-api --port PORT`.
    api = start_cli("pyapp", "command", EXAMPLES / "worker", "serve-api", "--port", str(free_port))
    api.wait_listening(free_port)
    assert call(free_port, "/status") == (200, {"queued": 0, "running": 0, "done": 0, "failed": 0})

    # SIGTERM to pyapp stops the command's own process too: nothing keeps the port.
    assert api.stop() == 128 + signal.SIGTERM
    assert "serve-api: stopped" in api.output()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", free_port)) != 0
