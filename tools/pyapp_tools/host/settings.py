"""``pyapp settings``: the host's settings (``host.yaml``): show them, or change some.

Each setting is shown with the value the host runs by, where that comes from (its default, ``host.yaml``,
or a variable that overrides the file) and its default. ``--set KEY=VALUE`` and ``--unset KEY`` change the
file through :func:`pyapp_runtime.settingsfile.change_settings`, as the management server does: checked
as a whole (nothing is written when a value is refused), written, and applied (another web server takes
over the routes); the apps that run by the old settings are named, to be reloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..commandline import echo_settings, echo_settings_change, emit
from .common import host_command, open_host

__all__ = ["register"]


@click.command()
@click.option(
    "--set", "assignments", multiple=True, metavar="KEY=VALUE",
    help="Set a setting (repeatable); a dotted KEY reaches into limits and apps: limits.memory=1G.",
)  # fmt: skip
@click.option("--unset", multiple=True, metavar="KEY", help="Set a setting back to its default (repeatable).")
@host_command
def settings(assignments: tuple[str, ...], unset: tuple[str, ...], home: Path | None, as_json: bool) -> None:
    """Show the host's settings (host.yaml), or change some.

    A VALUE is read as YAML: true, 8, {memory: 1G}; see docs/daemons.md for every setting.

    \b
    Example:
      pyapp settings
      pyapp settings --set threads=8 --set web_server=nginx
      pyapp settings --unset limits.memory
    """
    from pyapp_runtime.settingsfile import change_settings, describe_settings, settings_patch

    where = open_host(home).home
    if not assignments and not unset:
        found = [s.to_dict() for s in describe_settings(where)]
        emit({"settings": found}, as_json, lambda d: echo_settings(d["settings"]))
        return
    result = change_settings(where, settings_patch(assignments, unset)).to_dict()

    def human(d: dict[str, Any]) -> None:
        echo_settings_change(d, "pyapp reload NAME")

    emit(result, as_json, human)


def register(group: click.Group) -> None:
    """Add ``settings`` to the ``pyapp`` group."""
    group.add_command(settings)
