"""What every pyapp command line shares: the group class, ``--json`` output, error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from apppackage import AppPackageError

__all__ = ["PyappGroup", "echo_web_change", "emit", "json_option"]

F = TypeVar("F", bound=Callable[..., Any])


class PyappGroup(click.Group):
    """A click group that turns every :class:`AppPackageError` into a clean error message and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AppPackageError as exc:
            raise click.ClickException(str(exc)) from exc


def json_option(func: F) -> F:
    """``--json``: print one machine-readable JSON document instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def emit(data: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    """Print *data* as JSON, or through *human* (default: ``key: value`` lines)."""
    if as_json:
        json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    elif human is not None:
        human(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            click.echo(f"{key}: {value}")
    else:
        click.echo(str(data))


def echo_web_change(d: dict[str, Any]) -> None:
    """The virtual host or mount a web change (``WebChange.to_dict()``) added or removed, for people."""
    if d["vhost"] is not None:
        verb = "removed" if d["action"] == "vhost-remove" else "added"
        click.echo(f"{verb} virtual host {d['vhost']['name']} ({d['vhost']['url']})")
    if d["mount"] is not None:
        m = d["mount"]
        if d["action"] == "unmount":
            click.echo(f"unmounted {m['app']} from {m['vhost']} {m['prefix']}")
        else:
            click.echo(f"mounted {m['app']} at {m['url']} ({m['upstream'] or 'static files only'})")
