"""A host set up by an earlier runtime keeps working: its supervisord program files still start the apps.

supervisord's program files outlive the runtime that wrote them (a host is upgraded
under running apps, and supervisord restarts a program from its files whenever it
ends). Every name they hold must stay valid: the exec shim
``pyapp_runtime/supervision/_exec.py``, the scheduler's ``python -m pyapp_runtime.taskrun``,
the app bootstrap ``apppackage/_bootstrap.py``, and the JSON process files runtimes
wrote before the NUL-separated form. Here the files of an installed app are rewritten
as such a runtime wrote them, supervisord is started on them as after a reboot, and
the host then stops, starts and updates the app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from testkit import wait_until

pytestmark = pytest.mark.slow

EXTRA = """

def tick(context):
    with open(os.path.join(context["data_path"], "ticks"), "a") as f:
        f.write(f"{VERSION} {os.getpid()}\\n")


def worker(*args):
    with open(os.path.join(os.environ["PYAPP_DATA_PATH"], "worker.pid"), "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(1)
"""

METADATA: dict[str, Any] = {
    "tasks": {"tick": {"call": "webprobe:tick", "every": 1, "timeout": 30}},
    "processes": {"worker": {"call": "webprobe:worker"}},
}


def legacy_package(packages: Any, version: str) -> Path:
    """webprobe with a task and a process beside its WSGI app."""
    return Path(packages.webprobe(version, extra=EXTRA, **METADATA))


def exec_argv(payload: Path) -> tuple[list[str], dict[str, str]]:
    """The argv and environment in a process file as this runtime writes it (NUL-separated)."""
    fields = payload.read_bytes().split(b"\0")
    count = int(fields[1])
    args = [os.fsdecode(a) for a in fields[2 : 2 + count]]
    variables = dict(os.fsdecode(v).split("=", 1) for v in fields[2 + count :])
    return args, variables


def rewrite_as_earlier_runtime(state: Path, repo_root: Path) -> list[str]:
    """Rewrite every program of *state* (a supervisord state dir) as an earlier runtime wrote it.

    The process file in its JSON form (``<program>.<hash>.json``), the ``command`` naming
    the exec shim by its path in the source tree; the scheduler as ``-m pyapp_runtime.taskrun``.
    Returns the programs' names.
    """
    shim = repo_root / "runtime" / "pyapp_runtime" / "supervision" / "_exec.py"
    bootstrap = repo_root / "apppackage" / "_bootstrap.py"
    names = []
    for conf in sorted((state / "programs").glob("*.conf")):
        program = conf.stem
        names.append(program)
        (payload,) = (state / "programs").glob(f"{program}.*.exec")
        argv, environment = exec_argv(payload)
        if program.endswith("@tasks"):
            assert argv[1:3] == ["-m", "pyapp_runtime.taskrun"], argv
        else:
            assert Path(argv[3]) == bootstrap, argv
        legacy = state / "programs" / f"{program}.{'0' * 16}.json"
        legacy.write_text(json.dumps({"argv": argv, "environment": environment}))
        legacy.chmod(0o600)
        payload.unlink()
        text = conf.read_text()
        command = next(line for line in text.splitlines() if line.startswith("command = "))
        python = command.split()[2]
        conf.write_text(text.replace(command, f"command = {python} -I -S {shim} {legacy}"))
    return names


def supervisord_pid(state: Path) -> int:
    return int((state / "supervisord.pid").read_text())


def test_an_app_set_up_by_an_earlier_runtime_starts_stops_and_updates(
    make_host: Callable[..., Host], home: Path, packages: Any, helpers: Any, repo_root: Path
) -> None:
    host = make_host(confinement="none")  # as an earlier runtime ran its apps: without a sandbox
    host.install(legacy_package(packages, "1.0.0"))
    state = home / "supervisor"
    data = home / "apps" / "webprobe" / "data"
    sock = helpers.stable_socket(home, "webprobe")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")

    # The machine goes down with every program; the files are those of an earlier runtime.
    helpers.stop_supervisord(state)
    programs = rewrite_as_earlier_runtime(state, repo_root)
    assert sorted(p.split("@")[1].split("-")[0] for p in programs) == ["tasks", "web", "worker"]
    (data / "ticks").unlink(missing_ok=True)
    (data / "worker.pid").unlink(missing_ok=True)

    # It boots: supervisord starts from its configuration, and every program with it.
    started = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(state / "supervisord.conf")],
        capture_output=True, text=True, cwd=state, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    wait_until(lambda: (data / "ticks").exists(), "the scheduler ran no task")
    booted = supervisord_pid(state)
    wait_until(lambda: (data / "worker.pid").exists(), "the worker process did not start")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")
    running = lambda: {s.state for s in host.status("webprobe")} == {"running"}  # noqa: E731
    wait_until(running, f"not every program runs: {host.status('webprobe')}")
    assert len(host.status("webprobe")) == 3

    host.stop("webprobe")
    assert {s.state for s in host.status("webprobe")} <= {"stopped", "absent"}
    host.start("webprobe")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")

    host.install(legacy_package(packages, "2.0.0"))
    assert helpers.request(sock) == (200, "webprobe 2.0.0")
    assert {s.release.split("-")[0] for s in host.status("webprobe")} == {"2.0.0"}
    wait_until(running, f"not every program of 2.0.0 runs: {host.status('webprobe')}")
    # The programs are now in this runtime's form, and nothing of the earlier form is left.
    assert not list((state / "programs").glob("*.json"))
    assert supervisord_pid(state) == booted  # the supervisord started from the earlier files went on
    wait_until(lambda: "2.0.0" in (data / "ticks").read_text(), "the new release's scheduler ran no task")
