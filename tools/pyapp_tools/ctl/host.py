"""``pyapp-ctl host status`` and ``pyapp-ctl host settings``: the server's host itself.

``status`` is the host at a glance (``GET /api/v1/host``); ``settings`` shows the host's settings
(``host.yaml``), or changes some with ``--set KEY=VALUE`` and ``--unset KEY`` (admin; ``PUT
/api/v1/host/settings``): the server checks them as a whole, writes and applies them.
"""

from __future__ import annotations

from typing import Any

import click

from ..commandline import echo_settings, echo_settings_change, emit, human_size, json_command
from .common import API, Ctl, pass_ctl

__all__ = ["host"]


@click.group()
def host() -> None:
    """The server's host: at a glance, and its settings."""


@host.command()
@json_command
@pass_ctl
def status(ctl: Ctl, as_json: bool) -> None:
    """Show the host at a glance: supervisord, the web server, disk use and free space.

    \b
    Example:
      pyapp-ctl host status
    """
    data = ctl.client.call("GET", f"{API}/host")

    def human(d: dict[str, Any]) -> None:
        sup, web, disk = d["supervisor"], d["web_server"], d["disk"]
        click.echo(f"apps: {d['apps']}")
        pid = f" (pid {sup['pid']})" if sup["pid"] else ""
        click.echo(f"supervisord: {sup['state']}{pid}")
        click.echo(f"web server: {web['message']}")
        click.echo(f"  {d['vhosts']} virtual host(s), {d['mounts']} mount(s)")
        used = ", ".join(f"{k} {human_size(disk[k])}" for k in ("releases", "shared", "data", "backups"))
        click.echo(f"disk: {used} (measured {d['measured_at']})")
        click.echo(f"free: {human_size(disk['free'])} of {human_size(disk['size'])}")

    emit(data, as_json, human)


@host.command()
@click.option(
    "--set", "assignments", multiple=True, metavar="KEY=VALUE",
    help="Set a setting (repeatable); a dotted KEY reaches into limits and apps: limits.memory=1G.",
)  # fmt: skip
@click.option("--unset", multiple=True, metavar="KEY", help="Set a setting back to its default (repeatable).")
@json_command
@pass_ctl
def settings(ctl: Ctl, assignments: tuple[str, ...], unset: tuple[str, ...], as_json: bool) -> None:
    """Show the host's settings (host.yaml), or change some (admin).

    A VALUE is read as YAML: true, 8, {memory: 1G}. The server checks the change as a whole (nothing is
    written when a value is refused), writes it and applies it.

    \b
    Example:
      pyapp-ctl host settings
      pyapp-ctl host settings --set threads=8 --set web_server=nginx
      pyapp-ctl host settings --unset limits.memory
    """
    if not assignments and not unset:
        data = ctl.client.call("GET", f"{API}/host/settings")
        emit(data, as_json, lambda d: echo_settings(d["settings"]))
        return
    from pyapp_runtime.settingsfile import settings_patch

    changed = ctl.client.call("PUT", f"{API}/host/settings", json_body=settings_patch(assignments, unset))
    emit(changed, as_json, lambda d: echo_settings_change(d, "pyapp-ctl apps reload NAME"))
