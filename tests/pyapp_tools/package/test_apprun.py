"""``pyapp run`` runs the whole app: its web app, each copy of its processes and its tasks on their
schedules, each program's lines prefixed with its name; a signal stops them all, nothing is left;
``--reload`` restarts them on an edit."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from runs import Run, pyapp
from testkit import gone, request, wait_until

METADATA = """\
pyapp: "1.0"
name: whole
version: "0.1.0"
wsgi:
  app: whole.web:application
processes:
  worker:
    call: whole.work:work
    count: 2
tasks:
  beat:
    call: whole.work:beat
    every: 1
"""

WEB = """\
from .version import VERSION

print("web: loaded", flush=True)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [VERSION.encode()]
"""

# Each writes a marker file named after its pid (and the pid of a child it starts: a program's
# children must go with it), then runs until it is stopped.
WORK = """\
import os
import subprocess
import time


def _mark(kind):
    child = subprocess.Popen(["sleep", "300"])
    marker = os.path.join(os.environ["PYAPP_DATA_PATH"], f"{kind}-{os.getpid()}")
    with open(marker, "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    print(f"{kind} {os.getpid()} started {child.pid}", flush=True)


def work():
    _mark("worker")
    while True:
        time.sleep(0.1)


def beat(context):
    _mark("beat")
    time.sleep(300)  # still running when the run stops
"""


@pytest.fixture
def start(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """``start(*args)``: ``pyapp ARGS`` left running, its stdout and stderr in files; killed at the end."""
    runs: list[Run] = []

    def begin(*args: str | Path) -> Run:
        n = len(runs)
        out, err = tmp_path / f"out-{n}.txt", tmp_path / f"err-{n}.txt"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [pyapp(), *map(str, args)], env=cli_env, stdin=subprocess.DEVNULL, stdout=o,
                stderr=e,
            )  # fmt: skip
        runs.append(Run(proc=proc, out=out, err=err))
        return runs[-1]

    yield begin
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
        run.proc.wait()


@pytest.fixture
def whole(write_project: Callable[..., Path]) -> Path:
    return write_project(
        {
            "metadata.yaml": METADATA,
            "src/whole/__init__.py": "",
            "src/whole/version.py": 'VERSION = "v1"\n',
            "src/whole/web.py": WEB,
            "src/whole/work.py": WORK,
        },
        name="whole",
    )


def markers(state: Path, kind: str) -> dict[int, int]:
    """The ``{pid: child pid}`` of the programs of *kind* that started with the state dir *state*."""
    out = {}
    for path in (state / "data").glob(f"{kind}-*"):
        text = path.read_text().split()
        if len(text) == 2:
            out[int(text[0])] = int(text[1])
    return out


@contextmanager
def no_process_left(pids: list[int]) -> Iterator[None]:
    yield
    left = [pid for pid in pids if not gone(pid)]
    assert not left, f"still running after pyapp run ended: {left}"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_processes_and_tasks_run_with_the_web_app_and_stop_with_it(
    whole: Path, start: Callable[..., Run], tmp_path: Path, sig: int
) -> None:
    state = tmp_path / "state-dir"
    run = start("run", whole, "--port", "0", "--state-dir", state)
    port = run.port()
    assert request(port, "/") == (200, "v1")
    workers = wait_until(lambda: len(markers(state, "worker")) == 2 and markers(state, "worker"), "2 workers")
    beats = wait_until(lambda: markers(state, "beat"), "a run of the task beat")

    lines = run.stdout().splitlines()
    assert "web      | web: loaded" in lines
    for name in ("worker.1", "worker.2"):
        assert any(line.startswith(f"{name} | worker ") for line in lines), lines
    assert any(line.startswith("tasks    | beat: beat ") for line in lines), lines
    assert "tasks    | whole: task beat started" in lines

    pids = [pid for pair in (*workers.items(), *beats.items()) for pid in pair]
    with no_process_left(pids):
        run.proc.send_signal(sig)
        assert run.proc.wait(timeout=60) == 0, run.stderr()
    assert "Traceback" not in run.stderr()


@pytest.mark.slow
def test_a_process_that_exits_stops_the_others_and_the_run_ends_with_its_status(
    whole: Path, start: Callable[..., Run], tmp_path: Path
) -> None:
    (whole / "src/whole/crash.py").write_text(
        "import time\n\ndef crash():\n    time.sleep(1)\n    print('giving up', flush=True)\n    return 3\n"
    )
    (whole / "metadata.yaml").write_text(
        METADATA.replace("processes:\n", "processes:\n  crash:\n    call: whole.crash:crash\n")
    )
    state = tmp_path / "state-dir"
    run = start("run", whole, "--port", "0", "--state-dir", state)
    workers = wait_until(lambda: len(markers(state, "worker")) == 2 and markers(state, "worker"), "2 workers")
    with no_process_left([pid for pair in workers.items() for pid in pair]):
        assert run.proc.wait(timeout=60) == 3
    assert "crash.1  | giving up" in run.stdout()
    assert "crash.1 exited with status 3: the others were stopped" in run.stderr()


@pytest.mark.slow
def test_reload_restarts_the_app_on_an_edit_and_the_next_response_shows_it(
    whole: Path, start: Callable[..., Run], tmp_path: Path
) -> None:
    state = tmp_path / "state-dir"
    run = start("run", whole, "--port", "0", "--state-dir", state, "--reload", "--web-only")
    port = run.port()
    assert request(port, "/") == (200, "v1")
    assert "worker" not in run.stdout() and not markers(state, "worker")  # --web-only

    (whole / "src/whole/version.py").write_text('VERSION = "v2"\n')
    wait_until(lambda: request(port, "/") == (200, "v2"), "the edited version served")
    assert "src/whole/version.py changed: restarting" in run.stderr()

    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=60) == 0, run.stderr()


@pytest.mark.slow
def test_reload_goes_on_serving_on_the_same_unix_socket(
    whole: Path, start: Callable[..., Run], tmp_path: Path
) -> None:
    sock = tmp_path / "whole.sock"
    run = start(
        "run", whole, "--unix-socket", sock, "--state-dir", tmp_path / "state", "--reload", "--web-only"
    )
    wait_until(lambda: request(str(sock), "/") == (200, "v1"), "v1 served on the socket")

    (whole / "src/whole/version.py").write_text('VERSION = "v2"\n')
    # The restarted web app serves the socket the run keeps: its file stays where it was.
    wait_until(lambda: request(str(sock), "/") == (200, "v2"), "the edited version served on the socket")
    assert "src/whole/version.py changed: restarting" in run.stderr()

    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=60) == 0, run.stderr()
    assert not sock.exists()
