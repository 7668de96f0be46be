"""``pyapp-ctl web status|apply|start|stop``, ``pyapp-ctl vhosts list|add|remove`` and ``pyapp-ctl apps
mount|unmount``: the web server, virtual hosts and mounts.

Each command is one request to ``/api/v1/web``, ``/api/v1/vhosts`` or ``/api/v1/apps/{name}/mount``;
the server applies the change to its host's web server before it answers.
"""

from __future__ import annotations

from typing import Any

import click

from ..commandline import echo_web_change, emit, json_command
from .common import API, NAME, Ctl, pass_ctl

__all__ = ["mount", "unmount", "vhosts", "web"]


def _print_change(d: dict[str, Any]) -> None:
    echo_web_change(d)
    click.echo(f"web server: {d['server']['message']}")


@click.group()
def vhosts() -> None:
    """The server host's virtual hosts (an app is mounted on one: pyapp-ctl apps mount)."""


@vhosts.command(name="list")
@json_command
@pass_ctl
def list_vhosts(ctl: Ctl, as_json: bool) -> None:
    """List the virtual hosts, the apps mounted on them and the web server.

    \b
    Example:
      pyapp-ctl vhosts list
    """
    data = ctl.client.call("GET", f"{API}/vhosts")

    def human(d: dict[str, Any]) -> None:
        mounts = {m["app"]: m for m in d["mounts"]}
        for v in d["vhosts"]:
            click.echo(f"{v['name']}: {v['url']}  {', '.join(v['server_names']) or '(default host)'}")
            for app in v["mounts"]:
                click.echo(f"  {mounts[app]['prefix']:<20} {app}")
        if not d["vhosts"]:
            click.echo("no virtual hosts (pyapp-ctl vhosts add NAME --port N)")
        click.echo(f"web server: {d['server']['message']}")

    emit(data, as_json, human)


@vhosts.command(name="add")
@click.argument("name")
@click.option("--port", type=click.IntRange(1, 65535), required=True, help="The port to listen on.")
@click.option("--address", default="127.0.0.1", show_default=True, help="The IP address to listen on.")
@click.option(
    "--server-name", "server_names", multiple=True, metavar="HOST", help="A host name (repeatable)."
)
@click.option("--tls-cert", help="TLS certificate file (an absolute path on the server's host).")
@click.option("--tls-key", help="TLS key file (an absolute path on the server's host).")
@json_command
@pass_ctl
def add_vhost(
    ctl: Ctl,
    name: str,
    port: int,
    address: str,
    server_names: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    as_json: bool,
) -> None:
    """Add virtual host NAME (or change it) on the server (admin).

    \b
    Example:
      pyapp-ctl vhosts add main --port 8080 --server-name example.org
    """
    body = {"name": name, "port": port, "address": address, "server_names": list(server_names),
            "tls_certificate": tls_cert, "tls_key": tls_key}  # fmt: skip
    emit(ctl.client.call("POST", f"{API}/vhosts", json_body=body), as_json, _print_change)


@vhosts.command(name="remove")
@click.argument("name")
@json_command
@pass_ctl
def remove_vhost(ctl: Ctl, name: str, as_json: bool) -> None:
    """Remove virtual host NAME (admin; unmount its apps first).

    \b
    Example:
      pyapp-ctl vhosts remove main
    """
    emit(ctl.client.call("DELETE", f"{API}/vhosts/{name}"), as_json, _print_change)


@click.command()
@NAME
@click.argument("vhost")
@click.argument("prefix")
@json_command
@pass_ctl
def mount(ctl: Ctl, name: str, vhost: str, prefix: str, as_json: bool) -> None:
    """Mount app NAME on virtual host VHOST at path PREFIX.

    \b
    Example:
      pyapp-ctl apps mount hello main /hello
    """
    data = ctl.client.call("PUT", f"{API}/apps/{name}/mount", json_body={"vhost": vhost, "prefix": prefix})
    emit(data, as_json, _print_change)


@click.command()
@NAME
@json_command
@pass_ctl
def unmount(ctl: Ctl, name: str, as_json: bool) -> None:
    """Take app NAME off its virtual host.

    \b
    Example:
      pyapp-ctl apps unmount hello
    """
    emit(ctl.client.call("DELETE", f"{API}/apps/{name}/mount"), as_json, _print_change)


def _print_server(d: dict[str, Any]) -> None:
    click.echo(f"setting: {d['setting']}")
    pid = f" (pid {d['pid']})" if d["pid"] else ""
    click.echo(f"server: {d['kind'] or '-'}  running: {'yes' if d['running'] else 'no'}{pid}")
    if d["config"]:
        click.echo(f"config: {d['config']}")
    click.echo(f"{d['vhosts']} virtual host(s), {d['mounts']} mount(s)")
    click.echo(f"web server: {d['message']}")


@click.group()
def web() -> None:
    """The server host's web server: status, apply the routes, start, stop."""


@web.command(name="status")
@json_command
@pass_ctl
def web_status(ctl: Ctl, as_json: bool) -> None:
    """Show the web server: its kind, whether it runs, its configuration, what it serves.

    \b
    Example:
      pyapp-ctl web status
    """
    emit(ctl.client.call("GET", f"{API}/web"), as_json, _print_server)


def _web_command(action: str, doc: str) -> click.Command:
    @json_command
    @pass_ctl
    def run(ctl: Ctl, as_json: bool) -> None:
        emit(ctl.client.call("POST", f"{API}/web/{action}"), as_json, _print_server)

    run.__doc__ = f"{doc}\n\n\b\nExample:\n  pyapp-ctl web {action}\n"
    return click.command(name=action)(run)


web.add_command(
    _web_command("apply", "Render the routes, test them with the server, swap them in, reload (admin).")
)
web.add_command(_web_command("start", "Start the web server on the routes (admin)."))
web.add_command(_web_command("stop", "Stop the web server gracefully (admin)."))
