"""``pyapp``: the local command line (one click group).

Commands come from two modules: :mod:`pyapp_tools.package_commands` (work with a
package: init, validate, inspect, verify, run, command) and
:mod:`pyapp_tools.host_commands` (install and manage apps on this host).
"""

from __future__ import annotations

import click

from ._click import PyappGroup

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


def _register() -> None:
    from importlib import import_module

    for module_name in ("package_commands", "host_commands"):
        try:
            module = import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module_name}":
                raise
            continue
        module.register(main)


_register()
