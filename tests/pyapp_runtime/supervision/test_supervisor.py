"""Supervisor against a real supervisord: processes start, restart, fail, stop gracefully, outlive us."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from pyapp_runtime.supervision import (
    NoSuchProgram,
    ProcessFailed,
    ProcessSpec,
    SupervisionError,
    Supervisor,
    SupervisorNotRunning,
)
from testkit import gone, wait_until

from apppackage.errors import AppPackageError

MakeSpec = Callable[..., ProcessSpec]


def ports(sup: Supervisor, program: str) -> list[int]:
    """Every port the HTTP server of *program* printed, oldest first."""
    return [int(ln.split()[1]) for ln in sup.tail(program).splitlines() if ln.startswith("port ")]


def port_number(sup: Supervisor, program: str, count: int = 1) -> int:
    """The port of the *count*-th start of *program*'s HTTP server, once it printed it."""
    wait_until(lambda: len(ports(sup, program)) >= count)
    return ports(sup, program)[count - 1]


def get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return str(response.read().decode())


def test_a_process_answers_and_is_restarted_after_kill_9(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    spec = make_spec("hello", "web-0", environment={"GREETING": "hi"})
    assert supervisor.update(spec) == "added"
    first = supervisor.wait_for(spec.program, ["running"])
    assert first.pid is not None
    assert get(port_number(supervisor, spec.program)) == f"{first.pid} hi"

    os.kill(first.pid, signal.SIGKILL)

    second = supervisor.wait_for(spec.program, ["running"], until=lambda s: s.pid != first.pid)
    assert second.pid is not None and second.pid != first.pid
    assert get(port_number(supervisor, spec.program, 2)) == f"{second.pid} hi"
    assert gone(first.pid)


def test_a_process_that_keeps_crashing_ends_failed_with_its_output(
    supervisor: Supervisor, make_spec: MakeSpec
) -> None:
    script = "import sys; print('cannot open the database', file=sys.stderr); sys.exit(3)"
    spec = make_spec("broken", "web-0", script, start_retries=1)
    supervisor.update(spec)

    status = supervisor.wait_for(spec.program, ["fatal"])
    assert status.failed and not status.alive
    assert status.pid is None
    # The first start and one retry, both in the log, readable after the failure.
    assert supervisor.tail(spec.program).count("cannot open the database") == 2

    with pytest.raises(ProcessFailed) as caught:
        supervisor.start(spec.program)
    assert "cannot open the database" in caught.value.output
    assert "broken@web-0" in str(caught.value)


def test_a_missing_program_fails_with_a_readable_reason(supervisor: Supervisor, short_dir: Path) -> None:
    spec = ProcessSpec(
        app="hello",
        name="web-0",
        argv=(str(short_dir / "no-such-program"),),
        stdout_log=str(short_dir / "web.log"),
        start_retries=0,
    )
    supervisor.update(spec)
    assert supervisor.wait_for(spec.program, ["fatal"]).failed
    assert "no-such-program" in supervisor.tail(spec.program)


def test_stop_and_start(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    spec = make_spec("hello", "web-0")
    supervisor.update(spec)
    old = supervisor.wait_for(spec.program, ["running"]).pid
    assert old is not None

    supervisor.stop(spec.program)
    stopped = supervisor.status(spec.program)
    assert stopped.state == "stopped" and stopped.pid is None
    assert gone(old)
    supervisor.stop(spec.program)  # stopping a stopped process is fine

    supervisor.start(spec.program)
    started = supervisor.status(spec.program)
    assert started.running and started.pid not in (None, old)
    assert get(port_number(supervisor, spec.program, 2)) == f"{started.pid} "

    supervisor.restart(spec.program)
    assert supervisor.status(spec.program).pid not in (None, started.pid)


GRACEFUL = """\
import signal, sys, time
def finish(signum, frame):
    time.sleep(0.5)  # in-flight work
    with open(sys.argv[1], "w") as f:
        f.write("finished")
    sys.exit(0)
signal.signal(signal.SIGTERM, finish)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_stop_is_graceful(supervisor: Supervisor, short_dir: Path) -> None:
    marker = short_dir / "marker"
    spec = ProcessSpec(
        app="hello",
        name="worker-0",
        argv=(sys.executable, "-c", GRACEFUL, str(marker)),
        stdout_log=str(short_dir / "worker.log"),
        stop_wait=30,
    )
    supervisor.update(spec)
    supervisor.wait_for(spec.program, ["running"])
    wait_until(lambda: "ready" in supervisor.tail(spec.program))

    supervisor.stop(spec.program)

    assert marker.read_text() == "finished"
    assert supervisor.status(spec.program).state == "stopped"


def test_files_and_socket_are_owner_only(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    spec = make_spec("hello", "web-0", environment={"DATABASE_URL": "postgresql://u:secret@db/app"})
    supervisor.update(spec)
    sock = supervisor.socket_path.stat()
    assert stat.S_ISSOCK(sock.st_mode)
    assert sock.st_mode & 0o077 == 0
    assert supervisor.state_dir.stat().st_mode & 0o777 == 0o700
    files = [supervisor.config_file, supervisor.log_file, *supervisor.programs_dir.iterdir()]
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, path
    # The secret is only in the owner-only JSON file, not in supervisord's configuration.
    assert "secret" not in (supervisor.programs_dir / "hello@web-0.conf").read_text()


def test_the_environment_is_exactly_the_specs(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    tricky = {
        "PASSWORD": "a\"b'c #d, e=f %(here)s $HOME \\ ü",
        "MULTI": "line one\nline two",
        "EMPTY": "",
    }
    script = "import json, os; print(json.dumps(dict(os.environ)), flush=True); import time; time.sleep(60)"
    spec = make_spec("hello", "env-0", script, environment=tricky)
    supervisor.update(spec)
    line = wait_until(lambda: supervisor.tail(spec.program).strip())
    environ = json.loads(str(line).splitlines()[0])
    # Python itself may add LC_CTYPE when coercing the C locale.
    environ.pop("LC_CTYPE", None)
    assert environ == dict(spec.environment)


def test_a_process_reads_end_of_file_from_its_standard_input(
    supervisor: Supervisor, make_spec: MakeSpec
) -> None:
    """Spec section 6.1: a host SHOULD connect standard input to an empty input (supervisord's is a pipe
    it keeps open, where a read waits forever)."""
    script = "import sys, time; print('read', repr(sys.stdin.read()), flush=True); time.sleep(60)"
    spec = make_spec("hello", "stdin-0", script)
    supervisor.update(spec)
    assert wait_until(lambda: "read ''" in supervisor.tail(spec.program), timeout=10)


def test_processes_outlive_the_process_that_started_them(state_dir: Path, make_spec: MakeSpec) -> None:
    state = state_dir
    spec = make_spec("hello", "web-0")
    starter = textwrap.dedent(
        f"""
        import sys
        from pyapp_runtime.supervision import ProcessSpec, Supervisor
        sup = Supervisor({str(state)!r})
        spec = ProcessSpec(app="hello", name="web-0", argv={spec.argv!r}, stdout_log={spec.stdout_log!r},
                           environment={dict(spec.environment)!r})
        sup.update(spec)
        print(sup.wait_for(spec.program, ["running"]).pid)
        """
    )
    done = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())

    sup = Supervisor(state)
    assert sup.status(spec.program).pid == pid
    assert not gone(pid)
    assert get(port_number(sup, spec.program)) == f"{pid} "


def test_updating_one_app_leaves_the_other_running(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    blog = make_spec("blog", "web-0", environment={"GREETING": "v1"})
    shop = make_spec("shop", "web-0")
    supervisor.update(blog)
    supervisor.update(shop)
    blog_pid = supervisor.wait_for(blog.program, ["running"]).pid
    shop_pid = supervisor.wait_for(shop.program, ["running"]).pid

    assert supervisor.update(shop) == "unchanged"
    assert supervisor.status(shop.program).pid == shop_pid

    newer = make_spec("blog", "web-0", environment={"GREETING": "v2"})
    assert supervisor.update(newer) == "changed"
    new_pid = supervisor.wait_for(blog.program, ["running"], until=lambda s: s.pid != blog_pid).pid
    assert get(port_number(supervisor, blog.program, 2)) == f"{new_pid} v2"
    assert supervisor.status(shop.program).pid == shop_pid

    assert supervisor.remove(blog.program)
    assert not supervisor.remove(blog.program)
    with pytest.raises(NoSuchProgram):
        supervisor.status(blog.program)
    assert [s.program for s in supervisor.status_all()] == [shop.program]
    assert supervisor.status(shop.program).pid == shop_pid
    assert supervisor.programs() == [shop.program]
    assert [p.name for p in supervisor.programs_dir.glob("blog@*")] == []


def test_add_refuses_an_existing_program(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    spec = make_spec("hello", "web-0", autostart=False)
    supervisor.add(spec)
    assert supervisor.status(spec.program).state == "stopped"
    with pytest.raises(SupervisionError, match="exists already"):
        supervisor.add(spec)


def test_status_of_all_processes_for_ps(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    supervisor.update(make_spec("blog", "web-0"))
    supervisor.update(make_spec("blog", "web-1"))
    supervisor.update(make_spec("shop", "web-0"))
    for program in ("blog@web-0", "blog@web-1", "shop@web-0"):
        supervisor.wait_for(program, ["running"])

    blog = supervisor.status_all("blog")
    assert [(s.app, s.name, s.state) for s in blog] == [
        ("blog", "web-0", "running"),
        ("blog", "web-1", "running"),
    ]
    for status in blog:
        assert status.memory is not None and status.memory > 0
        assert status.uptime is not None and status.uptime >= 0
        assert status.started is not None
        assert status.to_dict()["pid"] == status.pid
    assert len(supervisor.status_all()) == 3


HANGUP = """\
import signal, time
signal.signal(signal.SIGHUP, lambda *a: print("reloaded", flush=True))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_signal(supervisor: Supervisor, make_spec: MakeSpec) -> None:
    spec = make_spec("hello", "web-0", HANGUP)
    supervisor.update(spec)
    supervisor.wait_for(spec.program, ["running"])
    wait_until(lambda: "ready" in supervisor.tail(spec.program))
    supervisor.signal(spec.program, "HUP")
    wait_until(lambda: "reloaded" in supervisor.tail(spec.program))
    supervisor.signal(spec.program, signal.SIGHUP)
    wait_until(lambda: supervisor.tail(spec.program).count("reloaded") == 2)


CHATTY = """\
import time
for i in range(100):
    print(f"line {i:04d} " + "x" * 990, flush=True)
    time.sleep(0.005)  # separate writes, so supervisord rotates as it goes
print("done", flush=True)
time.sleep(60)
"""


def test_logs_are_rotated_and_stderr_can_go_apart(
    supervisor: Supervisor, make_spec: MakeSpec, short_dir: Path
) -> None:
    out, err = short_dir / "chatty.out", short_dir / "chatty.err"
    script = "import sys\nprint('to stderr', file=sys.stderr, flush=True)\n" + CHATTY
    spec = make_spec(
        "hello",
        "chatty-0",
        script,
        stdout_log=str(out),
        stderr_log=str(err),
        log_max_bytes=4096,
        log_backups=2,
    )
    supervisor.update(spec)
    kept = [out, Path(f"{out}.1"), Path(f"{out}.2")]
    wait_until(lambda: any(p.exists() and "done" in p.read_text() for p in kept))
    # Rotated: two backups kept, the oldest output dropped.
    assert all(p.exists() for p in kept)
    assert not Path(f"{out}.3").exists()
    assert "line 0000" not in "".join(p.read_text() for p in kept)
    assert supervisor.tail(spec.program, stream="stderr") == "to stderr\n"
    assert "to stderr" not in supervisor.tail(spec.program)


def test_shutdown_stops_everything(state_dir: Path, make_spec: MakeSpec) -> None:
    sup = Supervisor(state_dir)
    spec = make_spec("hello", "web-0")
    sup.update(spec)  # starts supervisord when it is not running
    pid = sup.wait_for(spec.program, ["running"]).pid
    assert pid is not None
    assert sup.shutdown()
    assert gone(pid)
    assert not sup.is_running()
    assert not sup.shutdown()
    with pytest.raises(SupervisorNotRunning, match="ensure_running"):
        sup.status(spec.program)
    # Started again, it brings its programs back (autostart).
    assert sup.ensure_running()
    assert not sup.ensure_running()
    assert sup.wait_for(spec.program, ["running"]).pid not in (None, pid)


def test_a_socket_path_too_long_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(SupervisionError, match="socket_path") as caught:
        Supervisor(tmp_path / ("x" * 120))
    assert isinstance(caught.value, AppPackageError)
    Supervisor(tmp_path / ("x" * 120), socket_path="/tmp/pyapp-short.sock")


def test_unknown_programs_are_reported(supervisor: Supervisor) -> None:
    with pytest.raises(NoSuchProgram, match=r"no supervised program 'nope@web-0'"):
        supervisor.start("nope@web-0")
    with pytest.raises(NoSuchProgram):
        supervisor.tail("nope@web-0")
    assert not supervisor.remove("nope@web-0")


def test_removing_a_process_leaves_one_with_a_longer_name(
    supervisor: Supervisor, make_spec: MakeSpec
) -> None:
    short, longer = make_spec("hello", "web-0"), make_spec("hello", "web-0.1")
    supervisor.update(short)
    supervisor.update(longer)
    supervisor.wait_for(longer.program, ["running"])
    supervisor.remove(short.program)
    supervisor.restart(longer.program)  # reads its own program files again
    assert supervisor.status(longer.program).running
