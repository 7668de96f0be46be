"""How fast ``pyapp_runtime`` installs a package with bundled wheels, and how much disk apps share.

One package is built in a temporary directory: a small app depending on Pyramid,
bundling the wheels of the Pyramid stack listed in tests/wheelhouse.txt. Then, each
into a fresh directory, best and median of N interleaved runs of:

- ``Host.install()`` in this process (the library, imports warm) and ``pyapp install``
  (the command line, a new interpreter each time) -- to a release that imports Pyramid;
- ``python -m venv`` + ``pip install --no-index --find-links`` of the same wheels;
- ``uv venv`` + ``uv pip install --offline`` (a fresh uv cache each run, and a warm one);
- a plain unzip of the same bytes: the .pyapp, then each of its wheels into one folder
  (Python's zipfile in this process, and the ``unzip`` program when there is one).

Targets: the library no slower than uv (cold cache) and within 1.5x of the plain unzip; the
``pyapp install`` command no slower than uv with a warm cache, into a host that holds the wheels
already (what a warm cache is to uv), and no slower than uv's cold cache into a new host.
Then the disk used by 20 apps sharing their dependencies in one host, against 20
separate virtual environments holding copies of the same wheels. Benchmarks print;
they never fail on time.

    python benchmarks/bench_install.py [RUNS]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from _common import wheelhouse

ROOT = Path(__file__).resolve().parent.parent
PYRAMID_STACK = (
    "pyramid", "webob", "zope.interface", "zope_interface", "zope.deprecation", "zope_deprecation",
    "venusian", "translationstring", "hupper", "plaster", "plaster_pastedeploy", "pastedeploy", "setuptools",
)  # fmt: skip
"""The wheels of tests/wheelhouse.txt the benchmark's app bundles: the Pyramid stack."""
APPS_FOR_DISK = 20


def build_package(work: Path, wheels: list[Path], name: str = "bench") -> Path:
    """A .pyapp with a tiny Pyramid app, *wheels* and their lock under deps/, and its RECORD."""
    from apppackage.record import render_record

    files = {
        "metadata.yaml": (
            f'pyapp: "1.0"\nname: {name}\nversion: "1.0.0"\n'
            "dependencies:\n  packages: [pyramid]\n"
            "wsgi:\n  app: bench.app:application\n"
            "commands:\n  check: bench.app:check\n"
        ).encode(),
        "src/bench/__init__.py": b"",
        "src/bench/app.py": (
            b"from pyramid.config import Configurator\n"
            b"from pyramid.response import Response\n\n"
            b"def hello(request):\n    return Response('hello')\n\n"
            b"with Configurator() as config:\n"
            b"    config.add_route('hello', '/')\n"
            b"    config.add_view(hello, route_name='hello')\n"
            b"    application = config.make_wsgi_app()\n\n"
            b"def check(argv):\n    return 0 if callable(application) else 1\n"
        ),
    }
    lock = []
    for wheel in wheels:
        data = wheel.read_bytes()
        files[f"deps/{wheel.name}"] = data
        dist, version = wheel.name.split("-")[:2]
        lock.append(f"{dist}=={version} --hash=sha256:{hashlib.sha256(data).hexdigest()}\n")
    # The lock a builder writes (spec section 3.5): the host installs exactly these, checking each hash.
    files["deps/requirements.txt"] = "".join(sorted(lock)).encode()
    files["RECORD"] = render_record(files).encode()
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{name}-1.0.0.pyapp"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for file, data in sorted(files.items()):
            zf.writestr(file, data)
    return out


def disk_usage(*paths: Path) -> int:
    from pyapp_runtime.releases.release import disk_usage as usage

    seen: set[tuple[int, int]] = set()
    return sum(usage(p, seen) for p in paths)


def run(*argv: object, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in argv], check=True, stdout=subprocess.DEVNULL, env=env)


