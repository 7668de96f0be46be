"""Building and starting examples/hello: ``pyapp-build`` / ``pyapp run`` next to shiv, pex and plain waitress.

Build: wall time and size of

- ``pyapp-build examples/hello`` (no dependencies: the host provides waitress),
- ``pyapp-build`` of the same app declaring waitress, bundled as a wheel (like-for-like
  with the zipapps below, which must carry their server),
- ``shiv`` and ``pex`` zipapps of hello's code plus waitress, with waitress-serve as entry.

Start: wall time from starting the process to the first HTTP 200 on ``/health``, cold
(a fresh cache each run: pyapp's run cache, ``SHIV_ROOT``, ``PEX_ROOT``) and warm (the
cache of the previous run), for ``pyapp run`` of the package, the shiv and pex builds
(each serving hello.app:application with waitress), and plain ``waitress-serve``.

Median of N runs (default 5), interleaved; ratios against pyapp. Wheels come from the
test suite's wheelhouse, with no index. Benchmarks print; they never assert.

    python benchmarks/bench_build.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from _common import free_port, wheelhouse

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello"
BIN = Path(sys.executable).parent
TARGET_OVER_WAITRESS_MS = 20.0


def tool(name: str) -> str | None:
    return shutil.which(name, path=str(BIN)) or shutil.which(name)


def timed(argv: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


def first_ok(argv: list[str], port: int, env: dict[str, str], cwd: Path | None = None) -> float:
    """Seconds from starting *argv* to the first 200 from http://127.0.0.1:PORT/health."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
            raise RuntimeError(f"something answers on port {port} already: a run before left it running")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass  # nothing there: what answers next is what starts now
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.005)
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"{argv[0]} did not answer within 120 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def with_waitress(work: Path) -> Path:
    """A copy of hello that declares waitress as a dependency."""
    copy = work / "hello-waitress"
    shutil.copytree(HELLO, copy, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    metadata = copy / "metadata.yaml"
    metadata.write_text(metadata.read_text() + "dependencies:\n  packages: [waitress]\n")
    return copy


def builds(work: Path, wheels: Path, runs: int) -> dict[str, tuple[float, int, Path]]:
    """name -> (median build seconds, size in bytes, artefact)."""
    offline = ["--no-index", "--find-links", str(wheels)]
    hello_src = HELLO / "src"
    bundled = with_waitress(work)
    recipes: dict[str, Callable[[Path], list[str]]] = {
        "pyapp-build": lambda out: [tool("pyapp-build") or "pyapp-build", str(HELLO), "-o", str(out)],
        "pyapp-build +waitress": lambda out: [
            tool("pyapp-build") or "pyapp-build", str(bundled), "-o", str(out), "--wheelhouse", str(wheels),
            "--offline",
        ],
    }  # fmt: skip
    if tool("shiv"):
        recipes["shiv"] = lambda out: [
            tool("shiv") or "shiv", "--site-packages", str(hello_src), "-c", "waitress-serve",
            "--reproducible", "-o", str(out / "hello.pyz"), *offline, "waitress",
        ]  # fmt: skip
    if tool("pex"):
        recipes["pex"] = lambda out: [
            tool("pex") or "pex", "--no-pypi", "--find-links", str(wheels), "waitress", "-D", str(hello_src),
            "-c", "waitress-serve", "-o", str(out / "hello.pex"),
        ]  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in recipes}
    artefacts: dict[str, Path] = {}
    env = dict(os.environ, PEX_ROOT=str(work / "pex-build-root"))
    for i in range(runs):
        for name, recipe in recipes.items():
            out = work / "build" / f"{name.replace(' ', '_')}-{i}"
            out.mkdir(parents=True)
            times[name].append(timed(recipe(out), env=env))
            artefacts[name] = next(p for p in out.iterdir() if p.is_file())
    return {n: (statistics.median(t), artefacts[n].stat().st_size, artefacts[n]) for n, t in times.items()}


