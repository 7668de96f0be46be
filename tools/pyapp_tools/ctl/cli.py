"""``pyapp-ctl``: drive a pyapp management server through its JSON API, locally or remotely.

This module makes the group and adds the commands of :mod:`~pyapp_tools.ctl.server`
(info, jobs, events), :mod:`~pyapp_tools.ctl.apps` (apps), :mod:`~pyapp_tools.ctl.appfiles`
(apps releases/backups/restore/log), :mod:`~pyapp_tools.ctl.config` (config, services),
:mod:`~pyapp_tools.ctl.web` (web, vhosts, apps mount/unmount), :mod:`~pyapp_tools.ctl.host` (host
status/settings) and :mod:`~pyapp_tools.ctl.tokens` (tokens).

The server and token come from ``--server``/``--token`` (or ``$PYAPP_SERVER_URL`` and
``$PYAPP_TOKEN``), else from the files a local server wrote (see
:mod:`pyapp_tools.ctl.client`). ``--json`` prints the API's JSON; errors then print
``{"error": ...}`` too, and the exit status is 1.
"""

from __future__ import annotations

import click

from ..commandline import PyappGroup
from . import appfiles as ctl_appfiles
from . import apps as ctl_apps
from . import config as ctl_config
from . import host as ctl_host
from . import server as ctl_server
from . import tokens as ctl_tokens
from . import web as ctl_web
from .common import Ctl

__all__ = ["main"]


@click.group(cls=PyappGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="PYAPP_SERVER_URL",
    metavar="URL",
    help="The server (default: $PYAPP_SERVER_URL, else the local server's endpoint file).",
)
@click.option(
    "--token",
    envvar="PYAPP_TOKEN",
    metavar="TOKEN",
    help="The API token (default: $PYAPP_TOKEN, else the local server's token file).",
)
@click.version_option(package_name="apppackage", prog_name="pyapp-ctl")
@click.pass_context
def main(ctx: click.Context, server: str | None, token: str | None) -> None:
    """Manage the apps of a pyapp management server.

    \b
    Examples:
      pyapp-ctl apps install dist/hello-1.0.0.pyapp
      pyapp-ctl config set hello greeting=Hi
      pyapp-ctl services set blog db=postgresql://blog:PASSWORD@db:5432/blog
      pyapp-ctl apps rollback hello
      pyapp-ctl events --app hello
    Shell completion: eval "$(pyapp-ctl completion bash)"
    """
    ctx.obj = Ctl(server, token)


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(pyapp-ctl completion bash)"."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(main, {}, "pyapp-ctl", "_PYAPP_CTL_COMPLETE").source())


main.add_command(ctl_server.info)
main.add_command(ctl_server.jobs)
main.add_command(ctl_server.events)
main.add_command(ctl_apps.apps)
main.add_command(ctl_config.config)
main.add_command(ctl_config.services)
main.add_command(ctl_web.vhosts)
main.add_command(ctl_web.web)
main.add_command(ctl_host.host)
main.add_command(ctl_tokens.tokens)
ctl_apps.apps.add_command(ctl_web.mount)
ctl_apps.apps.add_command(ctl_web.unmount)
for command in (ctl_appfiles.releases, ctl_appfiles.backups, ctl_appfiles.restore, ctl_appfiles.log):
    ctl_apps.apps.add_command(command)
