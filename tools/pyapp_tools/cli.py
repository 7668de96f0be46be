"""``pyapp``: the local command line (one click group).

This module makes the group and adds the commands of each command module:
:mod:`~pyapp_tools.package_commands` (work with a package: init, validate, inspect,
verify, run, command), :mod:`~pyapp_tools.host_commands` (install and manage apps on
this host), :mod:`~pyapp_tools.process_commands` (their processes),
:mod:`~pyapp_tools.service_commands` (their services) and
:mod:`~pyapp_tools.web_commands` (virtual hosts, mounts, the web server).
"""

from __future__ import annotations

import click

from . import host_commands, package_commands, process_commands, service_commands, web_commands
from .commandline import PyappGroup

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


package_commands.register(main)
host_commands.register(main)
process_commands.register(main)
service_commands.register(main)
web_commands.register(main)
