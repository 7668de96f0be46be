"""Fixtures of the example tests: each example set up and run the way a host runs it.

The ``deploy`` fixture gives a :class:`Deployment`: the package, its host paths (state
under a temporary dir), its dependencies installed into a site-packages dir of its
own, and its settings filled in and written where the app reads them. Every test
runs once per form in ``FORMS``:

- ``checkout``: the example's directory, its dependencies installed from the test
  wheelhouse;
- ``built``: the ``.pyapp`` that ``pyapp-build`` makes of it (offline, from the
  wheelhouse), checked against its RECORD and extracted as a host's release, its
  dependencies installed from the package's own ``deps/``. The package object is
  the ``.pyapp`` itself; its code runs from the extracted release.

Each example is built once per test session (per worker under xdist).

The command lines themselves (``pyapp run``, ``pyapp command``) run through ``cli``,
``start_cli`` and ``serve_cli``: the console scripts next to the running interpreter,
with the run cache and state under the test's ``tmp_path`` and no package index.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from pyapp_tools.building.builder import DEPS_DIR, BuildOptions, BuildResult, build

from apppackage import AppPackage, Environment, HostPaths
from apppackage.hooks import bootstrap_argv, write_payload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FORMS = ("checkout", "built")
"""The forms an example is tested in (see the module docstring)."""

# -- dependencies -----------------------------------------------------------------


def resolve_wheels(requirements: Iterable[str], wheelhouse: Path) -> list[Path]:
    """The wheels in *wheelhouse* that satisfy *requirements* and what they require, recursively."""
    available = {parse_wheel_filename(p.name)[0]: p for p in wheelhouse.glob("*.whl")}
    chosen: dict[str, Path] = {}
    pending = [Requirement(r) for r in requirements]
    while pending:
        req = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in chosen:
            continue
        if name not in available:
            raise LookupError(f"{req} is not in the wheelhouse (tests/wheelhouse.txt)")
        wheel = available[name]
        version = parse_wheel_filename(wheel.name)[1]
        assert req.specifier.contains(version, prereleases=True), f"{wheel.name} does not satisfy {req}"
        chosen[name] = wheel
        pending += [Requirement(r) for r in _requires_dist(wheel)]
    return sorted(chosen.values())


def _requires_dist(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        headers = HeaderParser().parsestr(zf.read(name).decode("utf-8"))
    return headers.get_all("Requires-Dist") or []


def install_wheels(wheels: Iterable[Path], target: Path) -> Path:
    """Install *wheels* into the site-packages dir *target* (scripts and data beside it)."""
    target.mkdir(parents=True, exist_ok=True)
    schemes = {key: str(target) for key in ("purelib", "platlib")}
    schemes |= {key: str(target.parent / f"{target.name}-{key}") for key in ("scripts", "data", "headers")}
    destination = SchemeDictionaryDestination(schemes, interpreter=sys.executable, script_kind="posix")
    for wheel in wheels:
        with WheelFile.open(wheel) as source:
            install(source, destination, {})
    return target


def top_level_names(site_packages: Path) -> set[str]:
    """The importable top-level names *site_packages* provides."""
    names = set()
    for entry in site_packages.iterdir():
        if entry.is_dir() and "." not in entry.name and entry.name != "__pycache__":
            names.add(entry.name)
        elif entry.suffix in (".py", ".so", ".pyd"):
            names.add(entry.name.split(".")[0])
    return names


@contextmanager
def own_modules(site_packages: Iterable[Path]) -> Iterator[None]:
    """Make imports of what *site_packages* provides load the app's copies, even if this
    process (the test runner, which has some of them installed) imported its own before.

    The runner's modules are set aside for the block and put back afterwards.
    """
    names = set().union(*(top_level_names(p) for p in site_packages))

    def ours(module: str) -> bool:
        return module.partition(".")[0] in names

    saved = {k: m for k, m in sys.modules.items() if ours(k)}
    for k in saved:
        del sys.modules[k]
    try:
        yield
    finally:
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


# -- a deployed example ------------------------------------------------------------


@dataclass(kw_only=True)
class Running:
    """A process started for an app, its output going to *log*."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, ready: Callable[[], bool], limit: float = 30) -> None:
        """Wait for *ready*; fail with the output if the process exits first or it never gets there."""
        deadline = time.monotonic() + limit
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the process exited with {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {limit} s; the process said:\n{self.output()}")
            time.sleep(0.02)

    def wait_listening(self, port: int) -> None:
        def check() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        self.wait_for(check)

    def stop(self, limit: float = 30) -> int:
        """SIGTERM, as a supervisor stops a process; its exit code."""
        self.proc.terminate()
        return self.proc.wait(timeout=limit)


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """An example as a host sets it up: package, host paths and filled-in settings."""

    package: AppPackage
    host: HostPaths
    config: dict[str, Any]
    form: str
    started: list[Running] = field(default_factory=list)

    @property
    def site_packages(self) -> Path:
        return self.host.site_packages[0]

    @contextmanager
    def web(self, script_name: str = "") -> Iterator[Any]:
        """The WSGI application inside its isolated environment, driven through ``webtest.TestApp``.

        Requests must be made inside the block: the app may import lazily.
        """
        with warnings.catch_warnings():
            # WebTest's WebOb imports the deprecated cgi module; this is the tests' side, not the app's.
            warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
            import webtest

        extra = {"SCRIPT_NAME": script_name} if script_name else {}
        with own_modules(self.host.site_packages), self.package.activate(self.host, isolated=True):
            yield webtest.TestApp(self.package.wsgi_app(self.config), extra_environ=extra)

    def environment(self, **kwargs: Any) -> Environment:
        """The environment of one of the app's processes (``process=``, ``port=``, ...)."""
        return self.package.environment(self.host, **kwargs)

    def start(self, *, kind: str, ref: str, argument: Any, name: str, env: Environment) -> Running:
        """Start app code the way a host does: a bootstrap payload, then ``python -s -S _bootstrap.py``.

        Whatever is still running when the test ends is killed.
        """
        logs = self.host.log_path
        payload = write_payload(env, kind=kind, ref=ref, argument=argument, name=name, directory=logs)
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PYTHON"))}
        environ |= dict(env.variables) | {"PYTHONUNBUFFERED": "1"}
        log = logs / f"{name}-{len(self.started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                bootstrap_argv(payload), stdout=out, stderr=subprocess.STDOUT, env=environ
            )
        running = Running(proc=proc, log=log)
        self.started.append(running)
        return running

    def kill_started(self) -> None:
        for running in self.started:
            if running.proc.poll() is None:
                running.proc.kill()
            running.proc.wait()


