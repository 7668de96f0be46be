"""``pyapp boot`` and ``pyapp shutdown``: the whole host brought up (and kept up), and down for a reboot.

``pyapp boot`` recovers what interrupted commands left, starts supervisord and every app that
should run (those the operator did not stop), and the web server; with ``--watch`` it stays,
restoring what dies every few seconds, until SIGTERM or Ctrl-C. ``pyapp export-systemd --host``
writes the unit that runs it at boot (:func:`pyapp_runtime.boot.host_unit`).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ..commandline import emit
from .common import host_command, open_host

__all__ = ["register"]


def _human(d: dict[str, Any]) -> None:
    for app, what in d["recovered"].items():
        click.echo(f"{app}: recovered: {what}")
    for key in ("supervisord", "web_server"):
        if d[key]:
            click.echo(d[key])
    for app in d["started"]:
        click.echo(f"{app} started")
    for program in d["retried"]:
        click.echo(f"{program} retried")
    for program in d["failing"]:
        click.echo(f"{program} is failing (pyapp ps shows its last output)")
    for error in d["errors"]:
        click.echo(f"error: {error}", err=True)
    if not any(d.values()):
        click.echo("everything that should run runs")


@click.command()
@click.option("--watch", is_flag=True, help="Stay, restoring what dies, until SIGTERM or Ctrl-C.")
@click.option(
    "--interval", type=click.FloatRange(min=0.5), default=None, metavar="SECONDS",
    help="With --watch: seconds between two checks (default: 5).",
)  # fmt: skip
@click.option(
    "--wait", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="SECONDS",
    help="How long to wait for another command working on an app.",
)  # fmt: skip
@host_command
def boot(watch: bool, interval: float | None, wait: float, home: Path | None, as_json: bool) -> None:
    """Bring the host up: every app that should run, supervisord and the web server.

    Interrupted installs and updates are recovered first; an app stopped with `pyapp stop`
    stays stopped. Run it at boot (pyapp export-systemd --host writes the unit).

    \b
    Example:
      pyapp boot
      pyapp boot --watch
    """
    from pyapp_runtime.boot import WATCH_INTERVAL
    from pyapp_runtime.boot import watch as watch_host

    if not watch:
        emit(open_host(home).heal(boot=True, wait=wait).to_dict(), as_json, _human)
        return
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stopping)

    last: dict[str, Any] = {}

    def report(result: Any) -> None:
        # What was done, and what goes wrong when it changes (not the same failing programs every round).
        d = result.to_dict()
        now = {"failing": d["failing"], "errors": d["errors"]}
        done = any(d[k] for k in ("recovered", "supervisord", "started", "retried", "web_server"))
        if done or now != last:
            emit(d, as_json, _human)
        last.update(now)

    watch_host(lambda: open_host(home), stop, interval=interval or WATCH_INTERVAL, report=report)


@click.command()
@host_command
def shutdown(home: Path | None, as_json: bool) -> None:
    """Stop every app's processes gracefully, and the web server, for a reboot.

    What should run is kept: `pyapp boot` brings back every app that ran.

    \b
    Example:
      pyapp shutdown
    """
    result = open_host(home).shutdown().to_dict()

    def human(d: dict[str, Any]) -> None:
        click.echo("stopped" if d["supervisord"] or d["web_server"] else "nothing was running")

    emit(result, as_json, human)


def register(group: click.Group) -> None:
    """Add ``boot`` and ``shutdown`` to the ``pyapp`` group."""
    for command in (boot, shutdown):
        group.add_command(command)
