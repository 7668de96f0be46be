"""What the benchmark scripts share: the tests' wheelhouse and free loopback ports.

The scripts run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "free_port", "wheelhouse"]

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE_LIST = ROOT / "tests" / "wheelhouse.txt"

# Measured as installed: with the bytecode of pyapp's own modules written once (an editable install
# has none until the first run writes it, and PYTHONDONTWRITEBYTECODE would make every run compile
# them again, which an installed wheel never does).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
subprocess.run(
    [sys.executable, "-m", "compileall", "-q", *(str(ROOT / d) for d in ("apppackage", "runtime", "server",
                                                                          "tools"))],
    check=False, stdout=subprocess.DEVNULL,
)  # fmt: skip


def wheelhouse() -> Path:
    """The test suite's wheelhouse (downloaded with pip the first time, as tests/conftest.py does)."""
    target = Path(os.environ.get("PYAPP_TEST_WHEELHOUSE", ROOT / ".cache" / "wheelhouse"))
    stamp = target / ".complete"
    wanted = WHEELHOUSE_LIST.read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(target),
             "-r", str(WHEELHOUSE_LIST)],
            check=True,
        )  # fmt: skip
        stamp.write_text(wanted)
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
