"""What a web server in front of an app's daemon costs, and how fast a configuration change is.

1. Requests per second, and the servers' CPU seconds per 10,000 requests (the app's daemon and the web
   server's processes: on 2 cores, where the client, the proxy and the app compete, CPU per request
   says what req/s cannot), to one small WSGI app under waitress: directly (over TCP and over
   its unix socket), then through each installed web server (nginx, Apache, lighttpd)
   proxying to it, plus a static file each server serves itself. Same app, same run;
   ratios are to the direct TCP figure. With `wrk` on PATH (``./dev bench`` installs
   it) the load comes from wrk, a C client: 2 threads, 8 keep-alive connections, a few
   seconds per target. Without it, a bounded number of requests from a few Python client
   threads: on a small machine they compete with the servers for the same cores, so the
   ratios then say more about the machine than about the servers; prefer wrk.
2. The time to apply a change with 100 apps mounted (render, the server's own config
   test, swap, graceful reload), per server kind: median of a few runs, with the render
   and test parts on their own.

Benchmarks print; they never fail on time.

    python benchmarks/bench_webservers.py [REQUESTS_PER_TARGET]
"""

from __future__ import annotations

import http.client
import json
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
from pyapp_runtime.isolation.perms import share_sockets
from pyapp_runtime.webservers import (
    KINDS,
    Mount,
    Routes,
    ServerSettings,
    StaticPath,
    Upstream,
    VirtualHost,
    WebServer,
    daemon_options,
    find_installation,
)

THREADS = 4
REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
ROUNDS = 3
APPLY_RUNS = 5
MANY_APPS = 100

APP = """\
import json, sys, waitress
def app(environ, start_response):
    body = json.dumps({"script_name": environ["SCRIPT_NAME"], "path_info": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
waitress.serve(app, **json.loads(sys.argv[1]))
"""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


WRK = shutil.which("wrk")
WRK_SECONDS = 3


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user and system, with reaped children's) used so far by the processes *roots* and
    every process under them: what the servers spent, whatever the client took."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, seen, stack = 0, set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen or pid not in ticks:
            continue
        seen.add(pid)
        total += ticks[pid]
        stack += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def rate(
    connect: Callable[[], http.client.HTTPConnection], path: str, host: str, requests: int
) -> tuple[float, int]:
    """Requests per second of GETs of *path*, and how many were made: from wrk when there is one, else
    from Python threads."""
    probe = connect()
    if WRK and not isinstance(probe, UnixConnection):
        return wrk_rate(probe.port, path, host)
    return python_rate(connect, path, host, requests)


def wrk_rate(port: int, path: str, host: str) -> tuple[float, int]:
    url = f"http://127.0.0.1:{port}{path}"
    argv = [str(WRK), "-t2", "-c8", f"-d{WRK_SECONDS}s", "-H", f"Host: {host}", url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"{path} on {host}: failed requests:\n{out}")
    done = int(out.split(" requests in ")[0].split()[-1])
    return float(out.split("Requests/sec:")[1].split()[0]), done


def python_rate(
    connect: Callable[[], http.client.HTTPConnection], path: str, host: str, requests: int
) -> tuple[float, int]:
    """Requests per second: THREADS clients sharing *requests* GETs of *path*, keep-alive."""
    per_thread = requests // THREADS
    errors: list[str] = []

    def client() -> None:
        conn = connect()
        try:
            for _ in range(per_thread):
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{path} on {host}: {len(errors)} failed requests, e.g. {errors[0]}")
    return per_thread * THREADS / elapsed, per_thread * THREADS


def start_daemon(base: Path, mount: Mount) -> subprocess.Popen[bytes]:
    script = base / "app.py"
    script.write_text(APP)
    options = daemon_options(mount)
    process = subprocess.Popen(
        [sys.executable, str(script), json.dumps(options)], start_new_session=True, stderr=subprocess.DEVNULL
    )
    for _ in range(500):
        family = socket.AF_UNIX if "unix_socket" in options else socket.AF_INET
        target = options.get("unix_socket") or ("127.0.0.1", options["port"])
        with socket.socket(family) as sock:
            try:
                sock.connect(target)  # type: ignore[arg-type]
                return process
            except OSError:
                time.sleep(0.02)
    raise SystemExit("the app daemon did not start")


