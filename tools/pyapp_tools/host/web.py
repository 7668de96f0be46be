"""``pyapp vhost``, ``pyapp mount``, ``pyapp unmount``, ``pyapp web``: virtual hosts and path mounting.

Each command parses its input, calls :class:`pyapp_runtime.web.hostweb.HostWeb` and prints the
result (``--json``: its ``to_dict()``; on an error ``{"error": {...}}`` and exit 1).
Which web server serves the routes is the host setting ``web_server`` (``host.yaml``,
or ``$PYAPP_WEB_SERVER``): ``none`` (the default) stores the routes without serving them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..commandline import echo_web_change, emit
from .common import host_command, open_host

if TYPE_CHECKING:
    from pyapp_runtime.web.hostweb import HostWeb

__all__ = ["register"]


def _web(home: Path | None) -> HostWeb:
    return open_host(home).web


def _print_server(server: dict[str, Any]) -> None:
    click.echo(f"web server: {server['message']}")


def _print_change(d: dict[str, Any]) -> None:
    echo_web_change(d)
    if d["mount"] is not None and d["restarted"]:
        click.echo(f"  {d['mount']['app']} was reloaded to serve under its new path")
    for check in d.get("checks", ()):
        if check["verified"]:
            click.echo(f"  verified: {check['detail']}")
        else:
            click.echo(f"  not verified, as {check['app']} could not be asked: {check['detail']}")
    _print_server(d["server"])


@click.group()
def vhost() -> None:
    """Virtual hosts: host names on an address and port that apps are mounted on."""


@vhost.command(name="add")
@click.argument("name")
@click.option("--port", type=click.IntRange(1, 65535), required=True, help="The port to listen on.")
@click.option("--address", default="127.0.0.1", show_default=True, help="The IP address to listen on.")
@click.option(
    "--server-name", "server_names", multiple=True, metavar="HOST",
    help="A host name it answers to (repeat for more; none: the default host of its port).",
)  # fmt: skip
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="TLS private key (PEM).")
@host_command
def add_vhost(
    name: str,
    port: int,
    address: str,
    server_names: tuple[str, ...],
    tls_cert: Path | None,
    tls_key: Path | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Add virtual host NAME (or change it; its mounts stay) and apply it.

    \b
    Example:
      pyapp vhost add main --port 8080 --server-name example.org
    """
    result = _web(home).add_vhost(
        name, port=port, address=address, server_names=server_names,
        tls_certificate=str(tls_cert.absolute()) if tls_cert else None,
        tls_key=str(tls_key.absolute()) if tls_key else None,
    )  # fmt: skip
    emit(result.to_dict(), as_json, _print_change)


@vhost.command(name="list")
@host_command
def list_vhosts(home: Path | None, as_json: bool) -> None:
    """List the virtual hosts and the apps mounted on them.

    \b
    Example:
      pyapp vhost list --json
    """
    status = _web(home).status().to_dict()

    def human(d: dict[str, Any]) -> None:
        mounts = {m["app"]: m for m in d["mounts"]}
        for v in d["vhosts"]:
            names = ", ".join(v["server_names"]) or "(default host)"
            click.echo(f"{v['name']}: {v['url']}  {names}")
            for app in v["mounts"]:
                m = mounts[app]
                click.echo(f"  {m['prefix']:<20} {app}  -> {m['upstream'] or 'static files only'}")
        if not d["vhosts"]:
            click.echo("no virtual hosts (add one: pyapp vhost add NAME --port N)")
        _print_server(d["server"])

    emit(status, as_json, human)


@vhost.command(name="remove")
@click.argument("name")
@host_command
def remove_vhost(name: str, home: Path | None, as_json: bool) -> None:
    """Remove virtual host NAME (unmount its apps first) and apply.

    \b
    Example:
      pyapp vhost remove main
    """
    emit(_web(home).remove_vhost(name).to_dict(), as_json, _print_change)


@click.command()
@click.argument("name")
@click.argument("vhost_name", metavar="VHOST")
@click.argument("prefix")
@host_command
def mount(name: str, vhost_name: str, prefix: str, home: Path | None, as_json: bool) -> None:
    """Mount installed app NAME on virtual host VHOST at path PREFIX (or move it there).

    The web server proxies PREFIX to the app's daemon (which then sees it as
    SCRIPT_NAME) and serves the app's static directories itself.

    \b
    Example:
      pyapp mount hello main /hello
    """
    emit(_web(home).mount(name, vhost_name, prefix).to_dict(), as_json, _print_change)


@click.command()
@click.argument("name")
@host_command
def unmount(name: str, home: Path | None, as_json: bool) -> None:
    """Take app NAME off its virtual host (a running app then serves at its root).

    \b
    Example:
      pyapp unmount hello
    """
    emit(_web(home).unmount(name).to_dict(), as_json, _print_change)


@click.group()
def web() -> None:
    """The host's web server: status, apply the routes, start, stop.

    The setting web_server in host.yaml (or $PYAPP_WEB_SERVER) chooses it: auto,
    none (the default: routes are stored, nothing serves them), nginx, apache, lighttpd.

    \b
    Example:
      PYAPP_WEB_SERVER=nginx pyapp web start
    """


@web.command(name="status")
@host_command
def web_status(home: Path | None, as_json: bool) -> None:
    """Show the web server and the routes it serves.

    \b
    Example:
      pyapp web status
    """
    status = _web(home).status().to_dict()

    def human(d: dict[str, Any]) -> None:
        s = d["server"]
        click.echo(f"setting: {s['setting']}")
        click.echo(f"server: {s['kind'] or '-'}  running: {'yes' if s['running'] else 'no'}")
        if s["config"]:
            click.echo(f"config: {s['config']}")
        click.echo(f"{len(d['vhosts'])} virtual host(s), {len(d['mounts'])} mount(s)")
        _print_server(s)

    emit(status, as_json, human)


def _server_command(action: str, doc: str, example: str) -> click.Command:
    @host_command
    def run(home: Path | None, as_json: bool) -> None:
        result = getattr(_web(home), action)()
        emit({"server": result.to_dict()}, as_json, lambda d: _print_server(d["server"]))

    run.__doc__ = f"{doc}\n\n\b\nExample:\n  {example}\n"
    return click.command(name=action)(run)


web.add_command(
    _server_command(
        "apply", "Render the routes, test them with the server, swap them in and reload.", "pyapp web apply"
    )
)
web.add_command(_server_command("start", "Start the web server on the routes.", "pyapp web start"))
web.add_command(_server_command("stop", "Stop the web server gracefully.", "pyapp web stop"))


def register(group: click.Group) -> None:
    """Add ``vhost``, ``mount``, ``unmount`` and ``web`` to the ``pyapp`` group."""
    for command in (vhost, mount, unmount, web):
        group.add_command(command)
