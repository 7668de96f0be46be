"""examples/hello installed on a host and run by its daemon, next to plain ``waitress-serve`` of the same app.

- Throughput: requests per second on ``/health`` from 8 client threads, each on a
  kept-alive connection, against the installed app's daemon (on a loopback port and
  on its unix socket) and against ``waitress-serve hello.app:application`` (same
  thread count, 4).
- Start: wall time from starting the process to the first HTTP 200, for the
  supervised daemon (supervisord starts it through the exec shim and the bootstrap)
  and for plain ``waitress-serve``.
- Update: wall time from running ``pyapp install`` of a new version to the first
  response from it on the app's stable socket (the update runs hooks, starts the new
  release beside the old one, checks its health and switches).

Median of N runs (default 5), interleaved; ratios against waitress-serve. Benchmarks
print; they never assert.

    python benchmarks/bench_daemons.py [RUNS]
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _common import free_port

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello"
BIN = Path(sys.executable).parent
CLIENTS = 8
REQUESTS = 4000
THREADS = 4


def tool(name: str) -> str:
    return shutil.which(name, path=str(BIN)) or shutil.which(name) or name


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def connect(where: str | int) -> http.client.HTTPConnection:
    return UnixConnection(where) if isinstance(where, str) else http.client.HTTPConnection("127.0.0.1", where)


def get(where: str | int, path: str = "/health") -> tuple[int, bytes]:
    connection = connect(where)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def throughput(where: str | int) -> float:
    """Requests per second: CLIENTS threads share REQUESTS requests, each on one kept-alive connection."""
    errors: list[BaseException] = []

    def client(count: int) -> None:
        connection = connect(where)
        try:
            for _ in range(count):
                connection.request("GET", "/health")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(REQUESTS // CLIENTS,)) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return REQUESTS / elapsed


def until_ok(
    where: str | int, started: float, check: Callable[[bytes], bool] = bool, limit: float = 120
) -> float:
    """Seconds from *started* to the first 200 from *where* whose body passes *check*."""
    while True:
        try:
            status, body = get(where, "/health" if check is bool else "/")
            if status == 200 and check(body):
                return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"{where} did not answer within {limit} s")
        time.sleep(0.002)


class Plain:
    """``waitress-serve`` of hello on a loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        env = {**os.environ, "PYTHONPATH": str(HELLO / "src")}
        argv = [tool("waitress-serve"), f"--listen=127.0.0.1:{self.port}", f"--threads={THREADS}",
                "hello.app:application"]  # fmt: skip
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return until_ok(self.port, started)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.proc = None


def build(work: Path, version: str) -> Path:
    src = work / f"hello-{version}"
    shutil.copytree(HELLO, src, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = src / "metadata.yaml"
    meta.write_text(meta.read_text().replace('version: "1.0.0"', f'version: "{version}"'))
    subprocess.run([tool("pyapp-build"), str(src), "-o", str(work / "dist")], check=True, capture_output=True)
    return work / "dist" / f"hello-{version}.pyapp"


def pyapp(home: Path, *args: str) -> None:
    env = {**os.environ, "PYAPP_HOME": str(home), "PYAPP_DAEMONS": "1"}
    subprocess.run([tool("pyapp"), *args], env=env, check=True, capture_output=True)


def wait_for_new(sock: str, started: float, record: Callable[[str, float], None]) -> None:
    record("update: install to first response", until_ok(sock, started, lambda body: b"1.1.0" in body))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = Path(tempfile.mkdtemp(prefix="pyapp-bd-", dir="/tmp"))  # short: unix socket paths
    home = work / "home"
    home.mkdir()
    low = free_port()
    (home / "host.yaml").write_text(f"ports: {low}-{low + 20}\nlisten: port\nthreads: {THREADS}\n")
    from pyapp_runtime import Host
    from pyapp_runtime.settings import HostSettings

    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    try:
        old, new = build(work, "1.0.0"), build(work, "1.1.0")
        pyapp(home, "install", str(old))
        host = Host(home, settings=HostSettings.load(home).with_environment({"PYAPP_DAEMONS": "1"}))
        (web,) = host.status("hello")
        assert web.port is not None
        supervisor = host.daemons.supervisor
        plain = Plain()
        # Starts are short and noisy: three times as many, interleaved, apart from the load runs.
        for _ in range(3 * runs):
            record("start: waitress-serve", plain.start())
            plain.stop()
            supervisor.stop(web.program)
            started = time.perf_counter()
            supervisor.start(web.program, wait=False)
            record("start: pyapp daemon", until_ok(web.port, started))
        for _ in range(runs):
            plain.start()
            record("throughput: waitress-serve", throughput(plain.port))
            plain.stop()
            record("throughput: pyapp daemon (port)", throughput(web.port))
        (home / "host.yaml").write_text(f"ports: {low}-{low + 20}\nlisten: unix\nthreads: {THREADS}\n")
        pyapp(home, "restart", "hello")
        sock = str(home / "apps" / "hello" / "run" / "web.sock")
        for _ in range(runs):
            record("throughput: pyapp daemon (unix)", throughput(sock))
        for _ in range(runs):
            started = time.perf_counter()
            waiter = threading.Thread(target=wait_for_new, args=(sock, started, record))
            waiter.start()
            pyapp(home, "install", str(new))
            waiter.join()
            record("update: install command", time.perf_counter() - started)
            pyapp(home, "rollback", "hello")
    finally:
        subprocess.run(
            [sys.executable, "-c", "import sys; from pyapp_runtime.supervision import Supervisor;"
             " Supervisor(sys.argv[1]).shutdown()", str(home / "supervisor")],
            check=False,
        )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in results.items()}
    base_rps = median["throughput: waitress-serve"]
    base_start = median["start: waitress-serve"]
    print(
        f"\nexamples/hello: requests per second on /health, {CLIENTS} clients, {THREADS} threads"
        f" (median of {runs})"
    )
    for name in (
        "throughput: waitress-serve",
        "throughput: pyapp daemon (port)",
        "throughput: pyapp daemon (unix)",
    ):
        rps = median[name]
        print(
            f"  {name.removeprefix('throughput: '):<28}{rps:>9.0f}/s {rps / base_rps:>6.2f}x waitress-serve"
        )
    print(f"\nStart to first HTTP 200 (median of {3 * runs})")
    for name in ("start: waitress-serve", "start: pyapp daemon"):
        seconds = median[name]
        print(
            f"  {name.removeprefix('start: '):<28}{seconds * 1000:>7.0f}ms"
            f" {seconds / base_start:>6.2f}x waitress-serve"
        )
    print(f"\nUpdate to a new version (median of {runs})")
    first = median["update: install to first response"]
    whole = median["update: install command"]
    print(f"  {'pyapp install -> first 1.1.0 response':<40}{first * 1000:>7.0f}ms")
    print(f"  {'pyapp install, whole command':<40}{whole * 1000:>7.0f}ms ({first / whole:.2f} of it)")
    print(
        "\nThe daemon is waitress too, behind supervisord's exec shim and pyapp's bootstrap; the update\n"
        "time includes the command's own start, the backup, the new release's start and health check."
    )


if __name__ == "__main__":
    main()
