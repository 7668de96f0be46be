"""``pyapp``: the local command line (one click group).

This module makes the group and adds the commands of each command module:
:mod:`~pyapp_tools.package.commands` (work with a package: init, validate, inspect,
verify, run, command), :mod:`~pyapp_tools.host.apps` (install and manage apps on
this host), :mod:`~pyapp_tools.host.processes` (their processes),
:mod:`~pyapp_tools.host.boot` (the whole host at boot),
:mod:`~pyapp_tools.host.services` (their services),
:mod:`~pyapp_tools.host.web` (virtual hosts, mounts, the web server) and
:mod:`~pyapp_tools.host.settings` (the host's settings).
"""

from __future__ import annotations

import click

from .commandline import PyappGroup
from .host import apps, boot, processes, services, settings, web
from .package import commands

__all__ = ["main"]


@click.group(cls=PyappGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="apppackage", prog_name="pyapp")
def main() -> None:
    """Build, check, run and install pyapp application packages.

    \b
    Example:
      pyapp validate examples/hello
      pyapp run examples/hello --port 8080
    """


for module in (commands, apps, processes, boot, services, web, settings):
    module.register(main)
