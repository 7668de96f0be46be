"""``pyapp-ctl config``: show, set and edit an app's configuration on the server; ``pyapp-ctl services``:
show, set and unset its services (spec section 3.9, values masked).

``edit`` opens ``$EDITOR`` on the values as YAML (secrets masked: leave ``********`` to
keep a secret as it is), sends them to the server, which validates them against the
app's spec, and re-opens the file with every error noted at the top until the values
are valid, or the file is left unsaved (or unchanged): then nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from apppackage import AppPackageError

from ..commandline import emit, json_command
from .client import CtlError, error_of
from .common import API, NAME, Ctl, pass_ctl

__all__ = ["config", "edit_config", "render_for_editing", "services"]

NOTE = "# pyapp: "


@click.group()
def config() -> None:
    """The configuration of an app: values (secrets masked) and the spec they follow."""


def _print_values(d: dict[str, Any]) -> None:
    fields = {f["name"]: f for f in d.get("fields") or d.get("spec", {}).get("fields", ())}
    for key, value in d["values"].items():
        label = fields.get(key, {}).get("label", "")
        click.echo(f"{key} = {value!r}" + (f"    # {label}" if label else ""))
    for key, f in fields.items():  # the fields left unset run with their defaults
        if key not in d["values"] and "default" in f:
            click.echo(f"{key} = {f['default']!r}    # {f.get('label', key)} (default)")


@config.command(name="show")
@NAME
@click.option("--spec", "show_spec", is_flag=True, help="Show the spec's fields (types, widgets, help) too.")
@json_command
@pass_ctl
def show_config(ctl: Ctl, name: str, show_spec: bool, as_json: bool) -> None:
    """Show NAME's configuration values (secrets masked)."""
    data = ctl.client.call("GET", f"{API}/apps/{name}/config")

    def human(d: dict[str, Any]) -> None:
        _print_values(d)
        if show_spec:
            for f in d["spec"]["fields"]:
                extra = ", required" if f.get("required") else ""
                click.echo(
                    f"field {f['name']}: {f['type']} ({f['widget']}{extra}) {f.get('help', '')}".rstrip()
                )

    emit(data, as_json, human)


def _print_change(d: dict[str, Any]) -> None:
    click.echo(f"changed: {', '.join(d['changed']) or 'nothing'}")
    for key, value in d["values"].items():
        click.echo(f"  {key} = {value!r}")


def _print_preview(d: dict[str, Any]) -> None:
    if not d["changes"]:
        click.echo("nothing would change")
    for c in d["changes"]:
        click.echo(f"  {c['field']}: {c['old']!r} -> {c['new']!r}")
    click.echo(f"the file the app would read ({d['format']}, secrets masked):")
    click.echo(d["file"].rstrip("\n"))


