"""A host that heals itself: supervisord killed, a reboot, a program that keeps crashing.

Real supervisord, real processes; what is checked is what a user sees: the app serves again, ``pyapp ps``
tells the truth, exactly one process per program runs and nothing of the dead supervisord is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.hostevents import read_events
from testkit import gone, parent_of, processes_under, wait_until

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))

CRASHER = '''

def crasher(*args):
    """Runs until a file CRASH is in its data directory; from then on it exits at once, saying why."""
    import os, sys, time
    data = os.environ["PYAPP_DATA_PATH"]
    while True:
        if os.path.exists(os.path.join(data, "CRASH")):
            print("crasher: the queue at queue.invalid is gone", flush=True)
            sys.exit(3)
        time.sleep(0.05)
'''


def pyapp(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYAPP_DAEMONS": "1"}
    return subprocess.run(
        [PYAPP, *args, "--home", str(home)], env=env, capture_output=True, text=True, timeout=240
    )


def supervisord_pid(home: Path) -> int:
    return int((home / "supervisor" / "supervisord.pid").read_text())


def program_processes(home: Path, payload: str) -> list[int]:
    """The live processes started from the payload file *payload* (``run/<program>.json``) of the host,
    each the top of its tree."""

    def argv(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")

    found = [pid for pid in processes_under(home) if any(a.endswith(f"/run/{payload}") for a in argv(pid))]
    # One copy is one tree: a sandboxed program is bubblewrap's processes with the app inside.
    return [pid for pid in found if parent_of(pid) not in found]


def serving(sock: str) -> bool:
    try:
        from testkit import request

        return request(sock, "/health")[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("confinement", ["none", "bubblewrap"])
def test_a_killed_supervisord_is_restored_by_the_next_ps_with_no_duplicate_and_no_orphan(
    confinement: str, home: Path, packages: Any, helpers: Any
) -> None:
    """Unconfined, the app outlives supervisord and is stopped as an orphan; in a sandbox it dies with
    supervisord (bubblewrap's --die-with-parent). Either way one copy serves again."""
    helpers.write_host_yaml(home, confinement=confinement)
    done = pyapp("install", str(packages.webprobe()), home=home)
    assert done.returncode == 0, done.stderr
    sock = helpers.stable_socket(home, "webprobe")
    assert serving(sock)
    (before,) = json.loads(pyapp("ps", "--json", home=home).stdout)
    program = before["program"].partition("@")[2]
    assert program_processes(home, f"{program}.json") == [before["pid"]]
    dead = supervisord_pid(home)

    os.kill(dead, signal.SIGKILL)
    wait_until(lambda: gone(dead), "supervisord has died")
    if confinement == "none":
        assert not gone(before["pid"])  # the app runs on, orphaned
    else:
        wait_until(lambda: gone(before["pid"]), "the sandbox has died with supervisord")

    shown = json.loads(pyapp("ps", "--json", home=home).stdout)
    assert [(p["program"], p["state"] in ("starting", "running")) for p in shown] == [
        (before["program"], True)
    ]
    assert gone(before["pid"])  # what the dead supervisord left was stopped, not kept beside a new copy
    assert supervisord_pid(home) != dead and not gone(supervisord_pid(home))
    wait_until(lambda: serving(sock), "the app serves again")
    (after,) = wait_until(lambda: [p for p in json.loads(pyapp("ps", "--json", home=home).stdout)
                                   if p["state"] == "running"], "ps shows it running")  # fmt: skip
    assert after["pid"] != before["pid"]
    assert program_processes(home, f"{program}.json") == [after["pid"]]  # exactly one
    events, _ = read_events(home / "events.jsonl")
    assert [e.kind for e in events] == ["supervisord"]
    if confinement == "none":
        assert f"pids {before['pid']}" in events[0].message  # the orphan it stopped


def test_start_after_supervisord_died_starts_no_second_copy(host: Host, home: Path, packages: Any) -> None:
    host.install(packages.webprobe())
    (before,) = host.daemons.status("webprobe")
    assert before.pid is not None
    os.kill(supervisord_pid(home), signal.SIGKILL)
    host.start("webprobe")
    (after,) = host.daemons.status("webprobe")
    assert after.state == "running" and after.pid != before.pid and gone(before.pid)
    program = before.program.partition("@")[2]
    assert program_processes(home, f"{program}.json") == [after.pid]


def test_a_simulated_reboot_brings_back_what_ran_and_leaves_stopped_apps_stopped(
    home: Path, packages: Any, helpers: Any
) -> None:
    helpers.write_host_yaml(home)
    assert pyapp("install", str(packages.webprobe()), home=home).returncode == 0
    assert pyapp("install", str(packages.example("hello")), home=home).returncode == 0
    assert pyapp("stop", "hello", home=home).returncode == 0
    sock = helpers.stable_socket(home, "webprobe")
    assert serving(sock)

    # The power goes: every process of the host dies at once.
    for pid in [supervisord_pid(home), *processes_under(home)]:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not processes_under(home), "every process of the host has died")
    assert not serving(sock)

    booted = pyapp("boot", "--json", home=home)
    assert booted.returncode == 0, booted.stderr
    report = json.loads(booted.stdout)
    assert report["errors"] == []
    wait_until(lambda: serving(sock), "webprobe serves again")
    assert report["supervisord"] and report["started"] == []  # its programs came back with supervisord

    def shown() -> dict[str, str]:
        return {p["app"]: p["state"] for p in json.loads(pyapp("ps", "--json", home=home).stdout)}

    # hello was stopped: it stays stopped, with no process.
    wait_until(lambda: shown() == {"webprobe": "running"}, "ps shows webprobe running, and only it")
    assert not [pid for pid in processes_under(home / "apps" / "hello")]


def test_a_program_that_keeps_crashing_is_failing_with_its_output_and_retried_with_backoff(
    host: Host, home: Path, packages: Any
) -> None:
    meta = {"processes": {"crasher": {"call": "webprobe:crasher"}}}
    host.install(packages.webprobe(extra=CRASHER, **meta))
    (crasher,) = [p for p in host.status("webprobe") if p.role == "process"]
    (home / "apps" / "webprobe" / "data" / "CRASH").write_text("")
    assert crasher.pid is not None
    os.kill(crasher.pid, signal.SIGKILL)  # from now on it exits at its start: supervisord gives up

    def failing() -> Any:
        host.heal()
        found = [p for p in host.status("webprobe") if p.role == "process" and p.failing]
        return found[0] if found else None

    shown = wait_until(failing, "the crasher shows as failing")
    assert "the queue at queue.invalid is gone" in shown.output
    # The host retries it, again and again, with a growing back-off.
    again = wait_until(
        lambda: (p := failing()) is not None and p.retries >= 2 and p, "two retries", timeout=180
    )
    assert again.failing and "queue.invalid" in again.output
    events, _ = read_events(home / "events.jsonl")
    crashes = [e for e in events if e.kind == "crash" and e.app == "webprobe"]
    assert len(crashes) >= 3 and all(e.outcome == "failed" for e in crashes)
    assert "keeps exiting at its start" in crashes[0].message and "queue.invalid" in crashes[0].message
    assert "retry 2" in crashes[2].message
    ps = {p.program: p for p in host.ps()}
    assert ps[shown.program].failing and ps[shown.program].retries >= 2

    # Mended, it runs again at its next retry.
    (home / "apps" / "webprobe" / "data" / "CRASH").unlink()
    wait_until(lambda: failing() is None and host.status("webprobe")[-1].state == "running", "it runs again",
               timeout=200)  # fmt: skip
