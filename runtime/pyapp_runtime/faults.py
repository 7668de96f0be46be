"""Fault injection for the crash tests: a command stops at a named step so that a test can kill it there.

A command whose environment has ``PYAPP_TEST_PAUSE_AT=<step>`` writes its pid to the
file ``PYAPP_TEST_PAUSE_MARKER`` names (when set) on reaching :func:`pause_point` of that
step, then sleeps until it is killed. Without the variable (every real use) a pause point
is one dictionary lookup. The steps of an install or update, in order: ``started``,
``built``, ``hooks-ran``, ``programs-started``, ``healthy``, ``activated``, ``committed``,
``switched``, ``old-stopped`` (see ``docs/host-layout.md``, "Crashes"). The variable never
reaches an app's processes: every ``PYAPP_*`` variable of the host's own environment is left out
of theirs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from apppackage.files import write_atomic

__all__ = ["MARKER_VARIABLE", "PAUSE_VARIABLE", "pause_point"]

PAUSE_VARIABLE = "PYAPP_TEST_PAUSE_AT"
MARKER_VARIABLE = "PYAPP_TEST_PAUSE_MARKER"


def pause_point(step: str) -> None:
    """Stop here for good when the environment asks to pause at *step* (the test kills the process)."""
    if os.environ.get(PAUSE_VARIABLE) != step:
        return
    marker = os.environ.get(MARKER_VARIABLE)
    if marker:
        write_atomic(Path(marker), str(os.getpid()))
    while True:
        time.sleep(3600)
