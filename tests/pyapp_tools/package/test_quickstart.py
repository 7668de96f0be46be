"""``pyapp run`` started again the same way starts its web app from the launch record, before the command line
has loaded and prepared the run; the prepared run adopts it only when it is what it would start itself, and
never serves from a record whose inputs changed. A signal in between leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyapp_tools.package import quickstart
from runs import Run, pyapp
from testkit import free_port, gone, request, wait_until

METADATA = """\
pyapp: "1.0"
name: quick
version: "0.1.0"
wsgi:
  app: quick.web:make
  factory: true
"""

CONFIG = """\
pyapp: "1.0"
fields:
  greeting:
    type: string
    default: {greeting}
"""

# Marks each load with its pid, then waits for the file "go" in its data dir before it serves: so a test
# sees the web app loaded while the run that started it is still waiting for it.
WEB = """\
import os
import time

DATA = os.environ["PYAPP_DATA_PATH"]
open(os.path.join(DATA, f"loaded-{os.getpid()}"), "w").close()
print("web: loaded", flush=True)
while not os.path.exists(os.path.join(DATA, "go")):
    time.sleep(0.02)


def make(config):
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{os.getpid()} {config['greeting']}".encode()]

    return application
"""


@pytest.fixture
def project(write_project: Callable[..., Path]) -> Path:
    return write_project(
        {
            "metadata.yaml": METADATA,
            "configuration.yaml": CONFIG.format(greeting="one"),
            "src/quick/__init__.py": "",
            "src/quick/web.py": WEB,
        },
        name="quick",
    )


@pytest.fixture
def start(cli_env: dict[str, str], tmp_path: Path, project: Path) -> Iterator[Callable[..., Run]]:
    """``start(*args)``: ``pyapp ARGS`` started in the project's directory, as the console script; killed
    at the end, with every web app it loaded."""
    runs: list[Run] = []

    def begin(*args: str | Path) -> Run:
        n = len(runs)
        out, err = tmp_path / f"out-{n}.txt", tmp_path / f"err-{n}.txt"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [pyapp(), *map(str, args)], env=cli_env, cwd=project, stdin=subprocess.DEVNULL, stdout=o,
                stderr=e,
            )  # fmt: skip
        runs.append(Run(proc=proc, out=out, err=err))
        return runs[-1]

    yield begin
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
        run.proc.wait()
    for marker in (tmp_path / "state-dir" / "data").glob("loaded-*"):
        pid = int(marker.name.split("-")[1])
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def loads(state: Path) -> list[int]:
    """The pids of the web apps that were loaded with the state dir *state*, oldest first."""
    markers = sorted((state / "data").glob("loaded-*"), key=lambda p: p.stat().st_mtime_ns)
    return [int(p.name.split("-")[1]) for p in markers]


def records(cli_env: dict[str, str]) -> list[Path]:
    return sorted((Path(cli_env["XDG_CACHE_HOME"]) / "pyapp" / "launch").glob("*.json"))


def first_run(start: Callable[..., Run], state: Path, *args: str) -> tuple[int, str]:
    """Run once with the "go" file there, stop it with SIGTERM; the pid and greeting it served."""
    (state / "data").mkdir(parents=True, exist_ok=True)
    (state / "data" / "go").touch()
    run = start(*args)
    port = run.port()
    pid, greeting = request(port, "/")[1].split()
    run.proc.send_signal(signal.SIGTERM)
    assert run.proc.wait(timeout=60) == 0, run.stderr()
    assert wait_until(lambda: gone(int(pid)), "the web app gone")
    (state / "data" / "go").unlink()
    return int(pid), greeting


@pytest.mark.slow
def test_a_run_started_again_the_same_way_starts_its_web_app_before_preparing(
    start: Callable[..., Run], tmp_path: Path, cli_env: dict[str, str]
) -> None:
    state = tmp_path / "state-dir"
    port = free_port()
    args = ("run", ".", "--port", str(port), "--state-dir", str(state))
    first_pid, greeting = first_run(start, state, *args)
    assert greeting == "one"
    [record] = records(cli_env)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600, "the record holds the configuration: private"
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700

    run = start(*args)
    # The web app is loaded (and waits) while the run has not even said what it starts: it came from
    # the record, before the command line prepared anything.
    early = wait_until(lambda: [p for p in loads(state) if p != first_pid], "the web app loaded again")
    assert run.proc.poll() is None
    assert "Starting" not in run.stderr()
    (state / "data" / "go").touch()
    assert run.port() == port
    assert request(port, "/") == (200, f"{early[0]} one")
    # The prepared run adopted it: nothing was loaded a second time, its lines come prefixed as ever.
    wait_until(lambda: "Starting quick 0.1.0" in run.stderr(), "the Starting line")
    assert loads(state) == [first_pid, early[0]]
    assert "web | web: loaded" in run.stdout()
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=60) == 0, run.stderr()
    assert wait_until(lambda: gone(early[0]), "the web app gone")
    assert "Traceback" not in run.stderr()


@pytest.mark.slow
def test_a_changed_input_is_never_served_from_the_record(
    start: Callable[..., Run], tmp_path: Path, project: Path
) -> None:
    state = tmp_path / "state-dir"
    port = free_port()
    args = ("run", ".", "--port", str(port), "--state-dir", str(state))
    first_run(start, state, *args)
    (project / "configuration.yaml").write_text(CONFIG.format(greeting="two"))

    (state / "data" / "go").touch()
    run = start(*args)
    assert run.port() == port
    pid, greeting = request(port, "/")[1].split()
    assert greeting == "two", "the new configuration, as a first run would serve it"
    assert loads(state)[1:] == [int(pid)], "loaded once: no early start from the old record"
    run.proc.send_signal(signal.SIGTERM)
    assert run.proc.wait(timeout=60) == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_run_takes_over_stops_the_early_web_app(
    start: Callable[..., Run], tmp_path: Path, sig: int
) -> None:
    state = tmp_path / "state-dir"
    args = ("run", ".", "--port", str(free_port()), "--state-dir", str(state))
    first_pid, _ = first_run(start, state, *args)
    run = start(*args)
    early = wait_until(lambda: [p for p in loads(state) if p != first_pid], "the web app loaded again")
    run.proc.send_signal(sig)
    assert run.proc.wait(timeout=60) == 0, run.stderr()
    assert wait_until(lambda: gone(early[0]), "the early web app gone with the run")
    assert "Traceback" not in run.stderr()


@pytest.mark.slow
@pytest.mark.parametrize("extra", [("--port", "0"), ("--reload",)], ids=["any-port", "reload"])
def test_a_run_an_early_start_cannot_serve_keeps_no_record(
    start: Callable[..., Run], tmp_path: Path, cli_env: dict[str, str], extra: tuple[str, ...]
) -> None:
    state = tmp_path / "state-dir"
    args = ("run", ".", "--state-dir", str(state), *extra)
    if "--port" not in extra:
        args += ("--port", str(free_port()))
    first_run(start, state, *args)
    assert records(cli_env) == []


@pytest.mark.slow
def test_the_prepared_run_stops_an_early_web_app_that_is_not_what_it_would_start(
    start: Callable[..., Run],
    tmp_path: Path,
    cli_env: dict[str, str],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = tmp_path / "state-dir"
    args = ["run", ".", "--port", str(free_port()), "--state-dir", str(state)]
    first_run(start, state, *args)
    (state / "data" / "go").touch()
    for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, cli_env[name])
    monkeypatch.chdir(project)
    session = quickstart.Session(args[1:])
    session.start()
    assert session.proc is not None and session.ready
    early = session.proc.pid
    assert session.record is not None
    launch = json.loads(json.dumps(session.record["launch"]))
    launch["payload"]["variables"]["PYAPP_EXTRA"] = "changed"
    sock = session.socket_for(session.record["bind"]["host"], int(args[3]))
    assert sock is not None
    try:
        assert session.adopt(launch, sock) is None
        assert gone(early), "stopped: it is not the web app the run would start"
    finally:
        sock.close()
        session.discard()


# A run whose SIGTERM arrives just as its web app becomes one of its programs: the moment the program's
# output starts to be followed (whether the run started it, or adopts the one started early).
SIGNAL_AT_FOLLOW = """\
import os, signal, sys
from pyapp_tools.package import ensemble

