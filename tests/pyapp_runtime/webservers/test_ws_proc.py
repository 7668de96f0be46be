"""The process helpers a reload relies on to tell a server's old workers from its new ones."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from pyapp_runtime.webservers import _proc

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_process_started_before_a_tick_is_told_from_one_started_after() -> None:
    older = sleeper()
    try:
        tick_hz = os.sysconf("SC_CLK_TCK")
        time.sleep(3 / tick_hz)  # a few clock ticks later
        tick = _proc.clock_ticks()
        time.sleep(2 / tick_hz)
        younger = sleeper()
        try:
            both = {older.pid, younger.pid}
            assert _proc.started_before(both, tick) == {older.pid}
            assert _proc.children(os.getpid()) >= both
        finally:
            younger.kill()
            younger.wait()
        # A process that is gone is never counted.
        assert _proc.started_before({younger.pid}, _proc.clock_ticks() + 1) == set()
    finally:
        older.kill()
        older.wait()
