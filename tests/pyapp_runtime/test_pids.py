"""``pyapp_runtime.pids``: what a killed session leader left, found by its session, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pyapp_runtime.pids import leftovers, pid_alive, started_at, stop_groups
from testkit import gone, wait_until

# A daemon in the manner of supervisord: a session of its own, its pid file, two children (one of them
# ignoring SIGTERM, as a stuck program would), each in a process group of its own.
LEADER = """\
import os, signal, subprocess, sys, time
os.setsid()
open(sys.argv[1], "w").write(str(os.getpid()))
stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
for code in ("import time; time.sleep(600)", stubborn):
    subprocess.Popen([sys.executable, "-c", code], preexec_fn=os.setpgrp)
print("ready", flush=True)
time.sleep(600)
"""


def start_leader(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    pid_file = tmp_path / "leader.pid"
    proc = subprocess.Popen([sys.executable, "-c", LEADER, str(pid_file)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.stdout.close()
    return proc, pid_file


def test_the_processes_a_killed_leader_left_are_found_by_its_session_and_stopped(tmp_path: Path) -> None:
    proc, pid_file = start_leader(tmp_path)
    assert leftovers(pid_file) == []  # the leader lives: nothing is left over
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    try:
        left = wait_until(lambda: leftovers(pid_file), "the children are left over")
        assert len(left) == 2 and proc.pid not in left and all(pid_alive(p) for p in left)
        assert all((started_at(p) or 0) >= pid_file.stat().st_mtime - 2 for p in left)
        stop_groups(left, wait=1)
        assert all(gone(p) for p in left)  # the one ignoring SIGTERM too: it got SIGKILL
        assert leftovers(pid_file) == []
    finally:
        stop_groups(leftovers(pid_file), wait=0)


def test_a_pid_file_older_than_the_boot_or_naming_a_live_process_leaves_nothing(tmp_path: Path) -> None:
    pid_file = tmp_path / "old.pid"
    pid_file.write_text(str(os.getpid()))
    assert leftovers(pid_file) == []  # a live process has the pid: the leader or another, never ours to stop
    pid_file.write_text("999999999")
    os.utime(pid_file, (0, 0))  # written before this boot: nothing of that session can be alive
    assert leftovers(pid_file) == []
    assert leftovers(tmp_path / "missing.pid") == []