@dataclass(frozen=True, kw_only=True)
class Built:
    """An example built with ``pyapp-build`` and set up as a host's release."""

    result: BuildResult
    release: Path
    """The ``.pyapp`` extracted (after checking it against its RECORD)."""
    site_packages: Path | None
    """The wheels of the package's ``deps/`` installed; ``None`` when it bundles none."""

    @property
    def path(self) -> Path:
        return self.result.path


def build_example(example: str, out_dir: Path, wheelhouse: Path) -> BuildResult:
    """``pyapp-build examples/EXAMPLE -o OUT_DIR --wheelhouse WHEELHOUSE --offline``, as a library call."""
    return build(EXAMPLES / example, BuildOptions(out_dir=out_dir, wheelhouse=wheelhouse, offline=True))


def release_of(result: BuildResult, base: Path) -> Built:
    """The built package extracted under *base*, its ``deps/`` wheels installed beside it."""
    with AppPackage(result.path) as package:
        package.check_integrity()
        package.extract(base / "release")
    wheels = sorted((base / "release" / DEPS_DIR).glob("*.whl"))
    site = install_wheels(wheels, base / "site-packages") if wheels else None
    return Built(result=result, release=base / "release", site_packages=site)


def deploy_example(
    example: str,
    state: Path,
    site_packages_for: Callable[[Sequence[str]], Path],
    settings: dict[str, Any] | None = None,
    form: str = "checkout",
    built_for: Callable[[str], Built] | None = None,
) -> Deployment:
    """*example* in *form* set up with its state under *state* and *settings* filled in (secrets generated).

    The ``built`` form needs *built_for*, which gives the example's built release.
    """
    if form == "checkout":
        package = AppPackage(EXAMPLES / example)
        root = package.root
        requirements = package.description.dependencies.packages
        site: tuple[Path, ...] = (site_packages_for(requirements),) if requirements else ()
    elif form == "built" and built_for is not None:
        built = built_for(example)
        package = AppPackage(built.path)
        root = built.release
        site = (built.site_packages,) if built.site_packages else ()
    else:
        raise ValueError(f"unknown form {form!r} (forms: {', '.join(FORMS)})")
    spec = package.config_spec
    host = HostPaths.under(root, state, site_packages=site, config_file=state / f"config.{spec.format}")
    config = spec.fill(settings, generate_secrets=True)
    spec.check(config)
    host.create_dirs(package.description)
    assert host.config_file is not None
    host.config_file.write_text(spec.render(config), encoding="utf-8")
    return Deployment(package=package, host=host, config=config, form=form)


# -- the command lines ---------------------------------------------


def tool(name: str) -> str:
    """The console script *name* installed next to the running interpreter."""
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"{name} is not installed next to {sys.executable}"
    return str(path)


