"""``pyapp-server run --demo``: the example apps of the checkout, installed and started.

Each example is staged as a package directory (its files and a ``RECORD``, spec
section 2.3) and installed through :class:`pyapp_runtime.Host` when it is not
installed yet: the demo's examples bundle no dependencies, so nothing else of a
build (``pyapp-build``) is needed. The apps listen on loopback ports, so that
each has a URL to open.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pyapp_runtime import Host
from pyapp_runtime.settings import SETTINGS_FILE

from apppackage import AppPackageError
from apppackage.record import RECORD, hash_file, render_record

if TYPE_CHECKING:
    from .serve import RunningServer

__all__ = ["DEMO_APPS", "describe", "examples_dir", "prepare_demo", "stage_package"]

DEMO_APPS = ("hello",)

DEMO_SETTINGS = """\
# Written by `pyapp-server run --demo`: the demo's apps listen on loopback ports, so that
# each has a URL a browser can open (the default is a unix socket under the app's run/).
listen: port
ports: 8100-8199
"""

_NEVER_PACKED = shutil.ignore_patterns(".*", "__pycache__", "*.pyc")
_BUILD_OUTPUT = {"dist", "build", RECORD}


def examples_dir() -> Path:
    """The checkout's ``examples/`` (next to ``server/``), or ``./examples``."""
    here = Path(__file__).resolve().parents[2] / "examples"
    return here if here.is_dir() else Path.cwd() / "examples"


def stage_package(example: Path, target: Path) -> Path:
    """Copy *example* to *target* with a ``RECORD`` of its files: a package directory the runtime installs.

    Hidden files, caches and build output (``dist/``, ``build/``, an old ``RECORD``) are left out.
    """

    def not_packed(directory: str, names: list[str]) -> set[str]:
        top = _BUILD_OUTPUT.intersection(names) if Path(directory) == example else set()
        return set(_NEVER_PACKED(directory, names)) | top

    shutil.copytree(example, target, ignore=not_packed)
    rows = [
        (path.relative_to(target).as_posix(), *hash_file(path))
        for path in sorted(target.rglob("*"))
        if path.is_file()
    ]
    (target / RECORD).write_text(render_record(rows), encoding="utf-8")
    return target


def prepare_demo(data_dir: Path, *, echo: Callable[[str], None], examples: Path | None = None) -> list[str]:
    """Install the demo apps that are not installed yet and start them; return lines describing each."""
    source = examples or examples_dir()
    if not source.is_dir():
        raise AppPackageError(f"{source}: no examples here; --demo runs from a checkout of pyapp")
    _listen_on_ports(data_dir)
    host = Host(data_dir)
    lines = []
    for name in DEMO_APPS:
        if not host.is_installed(name):
            echo(f"building and installing the example {name}")
            with tempfile.TemporaryDirectory(prefix="pyapp-demo-") as tmp:
                host.install(stage_package(source / name, Path(tmp) / name))
        release = host.release(name)
        echo(f"starting {name}")
        host.start(name)
        lines.append(f"  {name} {release.version}: started ({_urls(host, name)})")
    return lines


def _listen_on_ports(data_dir: Path) -> None:
    """Give the demo's apps HTTP ports unless the host already has settings of its own."""
    settings = data_dir / SETTINGS_FILE
    if not settings.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        settings.write_text(DEMO_SETTINGS, encoding="utf-8")


def _urls(host: Host, name: str) -> str:
    """The URL of each of the app's web processes, or where they listen."""
    try:
        statuses = host.status(name)
    except AppPackageError as exc:
        return str(exc)
    # The port is the app's: the URL stays valid through its updates and configuration changes.
    urls = {
        f"http://127.0.0.1:{s.port}/" if s.port else s.listen: None
        for s in statuses
        if s.role == "web" and s.state == "running"
    }
    return ", ".join(urls) or "not listening; see: pyapp-ctl apps show " + name


def describe(running: RunningServer, demo_lines: list[str]) -> list[str]:
    """What to print once the server listens: the web interface, the token file, the apps, how to drive it."""
    lines = [f"admin token for pyapp-ctl and signing in: {running.token_file}"]
    if running.settings.unix_socket is None:
        lines.insert(0, f"web interface: {running.url}/")
    if demo_lines:
        lines.append("example apps:")
        lines.extend(demo_lines)
    home = running.settings.data_dir
    lines.append(f"try: PYAPP_HOME={home} pyapp-ctl apps list")
    return lines
