"""examples/worker: a WSGI front, a queue worker process and a JSON API process started by a command."""

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

from apppackage.hooks import run_callable

if TYPE_CHECKING:
    from conftest import Deployment, Running, Served
    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "/apps/worker"  # a mount path (SCRIPT_NAME)


@pytest.fixture
def worker(deploy: Any) -> Deployment:
    return deploy("worker")


def enqueue(d: Deployment, op: str, text: str) -> str:
    result = d.package.run_command("enqueue", [op, text], d.host, capture=True)
    assert result.returncode == 0, result.output
    return result.output.strip()


def queue_dir(d: Deployment) -> Path:
    return d.host.writable_path("queue")


def run_worker_once(d: Deployment) -> str:
    """The ``queue`` process with ``--once``, run to its end through the bootstrap, as a host runs it."""
    process = d.package.description.process("queue")
    assert process is not None and process.call is not None
    env = d.environment(process="queue")
    result = run_callable(
        env, kind="process", ref=process.call, argument=["--once"], name="queue", timeout=60
    )
    assert result.returncode == 0, result.output
    return result.output


def test_validates(worker: Deployment) -> None:
    assert worker.package.validate() == []


# -- commands and the worker ---------------------------------------------------------


def test_enqueue_and_status_commands(worker: Deployment) -> None:
    job_id = enqueue(worker, "upper", "hello")
    assert re.fullmatch(r"[0-9a-f]+-[0-9a-f]{8}", job_id)
    assert (queue_dir(worker) / "incoming" / f"{job_id}.json").is_file()
    status = worker.package.run_command("status", [], worker.host, capture=True)
    assert status.output.splitlines() == ["queued: 1", "running: 0", "done: 0", "failed: 0"]
    unknown = worker.package.run_command("enqueue", ["shout", "hi"], worker.host, capture=True)
    assert unknown.returncode == 2
    assert "unknown operation 'shout' (operations: upper, reverse, words)" in unknown.output


def test_worker_once_processes_the_queued_jobs(worker: Deployment) -> None:
    jobs = {enqueue(worker, "upper", "hello world"): "HELLO WORLD", enqueue(worker, "words", "a b c"): 3}
    # A job dropped in by hand, with an operation the worker does not know.
    (queue_dir(worker) / "incoming" / "ffffffffff-00000000.json").write_text('{"op": "nope", "text": ""}')

    output = run_worker_once(worker)

    for job_id, expected in jobs.items():
        done = json.loads((queue_dir(worker) / "done" / f"{job_id}.json").read_text())
        assert done["result"] == expected
        assert f"job {job_id} done" in output
    failed = json.loads((queue_dir(worker) / "failed" / "ffffffffff-00000000.json").read_text())
    assert failed["error"] == "KeyError: 'nope'"
    assert list((queue_dir(worker) / "incoming").iterdir()) == []


@pytest.mark.slow
def test_worker_runs_until_sigterm(worker: Deployment) -> None:
    process = worker.package.description.process("queue")
    assert process is not None and process.call is not None
    first = enqueue(worker, "reverse", "abc")
    running = worker.start(
        kind="process",
        ref=process.call,
        argument=list(process.args),
        name="queue",
        env=worker.environment(process="queue"),
    )
    done = queue_dir(worker) / "done"
    running.wait_for((done / f"{first}.json").exists)
    second = enqueue(worker, "upper", "later")  # picked up while it runs
    running.wait_for((done / f"{second}.json").exists)

    assert running.stop() == 0
    assert json.loads((done / f"{second}.json").read_text())["result"] == "LATER"
    assert "stopped" in running.output()


# -- the web front -------------------------------------------------------------------


def test_status_page_under_a_prefix(worker: Deployment) -> None:
    enqueue(worker, "upper", "<b>bold</b>")
    enqueue(worker, "words", "one two")
    run_worker_once(worker)
    enqueue(worker, "reverse", "queued")
    with worker.web(PREFIX) as app:
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


def start_api(d: Deployment, port: int, argv: list[str] | None = None) -> Running:
    """The ``api`` process as metadata.yaml declares it: the command, its args with ``{port}`` filled in."""
    process = d.package.description.process("api")
    assert process is not None and process.command is not None and process.port
    command = d.package.description.command(process.command)
    assert command is not None
    args = [a.replace("{port}", str(port)) for a in process.args] if argv is None else argv
    running = d.start(
        kind="command",
        ref=command.call,
        argument=args,
        name=process.command,
        env=d.environment(process="api", port=port),
    )
    running.wait_listening(port)
    return running


@pytest.mark.slow
def test_api_answers_on_its_port(worker: Deployment, free_port: int) -> None:
    api = start_api(worker, free_port)
    assert call(free_port, "/status") == (200, {"queued": 0, "running": 0, "done": 0, "failed": 0})

    status, created = call(free_port, "/jobs", {"op": "upper", "text": "via api"})
    assert status == 202
    assert created["url"] == f"/jobs/{created['id']}"
    status, job = call(free_port, created["url"])
    assert (status, job["state"], job["text"]) == (200, "queued", "via api")

    run_worker_once(worker)
    assert call(free_port, created["url"])[1]["result"] == "VIA API"
    assert call(free_port, "/jobs", {"op": "shout", "text": "x"})[0] == 400
    assert call(free_port, "/jobs", b"not json")[0] == 400
    assert call(free_port, "/jobs/../../etc")[0] == 404
    assert call(free_port, "/elsewhere")[0] == 404

    assert api.stop() == 0
    output = api.output()
    assert f"listening on http://127.0.0.1:{free_port}" in output
    assert "serve-api: stopped" in output


@pytest.mark.slow
def test_api_falls_back_to_pyapp_port(worker: Deployment, free_port: int) -> None:
    api = start_api(worker, free_port, argv=[])
    assert call(free_port, "/status")[0] == 200
    assert api.stop() == 0


def test_api_without_a_port_refuses_to_start(worker: Deployment) -> None:
    result = worker.package.run_command("serve-api", [], worker.host, capture=True)
    assert result.returncode == 2
    assert "no port: pass --port PORT or set PYAPP_PORT" in result.output


@pytest.mark.slow
def test_pyapp_run_serves_the_built_package(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli: Callable[..., Any]
) -> None:
    built = pyapp_for("worker")
    queued = cli("pyapp", "command", built.path, "enqueue", "upper", "<b>hi</b>")
    assert queued.returncode == 0, queued.stderr
    served = serve_cli(built.path)
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