@dataclass(frozen=True, kw_only=True)
class Served:
    """``pyapp run`` serving on *url*."""

    running: Running
    url: str

    def get(self, path: str) -> tuple[int, str, str]:
        """GET *path*: status, content type and body."""
        request = urllib.request.Request(self.url.rstrip("/") + path)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers["Content-Type"], exc.read().decode()

    def get_json(self, path: str) -> Any:
        status, kind, body = self.get(path)
        assert (status, kind) == (200, "application/json"), body
        return json.loads(body)

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit status and everything it printed."""
        return self.running.stop(), self.running.output()


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def site_packages_for(
    wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Sequence[str]], Path]:
    """``make(requirements)``: a site-packages dir holding them, installed from the wheelhouse
    once per test session (the apps only read it, so tests share it)."""
    made: dict[tuple[str, ...], Path] = {}

    def make(requirements: Sequence[str]) -> Path:
        key = tuple(sorted(requirements))
        if key not in made:
            wheels = resolve_wheels(key, wheelhouse)
            made[key] = install_wheels(wheels, tmp_path_factory.mktemp("deps") / "site-packages")
        return made[key]

    return make


@pytest.fixture(scope="session")
def pyapp_for(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuildResult]:
    """``make(example)``: the example built with ``pyapp-build``, once per test session."""
    made: dict[str, BuildResult] = {}

    def make(example: str) -> BuildResult:
        if example not in made:
            made[example] = build_example(example, tmp_path_factory.mktemp(f"dist-{example}"), wheelhouse)
        return made[example]

    return make


@pytest.fixture(scope="session")
def built_for(
    pyapp_for: Callable[[str], BuildResult], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Built]:
    """``make(example)``: the built example set up as a release, once per test session
    (the apps only read it, so tests share it)."""
    made: dict[str, Built] = {}

    def make(example: str) -> Built:
        if example not in made:
            made[example] = release_of(pyapp_for(example), tmp_path_factory.mktemp(f"built-{example}"))
        return made[example]

    return make


@pytest.fixture(scope="session")
def build_into(wheelhouse: Path) -> Callable[[str, Path], BuildResult]:
    """``build_into(example, out_dir)``: build the example afresh, offline from the wheelhouse."""
    return lambda example, out_dir: build_example(example, out_dir, wheelhouse)


@pytest.fixture(scope="session")
def wheels_for(wheelhouse: Path) -> Callable[[Sequence[str]], list[Path]]:
    """``wheels_for(requirements)``: the wheelhouse's wheels they resolve to (see resolve_wheels)."""
    return lambda requirements: resolve_wheels(requirements, wheelhouse)


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    """The form of the example a test runs (see FORMS)."""
    return str(request.param)


@pytest.fixture
def deploy(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    site_packages_for: Callable[[Sequence[str]], Path],
    form: str,
) -> Iterator[Callable[..., Deployment]]:
    """``deploy(example, settings=None)``: the example in this test's form, ready to run."""
    made: list[Deployment] = []
    # Only the built form needs the builds: a run of the checkout tests alone does none.
    built_for = request.getfixturevalue("built_for") if form == "built" else None

    def make(example: str, settings: dict[str, Any] | None = None) -> Deployment:
        state = tmp_path / f"state-{len(made)}"
        made.append(deploy_example(example, state, site_packages_for, settings, form, built_for))
        return made[-1]

    yield make
    for deployment in made:
        deployment.kill_started()
        deployment.package.close()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for the command lines: run cache and state under tmp_path, no package index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PIP_"))}
    env.pop("SOURCE_DATE_EPOCH", None)
    return env | {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PIP_NO_INDEX": "1",
    }


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("pyapp", *args)``: run a command line to its end; its status and output."""

    def run(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool(name), *map(str, args)],
            env=cli_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def start_cli(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """``start_cli("pyapp", *args, env=None)``: a command line left running, its output in a log file.

    Whatever is still running when the test ends is killed.
    """
    started: list[Running] = []

    def start(name: str, *args: str | Path, env: dict[str, str] | None = None) -> Running:
        log = tmp_path / f"{name}-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [tool(name), *map(str, args)],
                env=cli_env if env is None else env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Running(proc=proc, log=log))
        return started[-1]

    yield start
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait()


@pytest.fixture
def serve_cli(start_cli: Callable[..., Running]) -> Callable[..., Served]:
    """``serve_cli(path, *options, env=None)``: ``pyapp run PATH --port 0 OPTIONS``, once it
    has printed "Serving NAME VERSION on URL"."""

    def serve(path: Path, *args: str, env: dict[str, str] | None = None) -> Served:
        running = start_cli("pyapp", "run", path, "--port", "0", *args, env=env)
        running.wait_for(lambda: " on http://" in running.output(), limit=120)
        line = next(x for x in running.output().splitlines() if x.startswith("Serving "))
        return Served(running=running, url=line.rsplit(" on ", 1)[1].strip())

    return serve


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
