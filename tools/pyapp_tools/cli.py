"""``pyapp``: the local command line (one click group).

This module makes the group; the commands come from the command modules, each imported only when one
of its commands runs (or ``--help`` lists them), so that a command does not pay for the others:
:mod:`~pyapp_tools.package.commands` (work with a package: init, validate, inspect,
run, command), :mod:`~pyapp_tools.package.signing` (verify a package, make a signing
key: verify, keygen), :mod:`~pyapp_tools.host.apps` (install and manage apps on
this host), :mod:`~pyapp_tools.host.processes` (their processes),
:mod:`~pyapp_tools.host.boot` (the whole host at boot),
:mod:`~pyapp_tools.host.services` (their services),
:mod:`~pyapp_tools.host.web` (virtual hosts, mounts, the web server) and
:mod:`~pyapp_tools.host.settings` (the host's settings).
"""

from __future__ import annotations

import importlib

import click

from .commandline import PyappGroup

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "package.commands": ("init", "validate", "inspect", "run", "command"),
    "package.signing": ("verify", "keygen"),
    "host.apps": ("install", "list", "show", "rollback", "remove", "config", "backup", "restore"),
    "host.processes": (
        "start",
        "stop",
        "restart",
        "reload",
        "status",
        "ps",
        "logs",
        "tasks",
        "export-systemd",
    ),
    "host.boot": ("boot", "shutdown"),
    "host.services": ("services",),
    "host.web": ("vhost", "mount", "unmount", "web"),
    "host.settings": ("settings",),
}
"""Which module (under ``pyapp_tools``) registers which commands (its ``register(group)``)."""


class _LazyGroup(PyappGroup):
    """A group that imports a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for names in COMMANDS.values() for name in names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module, names in COMMANDS.items():
                if cmd_name in names:
                    importlib.import_module(f"{__package__}.{module}").register(self)
                    break
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="apppackage", prog_name="pyapp")
def main() -> None:
    """Build, check, run and install pyapp application packages.

    \b
    Example:
      pyapp validate examples/hello
      pyapp run examples/hello --port 8080
    """
