"""``pyapp-server run --demo``: the example apps of the checkout installed, started when the runtime can.

The examples are built with :func:`pyapp_tools.building.build` (offline; only examples
without dependencies to download) and installed through :class:`pyapp_runtime.Host`
when they are not installed yet. When the runtime can run app processes
(``Host.start``), they are started; otherwise the lines printed say how to serve one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apppackage import AppPackageError

__all__ = ["DEMO_APPS", "describe", "examples_dir", "prepare_demo"]

DEMO_APPS = ("hello",)


def examples_dir() -> Path:
    """The checkout's ``examples/`` (next to ``tools/``), or ``./examples``."""
    here = Path(__file__).resolve().parents[2] / "examples"
    return here if here.is_dir() else Path.cwd() / "examples"


def prepare_demo(data_dir: Path, *, echo: Callable[[str], None], examples: Path | None = None) -> list[str]:
    """Install (and start, when possible) the demo apps; return lines describing each."""
    from pyapp_runtime import Host

    from .building import BuildOptions, build

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
                built = build(source / name, BuildOptions(out_dir=Path(tmp), offline=True))
                host.install(built.path)
        release = host.release(name)
        start: Any = getattr(host, "start", None)
        if callable(start):
            echo(f"starting {name}")
            start(name)
            lines.append(f"  {name} {release.version}: started ({_urls(host, name)})")
        else:
            lines.append(
                f"  {name} {release.version}: installed; this runtime does not run app processes yet, "
                f"serve it with: pyapp run {data_dir / 'apps' / name / 'current'} --port 8080"
            )
    return lines


DEMO_SETTINGS = """\
# Written by `pyapp-server run --demo`: the demo's apps listen on loopback ports, so that
# each has a URL a browser can open (the default is a unix socket under the app's run/).
listen: port
ports: 8100-8199
"""


def _listen_on_ports(data_dir: Path) -> None:
    """Give the demo's apps HTTP ports unless the host already has settings of its own."""
    from pyapp_runtime.settings import SETTINGS_FILE

    settings = data_dir / SETTINGS_FILE
    if not settings.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        settings.write_text(DEMO_SETTINGS, encoding="utf-8")


def _urls(host: Any, name: str) -> str:
    """The URL of each of the app's web processes, or where they listen."""
    try:
        statuses = host.status(name)
    except AppPackageError as exc:
        return str(exc)
    urls = [
        f"http://127.0.0.1:{s.port}/" if s.port else s.listen
        for s in statuses
        if s.role == "web" and s.state == "running"
    ]
    return ", ".join(urls) or "not listening; see: pyapp-ctl apps show " + name


def describe(running: Any, demo_lines: list[str]) -> list[str]:
    """What to print once the server listens: the token file, the apps, how to drive it."""
    lines = [f"admin token for pyapp-ctl: {running.token_file}"]
    if demo_lines:
        lines.append("example apps:")
        lines.extend(demo_lines)
    home = running.settings.data_dir
    lines.append(f"try: PYAPP_HOME={home} pyapp-ctl apps list")
    return lines