class Bench:
    def __init__(self, work: Path, package: Path, wheels: list[Path], runs: int) -> None:
        self.work = work
        self.package = package
        self.wheels = wheels
        self.wheel_dir = work / "wheels"
        self.wheel_dir.mkdir()
        for wheel in wheels:
            shutil.copy(wheel, self.wheel_dir)
        self.counter = 0
        self.uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
        self.warm_uv_cache = work / "uv-cache-warm"
        # A host that holds these wheels already, as another of its apps uses them: pyapp's counterpart of
        # uv's warm cache. Each run installs one more app, of its own name, bundling the same wheels.
        self.shared_home = work / "shared-host"
        self.shared = iter(
            [build_package(work / "shared" / str(i), wheels, name=f"shared{i}") for i in range(runs + 2)]
        )

    def fresh(self, label: str) -> Path:
        self.counter += 1
        return self.work / f"{label}-{self.counter}"

    def pyapp_library(self) -> None:
        from pyapp_runtime import Host

        # Installing is what is compared: the app is not started (the others start nothing either).
        Host(self.fresh("host")).install(self.package, start=False)

    def pyapp_cli(self) -> None:
        run(
            Path(sys.executable).with_name("pyapp"),
            "install",
            self.package,
            "--home",
            self.fresh("cli"),
            "--no-start",
            "--json",
        )

    def pyapp_cli_shared(self) -> None:
        run(
            Path(sys.executable).with_name("pyapp"), "install", next(self.shared), "--home", self.shared_home,
            "--no-start", "--json",
        )  # fmt: skip

    def venv_pip(self) -> None:
        venv = self.fresh("venv")
        run(sys.executable, "-m", "venv", venv)
        pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        run(*pip, "--no-index", "--find-links", self.wheel_dir, "pyramid")

    def _uv(self, cache: Path) -> None:
        venv = self.fresh("uv")
        env = {**os.environ, "UV_CACHE_DIR": str(cache)}
        run(self.uv, "venv", "-q", venv, env=env)
        run(self.uv, "pip", "install", "-q", "--offline", "--no-index", "--find-links", self.wheel_dir,
            "--python", venv / "bin" / "python", "pyramid", env=env)  # fmt: skip

    def uv_cold(self) -> None:
        self._uv(self.fresh("uv-cache"))

    def uv_warm(self) -> None:
        self._uv(self.warm_uv_cache)

    def unzip_python(self) -> None:
        target = self.fresh("unzip")
        with zipfile.ZipFile(self.package) as zf:
            zf.extractall(target)
        for wheel in sorted((target / "deps").glob("*.whl")):
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(target / "site-packages")

    def unzip_program(self) -> None:
        target = self.fresh("unzip-cmd")
        run("unzip", "-q", self.package, "-d", target)
        for wheel in sorted((target / "deps").glob("*.whl")):
            run("unzip", "-q", "-o", wheel, "-d", target / "site-packages")