follow = ensemble.Output.follow

def signalled(self, name, pipe, **kw):
    if name == "web":
        os.kill(os.getpid(), signal.SIGTERM)
    return follow(self, name, pipe, **kw)

ensemble.Output.follow = signalled
sys.argv = ["pyapp", *sys.argv[1:]]
from pyapp_tools.console import main
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("early", [False, True], ids=["started", "adopted"])
def test_a_signal_as_the_web_app_becomes_the_runs_leaves_nothing_running(
    tmp_path: Path, cli_env: dict[str, str], project: Path, start: Callable[..., Run], early: bool
) -> None:
    """The signal waits until the web app is one the run stops: it never outlives the run."""
    state = tmp_path / "state-dir"
    args = ["run", ".", "--port", str(free_port()), "--state-dir", str(state)]
    before = first_run(start, state, *args)[0] if early else 0
    (state / "data").mkdir(parents=True, exist_ok=True)
    (state / "data" / "go").touch()
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_AT_FOLLOW, *args], env=cli_env, cwd=project, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    if early:
        assert [pid for pid in loads(state) if pid != before], "the early web app loaded, then adopted"
    assert wait_until(lambda: not apps_of(state), "no web app outliving the run", timeout=15)


def apps_of(state: Path) -> list[int]:
    """The processes running with *state*'s data dir (loaded or not yet), found by their environment."""
    marker = f"PYAPP_DATA_PATH={state / 'data'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile, or not ours to read
    return found
