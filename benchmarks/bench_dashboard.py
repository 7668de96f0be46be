"""How long the web interface's dashboard takes to render with many apps installed and running.

Installs N apps (default 100: examples/hello under N names) on a host of its own with a real
supervisord, makes the management server's WSGI app on that host, signs in through the sign-in
form, then asks for the dashboard (``GET /``) and its live table (``GET /live/apps``) R times each,
in this process (no network, no client: the server's own time). Prints the best and median times
and the median against the target (at most 100 ms for the dashboard with 100 apps), with the CPU
time per page next to it. Benchmarks print; they never fail on time.

    python benchmarks/bench_dashboard.py [APPS] [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, free_port

HELLO = ROOT / "examples" / "hello"
TARGET_MS = 100.0


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def build(work: Path, name: str) -> Path:
    src = work / "src" / name
    shutil.copytree(HELLO, src, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = src / "metadata.yaml"
    meta.write_text(meta.read_text().replace("name: hello", f"name: {name}", 1))
    subprocess.run([tool("pyapp-build"), str(src), "-o", str(work / "dist")], check=True, capture_output=True)
    return work / "dist" / f"{name}-1.0.0.pyapp"


def timed(app: object, path: str, runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        page = app.get(path)  # type: ignore[attr-defined]
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert page.status_int == 200, page.status
    return walls, cpus


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    work = Path(tempfile.mkdtemp(prefix="pyapp-bdash-", dir="/tmp"))  # short: unix socket paths
    home = data = work / "home"  # the runtime's home is the server's data dir
    home.mkdir()
    low = free_port()
    (home / "host.yaml").write_text(f"ports: {low}-{low + 2 * count + 10}\nthreads: 1\n")
    os.environ.update({"PYAPP_DAEMONS": "1", "PYAPP_WEB_SERVER": "none"})
    from pyapp_runtime import Host
    from pyapp_server.app import main as make_app
    from pyapp_server.app import services_of
    from webtest import TestApp

    try:
        print(f"installing {count} apps (examples/hello under {count} names), each started by supervisord...")
        host = Host(home)
        started = time.perf_counter()
        for i in range(count):
            host.install(build(work, f"app{i:03d}"))
        print(f"  {count} apps installed and running in {time.perf_counter() - started:.0f} s")

        wsgi = make_app(data_dir=str(data), drop_interval="0", watch_interval="0")
        try:
            token = services_of(wsgi).tokens.create("viewer", "bench").secret
            app = TestApp(wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
            form = app.get("/signin").forms[0]
            form["token"] = token
            form.submit().follow()
            results = {path: timed(app, path, runs) for path in ("/", "/live/apps")}
        finally:
            services_of(wsgi).close()
    finally:
        subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl",
             "-c", str(home / "supervisor" / "supervisord.conf"), "shutdown"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nThe dashboard with {count} apps, rendered by the server"
        f" ({runs} runs each; target {TARGET_MS:.0f} ms):"
    )
    for path, (walls, cpus) in results.items():
        median = statistics.median(walls)
        print(
            f"  GET {path:<12} best {min(walls):7.1f} ms  median {median:7.1f} ms"
            f"  (CPU {statistics.median(cpus):6.1f} ms)  {median / TARGET_MS:5.2f}x the target"
        )


if __name__ == "__main__":
    main()
