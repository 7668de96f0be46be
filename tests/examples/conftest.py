"""Fixtures of the example tests: each example set up and run the way a host runs it.

The ``deploy`` fixture gives a :class:`Deployment`: the package, its host paths (state
under a temporary dir), its dependencies installed from the test wheelhouse into a
site-packages dir of its own, and its settings filled in and written where the app
reads them. ``FORMS`` says which forms of an example the tests run; today the
checkout, and a built package (``pyapp-build``'s output, dependencies from its
``deps/``) slots in as another form without touching the tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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

from apppackage import AppPackage, Environment, HostPaths
from apppackage.hooks import bootstrap_argv, write_payload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FORMS = ("checkout",)
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


def deploy_example(
    example: str,
    state: Path,
    site_packages_for: Callable[[Sequence[str]], Path],
    settings: dict[str, Any] | None = None,
    form: str = "checkout",
) -> Deployment:
    """*example* set up with its state under *state* and *settings* filled in (secrets generated)."""
    if form != "checkout":
        raise ValueError(f"unknown form {form!r} (forms: {', '.join(FORMS)})")
    package = AppPackage(EXAMPLES / example)
    requirements = package.description.dependencies.packages
    site = (site_packages_for(requirements),) if requirements else ()
    spec = package.config_spec
    host = HostPaths.under(
        package.root, state, site_packages=site, config_file=state / f"config.{spec.format}"
    )
    config = spec.fill(settings, generate_secrets=True)
    spec.check(config)
    host.create_dirs(package.description)
    assert host.config_file is not None
    host.config_file.write_text(spec.render(config), encoding="utf-8")
    return Deployment(package=package, host=host, config=config, form=form)


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


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    """The form of the example a test runs (see FORMS)."""
    return str(request.param)


@pytest.fixture
def deploy(
    tmp_path: Path, site_packages_for: Callable[[Sequence[str]], Path], form: str
) -> Iterator[Callable[..., Deployment]]:
    """``deploy(example, settings=None)``: the example in this test's form, ready to run."""
    made: list[Deployment] = []

    def make(example: str, settings: dict[str, Any] | None = None) -> Deployment:
        made.append(
            deploy_example(example, tmp_path / f"state-{len(made)}", site_packages_for, settings, form)
        )
        return made[-1]

    yield make
    for deployment in made:
        deployment.kill_started()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