def timed(func: Callable[[], None]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def check_runnable(work: Path, package: Path) -> str:
    """Install once more and run the app's command, which builds its Pyramid WSGI app."""
    from pyapp_runtime import Host

    host = Host(work / "runnable")
    host.install(package, start=False)  # its command runs without the daemon
    result = host.run_command("bench", "check", capture=True)
    return "yes" if result.returncode == 0 else f"NO (exit {result.returncode}: {result.output.strip()})"


def measure_speed(bench: Bench, runs: int) -> dict[str, list[float]]:
    cases: dict[str, Callable[[], None]] = {
        "pyapp (library)": bench.pyapp_library,
        "pyapp (command line)": bench.pyapp_cli,
        "pyapp (command, warm)": bench.pyapp_cli_shared,
        "venv + pip": bench.venv_pip,
        "uv (cold cache)": bench.uv_cold,
        "uv (warm cache)": bench.uv_warm,
        "unzip (zipfile)": bench.unzip_python,
    }
    if shutil.which("unzip"):
        cases["unzip (program)"] = bench.unzip_program
    for name, func in cases.items():  # warm imports, OS caches, the warm uv cache
        if name != "venv + pip":  # nothing to warm, and the slowest by far
            func()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, func in cases.items():
            times[name].append(timed(func))
    return times


def report_speed(times: dict[str, list[float]], wheels: int) -> None:
    print(
        f"install a package with {wheels} bundled wheels (best and median of {len(times['venv + pip'])} runs)"
    )
    base = statistics.median(times["unzip (zipfile)"])
    print(f"  {'':<22} {'best ms':>9} {'median ms':>10} {'x unzip':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<22} {min(values) * 1000:9.1f} {median * 1000:10.1f} {median / base:8.2f}")
    mine = statistics.median(times["pyapp (library)"])
    uv = statistics.median(times["uv (cold cache)"])
    print(
        f"\n  pyapp / uv (cold cache): {mine / uv:.2f}  (target <= 1: {'met' if mine <= uv else 'NOT met'})"
    )
    ratio = mine / base
    print(f"  pyapp / plain unzip:     {ratio:.2f}  (target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    # The command, like for like: into a host that holds the wheels already (another app uses them), as
    # uv's warm cache holds them unpacked; into a new host, which unpacks each one as uv's cold cache does.
    for name, label, uv_name in (
        ("pyapp (command, warm)", "host holding the wheels", "uv (warm cache)"),
        ("pyapp (command line)", "new host", "uv (cold cache)"),
    ):
        command, uv = statistics.median(times[name]), statistics.median(times[uv_name])
        verdict = "met" if command <= uv else "NOT met"
        print(
            f"  pyapp install ({label}) / {uv_name}: {command / uv:.2f}  (target <= 1: {verdict}; "
            f"{command * 1000:.0f} ms against {uv * 1000:.0f} ms)"
        )
    print(
        "  (the package is new each time and is checked in full; a new host, like uv's cold cache, writes"
        " every file of every wheel: its time follows the file system's)"
    )


def measure_disk(bench: Bench, wheels: list[Path]) -> None:
    from pyapp_runtime import Host

    home = bench.work / "disk-host"
    host = Host(home)
    started = time.perf_counter()
    for i in range(APPS_FOR_DISK):
        host.install(build_package(bench.work, wheels, name=f"app{i:02d}"), start=False)
    pyapp_time = time.perf_counter() - started
    shared = disk_usage(home)
    venvs = []
    started = time.perf_counter()
    for _ in range(APPS_FOR_DISK):
        venv = bench.fresh("disk-venv")
        env = {**os.environ, "UV_CACHE_DIR": str(bench.warm_uv_cache)}
        run(bench.uv, "venv", "-q", venv, env=env)
        run(bench.uv, "pip", "install", "-q", "--offline", "--no-index", "--find-links", bench.wheel_dir,
            "--link-mode", "copy", "--python", venv / "bin" / "python", "pyramid", env=env)  # fmt: skip
        venvs.append(venv)
    venv_time = time.perf_counter() - started
    separate = disk_usage(*venvs)
    pip_venv = bench.fresh("pip-venv")
    run(sys.executable, "-m", "venv", pip_venv)
    pip_overhead = disk_usage(pip_venv)
    mib = 1024 * 1024
    n = APPS_FOR_DISK
    print(f"\ndisk used by {n} apps with the same dependencies")
    print(
        f"  pyapp host (shared server-packages): {shared / mib:8.1f} MiB  (installed in {pyapp_time:.1f} s)"
    )
    print(f"  {n} virtual environments (copies):   {separate / mib:8.1f} MiB  (uv, in {venv_time:.1f} s)")
    extra = pip_overhead / mib
    print(f"  ratio: {separate / shared:.1f}x; a `python -m venv` with pip adds {extra:.1f} MiB more each")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    house = wheelhouse()
    wheels = sorted(w for w in house.glob("*.whl") if w.name.split("-")[0].lower() in PYRAMID_STACK)
    with tempfile.TemporaryDirectory(prefix="pyapp-bench-") as tmp:
        work = Path(tmp)
        package = build_package(work, wheels)
        size = package.stat().st_size / 1024 / 1024
        names = ", ".join(w.name.split("-")[0] for w in wheels)
        print(f"package: {package.name}, {size:.1f} MiB, {len(wheels)} wheels ({names}) and their lock")
        print(
            f"runnable after install (its command builds the Pyramid app): {check_runnable(work, package)}\n"
        )
        bench = Bench(work, package, wheels, runs)
        report_speed(measure_speed(bench, runs), len(wheels))
        measure_disk(bench, wheels)


if __name__ == "__main__":
    main()
