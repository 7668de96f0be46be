"""``pyapp services``: the services of an app installed on this host (spec section 3.9).

It parses its input, calls :meth:`pyapp_runtime.Host.services` or
:meth:`~pyapp_runtime.Host.set_services` and formats the result. Values are always
shown masked: a URL's password as ``****``, anything that is not a URL entirely.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..commandline import emit
from .common import host_command, open_host, wait_option

__all__ = ["register", "services"]


def _table(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        click.echo("the app declares no services")
        return
    lines = [("SERVICE", "TYPE", "VARIABLE", "REQUIRED", "VALUE", "SUMMARY")]
    for s in rows:
        if s["value"] is None:
            value = "- (not provided)"
        else:
            value = s["value"] + (" (provisioned)" if s["provisioned"] else "")
        lines.append(
            (s["name"], s["type"], s["variable"], "yes" if s["required"] else "no", value, s["summary"])
        )
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:5], widths, strict=True)]
        click.echo("  ".join([*cells, line[5]]).rstrip())


@click.command()
@click.argument("name")
@click.argument("action", default="show", type=click.Choice(["show", "set", "unset"]))
@click.argument("items", nargs=-1, metavar="[SERVICE=VALUE | SERVICE]...")
@wait_option
@host_command
def services(
    name: str, action: str, items: tuple[str, ...], wait: float, home: Path | None, as_json: bool
) -> None:
    """Show, set or unset the services of the app NAME (its database, cache, mail server...).

    Each service the app declares reaches every process of the app as one
    variable (PYAPP_SERVICE_<NAME> unless the app names another). `set` checks
    each value (a postgresql service takes a postgresql:// URL...) and writes
    them to the app's services.yaml (mode 0600); `unset` removes the value of an
    optional service. A change restarts the app's running processes. Values are
    shown with their passwords masked.

    \b
    Example:
      pyapp services blog
      pyapp services blog set db=postgresql://blog:PASSWORD@127.0.0.1:5432/blog
      pyapp services blog unset cache
    """
    host = open_host(home)
    if action == "show":
        if items:
            raise click.UsageError("`show` takes no SERVICE=VALUE arguments (did you mean `set`?)")
        info = host.services(name).to_dict()

        def human(d: dict[str, Any]) -> None:
            click.echo(f"# {d['file']} ({d['name']} {d['version']})")
            _table(d["services"])

        emit(info, as_json, human)
        return
    if not items:
        raise click.UsageError(
            f"`{action}` needs at least one " + ("SERVICE=VALUE" if action == "set" else "SERVICE")
        )
    if action == "set":
        result = host.set_services(name, items, wait=wait)
    else:
        result = host.set_services(name, unset=items, wait=wait)

    def changed(d: dict[str, Any]) -> None:
        click.echo(f"{d['file']}: " + (f"changed {', '.join(d['changed'])}" if d["changed"] else "no change"))
        if d["provisioned"]:
            click.echo(f"  provisioned: {', '.join(d['provisioned'])}")
        if d["restarted"]:
            click.echo(f"  restarted the processes of {d['name']}")
        _table(d["services"])

    emit(result.to_dict(), as_json, changed)


def register(group: click.Group) -> None:
    """Add ``pyapp services`` to the ``pyapp`` group."""
    group.add_command(services)
