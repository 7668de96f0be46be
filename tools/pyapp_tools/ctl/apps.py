"""``pyapp-ctl apps``: list, show, install, update, rollback, remove, start, stop, restart, reload, back up
(releases, backups, restore and log: :mod:`pyapp_tools.ctl.appfiles`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..commandline import echo_failing, emit, human_size, json_command
from .client import CtlError
from .common import API, NAME, Ctl, finish_job, pass_ctl

__all__ = ["apps"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def apps() -> None:
    """The apps on the server."""


@apps.command(name="list")
@json_command
@pass_ctl
def list_apps(ctl: Ctl, as_json: bool) -> None:
    """List the installed apps."""
    data = ctl.client.call("GET", f"{API}/apps")

    def human(d: dict[str, Any]) -> None:
        if not d["apps"]:
            click.echo("no apps installed (pyapp-ctl apps install PACKAGE)")
        for a in d["apps"]:
            busy = f"  (job {a['job']} running)" if a.get("job") else ""
            version, release, state = a["version"] or "-", a["release"] or "-", a.get("state") or "-"
            click.echo(f"{a['name']:<20} {version:<12} {release:<28} {state:<9} {a['installed_at']}{busy}")
            echo_failing(a.get("failing") or ())

    emit(data, as_json, human)


@apps.command()
@NAME
@json_command
@pass_ctl
def show(ctl: Ctl, name: str, as_json: bool) -> None:
    """Show an app: its releases, processes, disk use and backups."""
    data = ctl.client.call("GET", f"{API}/apps/{name}")

    def human(d: dict[str, Any]) -> None:
        click.echo(f"{d['name']} {d['version']} (release {d['release']})")
        click.echo(f"  path: {d['path']}")
        if d.get("data_version"):
            click.echo(
                f"  data version: {d['data_version']['data_version']} (since {d['data_version']['since']})"
            )
        if d.get("updates"):
            policy = ", ".join(
                f"{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in d["updates"].items()
            )
            click.echo(f"  updates: {policy}")
        pinned = d.get("signer") or "none pinned (the first signed package pins its key)"
        click.echo(f"  signing key: {pinned}")
        for kind in ("wsgi", "asgi"):
            if d.get(kind):
                click.echo(f"  {kind}: {d[kind]}")
        click.echo("  releases:")
        for r in d["releases"]:
            mark = "current" if r["current"] else "previous" if r["previous"] else ""
            form = f"data version {r.get('data_version', 0)}"
            click.echo(
                f"    {r['id']:<28} {human_size(r['size']):>10}  {r['installed_at']}  {form}  {mark}".rstrip()
            )
        if d.get("processes"):
            click.echo("  processes:")
            for p in d["processes"]:
                failing = " (failing)" if p.get("failing") else ""
                click.echo(f"    {p.get('name') or p.get('program')}: {p.get('state')}{failing}")
            echo_failing([p for p in d["processes"] if p.get("failing")])
        click.echo(f"  disk: {human_size(d['disk'].get('total', 0))} in all")
        for b in d["backups"]:
            click.echo(f"  backup: {b['archive']} ({human_size(b['size'])})")
        if d.get("job"):
            click.echo(f"  busy: job {d['job']}")

    emit(data, as_json, human)


def _print_install(r: dict[str, Any]) -> None:
    before = (
        f" (was {r['previous_version']})" if r.get("previous_version") and r["action"] != "installed" else ""
    )
    click.echo(f"{r['name']} {r['version']} {r['action']}{before}: release {r['release']}")
    click.echo(f"  signed by: {r['signer']}" if r.get("signer") else "  not signed")
    if r.get("repinned_from"):
        click.echo(f"  pinned to {r.get('signer') or 'unsigned'} now (was {r['repinned_from']})")
    for warning in r.get("warnings") or ():
        click.echo(f"warning: {warning}", err=True)


def _install_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--server-path",
                is_flag=True,
                help="PACKAGE is a path on the server, not a file here to upload.",
            ),
            click.option("--force", is_flag=True, help="Install even when the version is not newer."),
            click.option(
                "--ignore-requirements",
                is_flag=True,
                help="Install even though requirements of the package are not met on the server's host.",
            ),
            click.option(
                "--set", "settings", multiple=True, metavar="KEY=VALUE", help="A configuration value."
            ),
            click.option(
                "--service",
                "services",
                multiple=True,
                metavar="NAME=VALUE",
                help="The value of one of the app's services (spec section 3.9).",
            ),
            click.option(
                "--trust-key",
                metavar="FINGERPRINT",
                help="Re-pin the app to the key that signed PACKAGE (SHA256:...), or 'unsigned' to accept an "
                "unsigned package after signed ones (docs/signing.md).",
            ),
            click.option(
                "--wait/--no-wait",
                default=True,
                show_default=True,
                help="Wait for the job to end, or print its id and return.",
            ),
        ]
    ):
        func = option(func)
    return func


def _send_package(
    ctl: Ctl,
    path: str,
    package: str,
    *,
    server_path: bool,
    force: bool,
    ignore_requirements: bool,
    settings: tuple[str, ...],
    services: tuple[str, ...],
    trust_key: str | None,
    quiet: bool,
) -> dict[str, Any]:
    client = ctl.client
    if server_path:
        body = {
            "path": package, "force": force, "ignore_requirements": ignore_requirements,
            "settings": list(settings), "services": list(services),
            **({"trust_key": trust_key} if trust_key else {}),
        }  # fmt: skip
        job: dict[str, Any] = client.call("POST", path, json_body=body)
        return job
    file = Path(package)
    if not file.is_file():
        raise click.BadParameter(f"{file}: no such file (use --server-path for a file on the server)")
    size = file.stat().st_size
    limit = client.call("GET", f"{API}/info")["limits"]["max_upload_size"]
    if size > limit:
        raise CtlError(f"{file} is {size} bytes; the server accepts uploads up to {limit} (max_upload_size)")
    query = [("force", "true" if force else "false"), *(("set", s) for s in settings)]
    query += [("ignore_requirements", "true")] if ignore_requirements else []
    query += [("service", s) for s in services]
    query += [("trust_key", trust_key)] if trust_key else []
    with click.progressbar(length=size, label=f"Uploading {file.name}", file=sys.stderr, hidden=quiet) as bar:
        job = client.upload(path, file, query=query, progress=bar.update)
    return job


@apps.command()
@click.argument("package")
@_install_options
@json_command
@pass_ctl
def install(ctl: Ctl, /, package: str, wait: bool, as_json: bool, **options: Any) -> None:
    """Install the .pyapp PACKAGE (uploaded with a progress bar), or update its app to it."""
    job = _send_package(ctl, f"{API}/apps", package, quiet=as_json, **options)
    finish_job(ctl, job, wait, as_json, _print_install)


@apps.command()
@NAME
@click.argument("package")
@_install_options
@json_command
@pass_ctl
def update(ctl: Ctl, /, name: str, package: str, wait: bool, as_json: bool, **options: Any) -> None:
    """Update the installed app NAME to the .pyapp PACKAGE (which must be NAME)."""
    job = _send_package(ctl, f"{API}/apps/{name}/update", package, quiet=as_json, **options)
    finish_job(ctl, job, wait, as_json, _print_install)


@apps.command()
@NAME
@click.option(
    "--to", metavar="VERSION", help="Go back to this version (or release id), not the previous one."
)
@click.option(
    "--force", is_flag=True,
    help="Roll back even to a release whose data version is lower than the data's: its code may not read it.",
)  # fmt: skip
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_command
@pass_ctl
def rollback(ctl: Ctl, name: str, to: str | None, force: bool, wait: bool, as_json: bool) -> None:
    """Re-activate the previous release of NAME (its data stays as it is).

    A release whose data version is lower than the data's is refused, naming the
    backup to restore first (pyapp-ctl apps restore), unless --force.
    """
    body: dict[str, Any] = {"to": to} if to else {}
    if force:
        body["force"] = True
    job = ctl.client.call("POST", f"{API}/apps/{name}/rollback", json_body=body)

    def human(r: dict[str, Any]) -> None:
        for warning in r.get("warnings", ()):
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"{r['name']} rolled back from {r['from_version']} to {r['version']}")

    finish_job(ctl, job, wait, as_json, human)


@apps.command()
@NAME
@click.option("--keep-data", is_flag=True, help="Keep its data/, config.yaml and backups/.")
@click.option("--backup", is_flag=True, help="Back it up first (the archive is kept).")
@click.option("--force", is_flag=True, help="Remove it even when its uninstall hook fails.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_command
@pass_ctl
def remove(
    ctl: Ctl, name: str, keep_data: bool, backup: bool, force: bool, yes: bool, wait: bool, as_json: bool
) -> None:
    """Run NAME's uninstall hook, then remove the app (and its data unless --keep-data)."""
    if not yes:
        what = "its releases" if keep_data else "its releases, data and configuration"
        click.confirm(f"Remove {name} and {what}?", abort=True, err=True)
    flags = {"keep_data": keep_data, "backup": backup, "force": force}
    job = ctl.client.call("DELETE", f"{API}/apps/{name}", query={k: "true" for k, v in flags.items() if v})

    def human(r: dict[str, Any]) -> None:
        click.echo(f"{r['name']} {r['version'] or ''} removed".replace("  ", " "))
        if r.get("backup"):
            click.echo(f"backup kept: {r['backup']['archive']}")

    finish_job(ctl, job, wait, as_json, human)


@apps.command()
@NAME
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_command
@pass_ctl
def backup(ctl: Ctl, name: str, wait: bool, as_json: bool) -> None:
    """Back up NAME on the server: its backup hook's files, configuration and data."""
    job = ctl.client.call("POST", f"{API}/apps/{name}/backup")
    finish_job(ctl, job, wait, as_json, lambda r: click.echo(f"{r['archive']} ({human_size(r['size'])})"))


def _process_command(action: str, help_text: str) -> click.Command:
    @NAME
    @json_command
    @pass_ctl
    def run(ctl: Ctl, name: str, as_json: bool) -> None:
        data = ctl.client.call("POST", f"{API}/apps/{name}/{action}")
        emit(data, as_json, lambda d: click.echo(f"{name}: {action} done"))

    return click.command(name=action, help=help_text)(run)


apps.add_command(_process_command("start", "Start NAME's processes (when the server's runtime runs them)."))
apps.add_command(_process_command("stop", "Stop NAME's processes gracefully."))
apps.add_command(_process_command("restart", "Restart NAME's processes."))
apps.add_command(
    _process_command(
        "reload",
        "Reload NAME: new processes, with its configuration as it is now, take over once healthy "
        "(no moment out of service; a stopped app stays stopped).",
    )
)