@config.command(name="set")
@NAME
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--dry-run", is_flag=True, help="Only say what would change, and the file the app would read.")
@json_command
@pass_ctl
def set_config(ctl: Ctl, name: str, assignments: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Set configuration values (checked against the app's spec on the server)."""
    path = f"{API}/apps/{name}/config" + ("?dry_run=true" if dry_run else "")
    data = ctl.client.call("PATCH", path, json_body={"assignments": list(assignments)})
    emit(data, as_json, _print_preview if dry_run else _print_change)


def render_for_editing(data: dict[str, Any]) -> str:
    """The values as YAML, each field's label and help as comments above it."""
    from apppackage.safeyaml import dump_yaml

    lines = [
        f"# Configuration of {data['name']} {data['version']}.",
        "# Secrets show as ********: leave them so to keep them as they are.",
        "# A field left commented out takes its default, shown after its name.",
        "# Save and quit to apply; quit without saving to leave it unchanged.",
        "",
    ]
    values = data["values"]
    for f in data["spec"]["fields"]:
        kind = f["type"] + (", required" if f.get("required") else "")
        lines.append(f"# {f['label']} ({kind}): {f.get('help', '')}".rstrip(": "))
        if f["name"] in values:
            lines.append(dump_yaml({f["name"]: values[f["name"]]}).rstrip("\n"))
        elif "default" in f and f["type"] != "secret":
            lines += [f"# {line}" for line in dump_yaml({f["name"]: f["default"]}).splitlines()]
        else:
            lines.append(f"# {f['name']}: ")
    for key in sorted(set(values) - {f["name"] for f in data["spec"]["fields"]}):
        lines.append(dump_yaml({key: values[key]}).rstrip("\n"))
    return "\n".join(lines) + "\n"


def edit_config(
    ctl: Ctl, name: str, edit: Callable[[str], str | None] | None = None
) -> dict[str, Any] | None:
    """Edit NAME's values until the server accepts them; ``None`` when the user gives up."""
    from apppackage.safeyaml import load_yaml

    editor = edit or (lambda text: click.edit(text, extension=".yaml", require_save=True))
    data = ctl.client.call("GET", f"{API}/apps/{name}/config")
    original = render_for_editing(data)
    text = original
    while True:
        edited = editor(text)
        if edited is None or edited == text:
            return None
        body = "\n".join(line for line in edited.splitlines() if not line.startswith(NOTE)) + "\n"
        try:
            values = load_yaml(body, "config.yaml") or {}
            if not isinstance(values, dict):
                raise CtlError("the file must be a mapping of setting names to values")
            response = ctl.client.request("PUT", f"{API}/apps/{name}/config", json_body={"values": values})
            if response.status < 400:
                result: dict[str, Any] = response.data
                return result
            error = error_of(response)
            if response.status != 422:
                raise error
            problems = str(error)
        except CtlError as exc:
            if exc.status and exc.status != 422:
                raise
            problems = str(exc)
        except AppPackageError as exc:
            problems = str(exc)
        click.echo(problems, err=True)
        text = "".join(f"{NOTE}{line}\n" for line in problems.splitlines()) + body


@config.command(name="edit")
@NAME
@json_command
@pass_ctl
def edit(ctl: Ctl, name: str, as_json: bool) -> None:
    """Edit NAME's values in $EDITOR; errors re-open the editor until they are valid."""
    result = edit_config(ctl, name)
    if result is None:
        raise CtlError("configuration not changed")
    emit(result, as_json, _print_change)


@click.group()
def services() -> None:
    """The services of an app (its database, cache...): values shown with passwords masked."""


def _print_services(d: dict[str, Any]) -> None:
    if not d["services"]:
        click.echo("the app declares no services")
    for s in d["services"]:
        value = "- (not provided)" if s["value"] is None else s["value"]
        if s["provisioned"]:
            value += " (provisioned)"
        need = "required" if s["required"] else "optional"
        summary = f"    # {s['summary']}" if s["summary"] else ""
        click.echo(f"{s['name']} ({s['type']}, {need}, {s['variable']}) = {value}{summary}")


@services.command(name="show")
@NAME
@json_command
@pass_ctl
def show_services(ctl: Ctl, name: str, as_json: bool) -> None:
    """Show NAME's services and their values (masked)."""
    emit(ctl.client.call("GET", f"{API}/apps/{name}/services"), as_json, _print_services)


def _print_service_change(d: dict[str, Any]) -> None:
    click.echo(f"changed: {', '.join(d['changed']) or 'nothing'}")
    if d["restarted"]:
        click.echo(f"restarted the processes of {d['name']}")
    _print_services(d)


@services.command(name="set")
@NAME
@click.argument("assignments", nargs=-1, required=True, metavar="SERVICE=VALUE...")
@json_command
@pass_ctl
def set_services(ctl: Ctl, name: str, assignments: tuple[str, ...], as_json: bool) -> None:
    """Set service values (checked on the server); the app's running processes are restarted."""
    values = {}
    for text in assignments:
        service, sep, value = text.partition("=")
        if not sep or not service:
            raise click.UsageError("each argument must be SERVICE=VALUE")
        values[service] = value
    data = ctl.client.call("PUT", f"{API}/apps/{name}/services", json_body={"set": values})
    emit(data, as_json, _print_service_change)


@services.command(name="unset")
@NAME
@click.argument("names", nargs=-1, required=True, metavar="SERVICE...")
@json_command
@pass_ctl
def unset_services(ctl: Ctl, name: str, names: tuple[str, ...], as_json: bool) -> None:
    """Remove the values of optional services (a required one cannot be unset)."""
    data = ctl.client.call("PUT", f"{API}/apps/{name}/services", json_body={"unset": list(names)})
    emit(data, as_json, _print_service_change)
