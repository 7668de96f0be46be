"""A ``pyapp run`` left running by a test: the console script, and the run with its output in files.

Test modules ``from runs import Run, pyapp``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from testkit import wait_until

__all__ = ["Run", "pyapp"]


def pyapp() -> str:
    """The ``pyapp`` console script next to this interpreter (it arms ``pyapp run``'s early start)."""
    found = shutil.which("pyapp", path=str(Path(sys.executable).parent))
    assert found, f"pyapp is not installed next to {sys.executable}"
    return found


@dataclass
class Run:
    """A started ``pyapp`` process; its standard output and error go to the files *out* and *err*."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def port(self) -> int:
        """The port of its "Serving ... on http://host:PORT/" line, once it came."""
        line = wait_until(
            lambda: next((x for x in self.stdout().splitlines() if x.startswith("Serving ")), None),
            "the Serving line",
        )
        return int(line.rsplit(":", 1)[1].strip("/"))