def throughput(base: Path) -> None:
    static = base / "static"
    static.mkdir()
    (static / "file.txt").write_text("x" * 200)
    tcp = Upstream.tcp("127.0.0.1", free_port())
    sockets = base / "sockets"
    share_sockets(sockets)  # as a host's: the web server's workers reach the 0660 socket through its group
    sockets.mkdir(exist_ok=True)
    unix = Upstream.unix(sockets / "unix.sock")
    daemons = [
        start_daemon(base, Mount(app="tcp", vhost="bench", prefix="/tcp", upstream=tcp)),
        start_daemon(base, Mount(app="unix", vhost="bench", prefix="/unix", upstream=unix)),
    ]
    # Each target: how to connect, the path, and the server processes whose CPU it costs.
    targets: dict[str, tuple[Callable[[], http.client.HTTPConnection], str, list[int]]] = {
        "direct, tcp": (
            lambda: http.client.HTTPConnection("127.0.0.1", tcp.port),
            "/tcp/x",
            [daemons[0].pid],
        ),
    }
    if not WRK:  # wrk speaks TCP only
        targets["direct, unix socket"] = (
            lambda: UnixConnection(str(sockets / "unix.sock")), "/unix/x", [daemons[1].pid],
        )  # fmt: skip
    servers = []
    try:
        for kind in KINDS:
            installation = find_installation(kind)
            if installation is None:
                print(f"  ({kind} is not installed: skipped)")
                continue
            port = free_port()
            routes = (
                Routes()
                .add_vhost(VirtualHost(name="bench", server_names=("bench.test",), port=port))
                .mount(Mount(app="tcp", vhost="bench", prefix="/tcp", upstream=tcp))
                .mount(
                    Mount(
                        app="unix",
                        vhost="bench",
                        prefix="/unix",
                        upstream=unix,
                        static=(StaticPath(url="/static", directory=str(static)),),
                    )
                )
            )
            server = WebServer(installation, base / kind, ServerSettings(workers=2, access_log=False))
            servers.append(server)
            server.activate(routes, start=True)

            def connect(port: int = port) -> http.client.HTTPConnection:
                return http.client.HTTPConnection("127.0.0.1", port)

            master = server.pid()
            assert master is not None, f"{kind} did not start"
            targets[f"{kind} -> tcp"] = (connect, "/tcp/x", [master, daemons[0].pid])
            targets[f"{kind} -> unix socket"] = (connect, "/unix/x", [master, daemons[1].pid])
            targets[f"{kind}, static file"] = (connect, "/unix/static/file.txt", [master])
        for connect_to, path, _ in targets.values():  # warm up
            rate(connect_to, path, "bench.test", REQUESTS // 10)
        # Rounds over every target, best of each: a busy moment of the machine then costs
        # every target alike instead of one. CPU: the servers' seconds per 10,000 requests, least of
        # the rounds (on 2 cores the client competes with them: their CPU says what req/s cannot).
        best: dict[str, float] = dict.fromkeys(targets, 0.0)
        cpu: dict[str, float] = dict.fromkeys(targets, float("inf"))
        for _ in range(ROUNDS):
            for name, (connect_to, path, roots) in targets.items():
                before = tree_cpu(roots)
                per_second, done = rate(connect_to, path, "bench.test", REQUESTS)
                best[name] = max(best[name], per_second)
                cpu[name] = min(cpu[name], (tree_cpu(roots) - before) / done * 10_000)
    finally:
        for server in servers:
            server.stop()
        for process in daemons:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    direct = best["direct, tcp"]
    client = (
        f"wrk, 2 threads, 8 connections, {WRK_SECONDS} s a run"
        if WRK
        else f"{THREADS} Python client threads, {REQUESTS} requests a run"
    )
    print(f"requests per second ({client}), best of {ROUNDS} runs:")
    print(f"  {'path':<26}{'req/s':>9}{'vs direct tcp':>16}{'server CPU s/10k req':>22}{'vs direct':>11}")
    for name, value in best.items():
        print(
            f"  {name:<26}{value:>9.0f}{value / direct:>15.2f}x"
            f"{cpu[name]:>22.2f}{cpu[name] / cpu['direct, tcp']:>10.2f}x"
        )


def many_apps(count: int, port: int, base: Path, generation: int) -> Routes:
    routes = Routes().add_vhost(VirtualHost(name="many", server_names=("many.test",), port=port))
    for i in range(count):
        upstream = Upstream.unix(base / f"app{i}-{generation}.sock")
        static = (StaticPath(url="/static", directory=str(base)),)
        routes = routes.mount(
            Mount(app=f"app{i}", vhost="many", prefix=f"/app{i}", upstream=upstream, static=static)
        )
    return routes


def apply_times(base: Path) -> None:
    print(f"applying a change with {MANY_APPS} apps mounted (median of {APPLY_RUNS}):")
    print(
        f"  {'server':<10}{'apply':>9}{'render':>9}{'test':>9}   (apply: render, test, swap, graceful reload)"
    )
    for kind in KINDS:
        installation = find_installation(kind)
        if installation is None:
            continue
        port = free_port()
        server = WebServer(installation, base / f"many-{kind}", ServerSettings(access_log=False))
        server.activate(many_apps(MANY_APPS, port, base, 0), start=True)
        applies, renders, tests = [], [], []
        try:
            for run in range(1, APPLY_RUNS + 1):
                routes = many_apps(MANY_APPS, port, base, run)
                started = time.perf_counter()
                config = server.render(routes)
                renders.append(time.perf_counter() - started)
                started = time.perf_counter()
                server.check(config)
                tests.append(time.perf_counter() - started)
                started = time.perf_counter()
                activation = server.activate(routes)
                applies.append(time.perf_counter() - started)
                assert activation.reloaded
        finally:
            server.stop()
        median = statistics.median
        print(f"  {kind:<10}{median(applies):>8.3f}s{median(renders):>8.3f}s{median(tests):>8.3f}s")


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="pyapp-bench-ws-", dir="/tmp"))
    base.chmod(0o711)  # run as root, the servers' workers switch to another user
    try:
        throughput(base)
        apply_times(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
