"""What every pyapp command line shares: the group class, ``--json`` and error output, formatting.

An :class:`~apppackage.AppPackageError` is turned into output in one place,
:func:`errors_reported`: ``Error: <message>`` on stderr and exit status 1, and with
``--json`` first the error's JSON document on stdout (:func:`error_document`).
Commands that print JSON take ``--json`` through :func:`json_command`; the
others' errors reach :class:`PyappGroup`.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import click

from apppackage import AppPackageError

__all__ = [
    "PyappGroup",
    "echo_failing",
    "echo_settings",
    "echo_settings_change",
    "echo_web_change",
    "emit",
    "error_document",
    "errors_reported",
    "human_size",
    "json_command",
]

P = ParamSpec("P")
R = TypeVar("R")


def error_document(exc: AppPackageError) -> Mapping[str, Any]:
    """What ``--json`` prints for *exc*: ``{"error": {"type": ..., "message": ...}}``.

    An error that carries a server's own JSON error as its ``body`` (pyapp-ctl's
    :class:`~pyapp_tools.ctl.client.CtlError`: ``{"error": {"status", "code", "message"},
    "errors": [...]}``) prints that, as is.
    """
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and body:
        return body
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


@contextmanager
def errors_reported(as_json: bool) -> Iterator[None]:
    """Turn an :class:`AppPackageError` into ``Error: <message>`` and exit status 1.

    With *as_json*, the error's JSON document (:func:`error_document`) is printed on stdout first.
    """
    try:
        yield
    except AppPackageError as exc:
        if as_json:
            emit(error_document(exc), True)
        raise click.ClickException(str(exc)) from exc


class PyappGroup(click.Group):
    """A click group whose commands' :class:`AppPackageError` become a clean error message and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        with errors_reported(as_json=False):
            return super().invoke(ctx)


def json_command(func: Callable[P, R]) -> Callable[P, R]:
    """Give a command's callback ``--json`` (its ``as_json`` parameter) and report its errors.

    An :class:`AppPackageError` raised by the command prints ``Error: <message>`` on stderr
    and exits 1; with ``--json``, the error's JSON document is printed on stdout first
    (see :func:`errors_reported`).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with errors_reported(as_json=bool(kwargs.get("as_json"))):
            return func(*args, **kwargs)

    option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    return option(wrapper)


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


def echo_failing(processes: Iterable[Mapping[str, Any]]) -> None:
    """Each failing process (``DaemonStatus.to_dict()``), for people: why, how often retried, what it said."""
    for p in processes:
        status = (
            f"exit status {p['exit_status']}" if p.get("exit_status") is not None else "it exits at its start"
        )
        retried = f", retried {p['retries']} times" if p.get("retries") else ""
        click.echo(
            f"  {p.get('app', '')} {p.get('process', '')} is failing ({status}{retried}); it last said:"
        )
        for line in str(p.get("output") or "(nothing)").splitlines():
            click.echo(f"    {line}")


def human_size(n: float) -> str:
    """A size in bytes for people: ``512 B``, ``1.5 KiB``, ... ``3.2 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


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


def _setting_text(value: Any) -> str:
    if isinstance(value, dict):  # limits: only those set
        value = {k: v for k, v in value.items() if v is not None} or None
    if value is None:
        return "-"
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value)
    return str(value)


def echo_settings(settings: Iterable[Mapping[str, Any]]) -> None:
    """The host's settings (``SettingInfo.to_dict()`` each) as a table: key, value, where it comes from,
    default."""
    rows = [("SETTING", "VALUE", "FROM", "DEFAULT")]
    rows += [
        (s["key"], _setting_text(s["value"]), s["source"], _setting_text(s["default"])) for s in settings
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo(
            "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]]).rstrip()
        )


def echo_settings_change(d: Mapping[str, Any], reload_hint: str) -> None:
    """What a change of the host's settings (``SettingsChange.to_dict()``) did, for people; *reload_hint*
    is the command that reloads an app (``NAME`` in it is replaced)."""
    if not d["changed"]:
        click.echo("no change: host.yaml already says so")
        return
    click.echo(f"host.yaml: changed {', '.join(d['changed'])}")
    for key in d["overridden"]:
        source = next((s["source"] for s in d["settings"] if s["key"] == key), "a variable")
        click.echo(f"note: {source} overrides {key}: the host keeps running by it", err=True)
    if d["web_server"] is not None:
        click.echo(f"web server: {d['web_server']['message']}")
    for app in d["reload"]:
        click.echo(f"{app} runs by the old settings until it is reloaded: {reload_hint.replace('NAME', app)}")