def starts(work: Path, built: dict[str, tuple[float, int, Path]], runs: int) -> dict[str, dict[str, float]]:
    """name -> {"cold": median seconds, "warm": median seconds}."""
    hello_src = HELLO / "src"
    base = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, kind: str, seconds: float) -> None:
        results.setdefault(name, {}).setdefault(kind, []).append(seconds)

    # A warm start repeats the same command line, port included (as a developer's next run does);
    # a cold one gets a fresh cache and a fresh port.
    warm_ports: dict[str, int] = {}

    def port_for(name: str, kind: str) -> int:
        return warm_ports.setdefault(name, free_port()) if kind == "warm" else free_port()

    for i in range(runs):
        for kind in ("cold", "warm"):
            fresh = work / "start" / f"{i}-{kind}"
            shared = work / "start" / "warm"
            cache = fresh if kind == "cold" else shared
            pyapp_env = dict(
                base, XDG_CACHE_HOME=str(cache / "xdg-cache"), XDG_STATE_HOME=str(cache / "state")
            )
            port = port_for("pyapp", kind)
            package = built["pyapp-build"][2]
            argv = [tool("pyapp") or "pyapp", "run", str(package), "--port", str(port)]
            record("pyapp run", kind, first_ok(argv, port, pyapp_env))
            if "shiv" in built:
                port = port_for("shiv", kind)
                argv = [
                    sys.executable,
                    str(built["shiv"][2]),
                    f"--listen=127.0.0.1:{port}",
                    "hello.app:application",
                ]
                record("shiv", kind, first_ok(argv, port, dict(base, SHIV_ROOT=str(cache / "shiv"))))
            if "pex" in built:
                port = port_for("pex", kind)
                argv = [
                    sys.executable,
                    str(built["pex"][2]),
                    f"--listen=127.0.0.1:{port}",
                    "hello.app:application",
                ]
                record("pex", kind, first_ok(argv, port, dict(base, PEX_ROOT=str(cache / "pex"))))
            waitress = tool("waitress-serve")
            if waitress:
                port = port_for("waitress", kind)
                argv = [waitress, f"--listen=127.0.0.1:{port}", "hello.app:application"]
                record("waitress-serve (plain)", kind, first_ok(argv, port, base, cwd=hello_src))
    medians = {n: {k: statistics.median(v) for k, v in kinds.items()} for n, kinds in results.items()}
    for name, kinds in results.items():  # every run of a tool, cold and warm alike
        medians[name]["all"] = statistics.median([t for times in kinds.values() for t in times])
    return medians


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    missing = [name for name in ("shiv", "pex") if not tool(name)]
    if missing:
        print(f"note: {', '.join(missing)} not installed (pip install -e '.[bench]'); left out")
    wheels = wheelhouse()
    with tempfile.TemporaryDirectory(prefix="pyapp-bench-build-") as tmp:
        work = Path(tmp)
        built = builds(work, wheels, runs)
        started = starts(work, built, runs)
    base_time, base_size, _ = built["pyapp-build"]
    print(f"\nBuilding examples/hello (median of {runs})")
    print(f"{'tool':<24}{'time':>10}{'x pyapp':>9}{'size':>12}{'x pyapp':>9}")
    for name, (seconds, size, _) in built.items():
        print(
            f"{name:<24}{seconds * 1000:>8.0f}ms{seconds / base_time:>8.2f}x"
            f"{size / 1024:>10.1f}kB{size / base_size:>8.1f}x"
        )
    cold0 = started["pyapp run"]["cold"]
    warm0 = started["pyapp run"]["warm"]
    print(f"\nStart to first HTTP 200 (median of {runs})")
    print(f"{'server':<24}{'cold':>10}{'x pyapp':>9}{'warm':>10}{'x pyapp':>9}")
    for name, kinds in started.items():
        cold, warm = kinds["cold"], kinds["warm"]
        print(
            f"{name:<24}{cold * 1000:>8.0f}ms{cold / cold0:>8.2f}x{warm * 1000:>8.0f}ms{warm / warm0:>8.2f}x"
        )
    plain = started.get("waitress-serve (plain)")
    if plain is not None:
        # waitress-serve keeps nothing from one run to the next: all its runs measure the same thing.
        added = (warm0 - plain["all"]) * 1000
        verdict = "met" if added <= TARGET_OVER_WAITRESS_MS else "NOT met"
        print(
            f"\ntarget: pyapp run (warm) <= waitress-serve + {TARGET_OVER_WAITRESS_MS:g} ms: {verdict} "
            f"({warm0 * 1000:.0f} ms against {plain['all'] * 1000:.0f} ms, the median of all its runs; "
            f"{added:+.0f} ms)"
        )
    if "shiv" in started:
        shiv = started["shiv"]["warm"]
        verdict = "met" if warm0 < shiv else "NOT met"
        print(f"target: pyapp run (warm) faster than shiv: {verdict} ({warm0 / shiv:.2f}x shiv's time)")
    print(
        "\npyapp-build leaves the server to the host; the '+waitress' build bundles it like the zipapps do.\n"
        "waitress-serve (plain) has no cache: its cold and warm runs are the same.\n"
        "A warm pyapp run repeats a command line run before: its web app starts from the launch record\n"
        "while the command line loads (see tools/pyapp_tools/package/quickstart.py)."
    )


if __name__ == "__main__":
    main()
