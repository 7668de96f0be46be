"""``Host`` makes its parts (the daemons, the web part, the operations' context) on first use, once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from pyapp_runtime import Host


def test_threads_asking_first_get_the_same_parts(tmp_path: Path) -> None:
    """A server's threads share one Host: its first uses, at the same moment, make each part once."""
    host = Host(tmp_path / "home")
    start = threading.Barrier(8)
    seen: list[tuple[object, object, object]] = []

    def ask() -> None:
        start.wait()
        seen.append((host.context, host.daemons, host.web))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len(set(map(id, (part for parts in seen for part in parts)))) == 3
    assert host.context.activator is host.daemons and host.web is seen[0][2]


def test_a_host_loads_what_an_operation_needs_when_it_runs(tmp_path: Path) -> None:
    """Making a Host and listing its apps loads neither the processes' nor the web part's modules."""
    script = (
        "import sys\n"
        "from pyapp_runtime import Host\n"
        f"assert Host({str(tmp_path / 'home')!r}).apps() == []\n"
        "print(sorted(m for m in sys.modules if m.startswith('pyapp_runtime.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))
    assert "pyapp_runtime.lifecycle.appinfo" in loaded
    assert not loaded & {"pyapp_runtime.web.hostweb", "pyapp_runtime.boot", "pyapp_runtime.lifecycle.install"}
