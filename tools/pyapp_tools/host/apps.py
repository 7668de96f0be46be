"""``pyapp`` commands that manage apps installed on this host: install, list, show, rollback, remove,
config, backup, restore (their processes and services: :mod:`pyapp_tools.host.processes`,
:mod:`pyapp_tools.host.services`).

Each parses its input, calls :class:`pyapp_runtime.Host` and formats the result
(``--json`` prints the result's ``to_dict()``; on an error it prints
``{"error": {...}}`` and exits 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..commandline import emit, human_size
from .common import host_command, open_host, wait_option

if TYPE_CHECKING:
    from pyapp_runtime import Host

__all__ = ["register"]


def _recovered(recovered: str | None) -> None:
    if recovered:
        click.echo(f"note: {recovered}", err=True)


@click.command()
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--force", is_flag=True,
    help="Install even if the version is not newer than the current one, or its data version is lower than "
    "the data's.",
)  # fmt: skip
@click.option(
    "--set", "settings", multiple=True, metavar="KEY=VALUE", help="Set a configuration value (repeatable)."
)
@click.option(
    "--service", "services", multiple=True, metavar="NAME=VALUE",
    help="Give the value of a service the app declares, such as db=postgresql://... (repeatable).",
)  # fmt: skip
@click.option(
    "--allow-network", is_flag=True, help="Download with pip what the bundled wheels do not provide."
)
@click.option(
    "--ignore-requirements", is_flag=True,
    help="Install even though requirements of the package (Python, OS, deb, rpm, programs) are not met here.",
)  # fmt: skip
# Requirements not met refuse the install without it too: kept so that command lines using it go on working.
@click.option("--strict", is_flag=True, hidden=True)
@click.option("--no-backup", is_flag=True, help="Do not back up the current release before an update.")
@click.option("--keep", type=click.IntRange(min=1), help="How many releases to keep (default 3).")
@click.option("--no-start", is_flag=True, help="Leave the app stopped (an update stops the old release).")
@click.option(
    "--trust-key", metavar="FINGERPRINT",
    help="Re-pin the app to the key that signed PACKAGE (its SHA256:... fingerprint), or 'unsigned' to "
    "accept an unsigned package after signed ones.",
)  # fmt: skip
@wait_option
@host_command
def install(
    package: Path, force: bool, settings: tuple[str, ...], services: tuple[str, ...], allow_network: bool,
    ignore_requirements: bool, strict: bool, no_backup: bool, keep: int | None, no_start: bool,
    trust_key: str | None, wait: float, home: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Install the .pyapp PACKAGE on this host, or update the app to it.

    The package is checked against its RECORD, its dependencies installed from its
    bundled wheels (shared ones once, in server-packages/), its hooks run, its
    processes started beside the current ones and health-checked, and the new
    release activated atomically; anything failing leaves the current release
    serving as it was. A downgrade or the same version is refused unless --force, and
    so is a package whose data version is lower than the data's (the refusal names
    the backup to restore first).
    A required service (a database...) the host cannot provision itself needs its
    value: --service NAME=VALUE (kept in the app's services.yaml for updates).
    A package whose requirements (metadata.yaml /requires) this host does not meet
    is refused, naming each and how to meet it; --ignore-requirements installs it anyway.
    The app is pinned to the key that signed its first package (or to none): an
    update signed by another key, or unsigned after signed ones, is refused until
    --trust-key names the new package's signer (docs/signing.md).

    \b
    Example:
      pyapp install dist/hello-1.0.0.pyapp --set greeting=Hi
      pyapp install dist/hello-1.1.0.pyapp --home /srv/pyapp --json
      pyapp install dist/blog-1.0.0.pyapp --service db=postgresql://blog:PASSWORD@127.0.0.1:5432/blog
      pyapp install dist/hello-2.0.0.pyapp --trust-key SHA256:/JGvdZdTtrwHnj6aPsDvx7eGaoloE5Yl3Rla0BL4/kg
    """
    host = open_host(home, progress=not as_json)
    result = host.install(
        package, force=force, settings=settings, services=services, allow_network=allow_network,
        ignore_requirements=ignore_requirements, strict=strict, backup=not no_backup, keep=keep, wait=wait,
        start=not no_start, trust_key=trust_key,
    )  # fmt: skip
    data = result.to_dict()
    data["processes"] = [p.to_dict() for p in host.status(result.name)]
    emit(data, as_json, _print_install)


def _print_install(data: dict[str, Any]) -> None:
    _recovered(data["recovered"])
    for warning in data["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    for hint in data["hints"]:
        cmd = f" (install with: {hint['command']})" if hint["command"] else ""
        click.echo(f"hint: missing {hint['kind']}: {', '.join(hint['missing'])}{cmd}", err=True)
    for item in data["unchecked"]:
        click.echo(f"note: not checked on this host: {item}", err=True)
    if data["action"] == "unchanged":
        click.echo(f"{data['name']} {data['version']} ({data['release']}) is already installed and current")
        return
    was = f" (was {data['previous_version']})" if data["previous_version"] else ""
    size = human_size(data["size"])
    click.echo(f"{data['name']} {data['version']} {data['action']}{was}: release {data['release']} ({size})")
    click.echo(f"  signed by: {data['signer']}" if data["signer"] else "  not signed")
    if data["repinned_from"]:
        click.echo(f"  pinned to {data['signer'] or 'unsigned'} now (was {data['repinned_from']})")
    deps = data["dependencies"]
    if deps:
        shared = sum(1 for d in deps if d["shared"])
        reused = sum(1 for d in deps if d["reused"])
        click.echo(f"  dependencies: {len(deps)} ({shared} shared, {reused} already on this host)")
    for hook in data["hooks"]:
        click.echo(f"  hook {hook['hook']} ({hook['version']}): passed in {hook['duration']:.2f} s")
    config = data["config"] or {}
    if config.get("dropped"):
        click.echo(f"  config: dropped values of removed fields: {', '.join(config['dropped'])}")
    if config.get("added"):
        click.echo(f"  config: new fields with defaults: {', '.join(config['added'])}")
    if data["backup"]:
        click.echo(f"  backup: {data['backup']['archive']}")
    if data["removed_releases"]:
        click.echo(f"  removed old releases: {', '.join(data['removed_releases'])}")
    if data["garbage"] and data["garbage"]["removed"]:
        freed = human_size(data["garbage"]["freed"])
        click.echo(f"  removed unused shared dependencies: {', '.join(data['garbage']['removed'])} ({freed})")
    click.echo(f"  config file: {data['config_file']}")
    for process in data.get("processes") or ():
        listen = f" on {process['listen']}" if process["listen"] else ""
        click.echo(f"  process {process['process']}: {process['state']}{listen}")


@click.command(name="list")
@host_command
def list_apps(home: Path | None, as_json: bool) -> None:
    """List the apps installed on this host.

    \b
    Example:
      pyapp list
      pyapp list --home /srv/pyapp --json
    """
    apps = [a.to_dict() for a in open_host(home).apps()]

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            click.echo("no apps installed")
        for a in items:
            _recovered(a["recovered"])
            busy = f"  (busy: process {a['busy']})" if a["busy"] else ""
            click.echo(f"{a['name']:<24} {a['version'] or '-':<14} {a['release'] or '-'}{busy}")

    emit(apps, as_json, human)


@click.command()
@click.argument("name")
@host_command
def show(name: str, home: Path | None, as_json: bool) -> None:
    """Show the app NAME: its releases with their sizes, paths, disk use and backups.

    \b
    Example:
      pyapp show hello
      pyapp show hello --json
    """
    emit(open_host(home).show(name).to_dict(), as_json, _print_show)


def _yaml_word(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _print_show(d: dict[str, Any]) -> None:
    _recovered(d["recovered"])
    click.echo(f"{d['name']} {d['version']} (release {d['release']})")
    click.echo(f"  path: {d['path']}")
    click.echo(f"  config: {d['config_file']} (the app reads {d['app_config_file']})")
    click.echo(f"  data: {d['data_path']}")
    data = d["data_version"]
    if data:
        click.echo(f"  data version: {data['data_version']} (since {data['since']})")
    updates = d["updates"]
    if updates:
        click.echo("  updates: " + ", ".join(f"{k} {_yaml_word(v)}" for k, v in updates.items()))
    click.echo(f"  signing key: {d['signer'] or 'none pinned (the first signed package pins its key)'}")
    for kind in ("wsgi", "asgi"):
        if d.get(kind):
            click.echo(f"  {kind}: {d[kind]}")
    if d["commands"]:
        click.echo(f"  commands: {', '.join(d['commands'])}")
    if d.get("ports"):
        migrate = {True: "on", False: "off: a switch may reset a waiting connection", None: "not available"}
        ports = ", ".join(f"{owner} {port}" for owner, port in d["ports"].items())
        click.echo(f"  ports: {ports} (tcp_migrate_req {migrate[d['migrate_requests']]})")
    who = d["identity"]
    click.echo(
        f"  runs as: {who['user']} (uid {who['uid']})"
        + ("" if who["isolated"] else f", not a user of its own: {who['reason']}")
    )
    walls = d["confinement"]
    click.echo(f"  confinement: {walls['kind']}" + (f" ({walls['reason']})" if walls["reason"] else ""))
    limits = {k: v for k, v in d["limits"].items() if v is not None}
    click.echo("  limits: " + (", ".join(f"{k} {v}" for k, v in limits.items()) or "none"))
    click.echo("  releases:")
    for r in d["releases"]:
        mark = "current" if r["current"] else "previous" if r["previous"] else ""
        form = f"data version {r['data_version']}"
        click.echo(
            f"    {r['id']:<32} {human_size(r['size']):>10}  {r['installed_at']}  {form}  {mark}".rstrip()
        )
    disk = d["disk"]
    click.echo(
        "  disk: "
        + ", ".join(f"{k} {human_size(v)}" for k, v in disk.items() if k != "total")
        + f" (total {human_size(disk['total'])})"
    )
    for b in d["backups"]:
        click.echo(f"  backup: {b['archive']} ({human_size(b['size'])})")


@click.command()
@click.argument("name")
@click.option("--to", "to", metavar="VERSION", help="The version (or release id) to go back to.")
@click.option(
    "--force", is_flag=True,
    help="Roll back even to a release whose data version is lower than the data's: its code may not read it.",
)  # fmt: skip
@wait_option
@host_command
def rollback(name: str, to: str | None, force: bool, wait: float, home: Path | None, as_json: bool) -> None:
    """Re-activate the previous release of NAME (or --to VERSION); its data stays as it is.

    A release whose data version is lower than the data's (spec section 3.19) is
    refused, naming the backup to restore first (pyapp restore), unless --force.

    \b
    Example:
      pyapp rollback hello
      pyapp rollback hello --to 1.0.0
    """
    result = open_host(home).rollback(name, to=to, force=force, wait=wait).to_dict()

    def human(d: dict[str, Any]) -> None:
        _recovered(d["recovered"])
        for warning in d["warnings"]:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"{d['name']}: {d['from_version']} -> {d['version']} (release {d['release']})")
        dropped = (d["config"] or {}).get("dropped")
        if dropped:
            click.echo(
                f"  config: dropped values of fields {d['version']} does not have: {', '.join(dropped)}"
            )

    emit(result, as_json, human)


@click.command()
@click.argument("name")
@click.option(
    "--keep-data", is_flag=True, help="Keep data/, logs/, config.yaml, the pinned signing key and backups/."
)
@click.option("--backup", is_flag=True, help="Back the app up first (the archive is kept in backups/).")
@click.option("--force", is_flag=True, help="Remove even if the backup or uninstall hook fails.")
@wait_option
@host_command
def remove(
    name: str, keep_data: bool, backup: bool, force: bool, wait: float, home: Path | None, as_json: bool
) -> None:
    """Stop the app NAME, run its uninstall hook, then remove it and all its releases.

    \b
    Example:
      pyapp remove hello --backup
      pyapp remove hello --keep-data
    """
    host = open_host(home)
    result = host.remove(name, keep_data=keep_data, backup=backup, force=force, wait=wait).to_dict()

    def human(d: dict[str, Any]) -> None:
        _recovered(d["recovered"])
        click.echo(f"removed {d['name']} ({len(d['removed_releases'])} release(s))")
        if d["backup"]:
            click.echo(f"  backup: {d['backup']['archive']}")
        for path in d["kept"]:
            click.echo(f"  kept {path}")

    emit(result, as_json, human)


@click.command()
@click.argument("name")
@click.argument("action", default="show", type=click.Choice(["show", "set", "edit"]))
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--show-secrets", is_flag=True, help="Show secret values instead of masking them.")
@wait_option
@host_command
def config(
    name: str, action: str, assignments: tuple[str, ...], show_secrets: bool, wait: float,
    home: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Show, set or edit the configuration of the app NAME.

    `set` validates every value against the app's spec and writes the file
    atomically; `edit` opens $EDITOR on the YAML and re-opens it until it is valid
    (or you give up). Secrets show as ******** (`show --show-secrets` shows them);
    given as ******** to `set` or left so in `edit`, a secret keeps its value.

    \b
    Example:
      pyapp config hello
      pyapp config hello set greeting=Hi
      pyapp config hello edit
    """
    host = open_host(home)
    if action == "show":
        if assignments:
            raise click.UsageError("`show` takes no KEY=VALUE arguments (did you mean `set`?)")
        info = host.config(name, show_secrets=show_secrets).to_dict()

        def human(d: dict[str, Any]) -> None:
            click.echo(f"# {d['file']} ({d['name']} {d['version']})")
            for key, value in d["values"].items():
                click.echo(f"{key}: {json.dumps(value)}")
            for f in d["fields"]:  # the fields the operator left unset run with their defaults
                if f["name"] not in d["values"] and "default" in f:
                    click.echo(f"{f['name']}: {json.dumps(f['default'])}  # default")

        emit(info, as_json, human)
        return
    if action == "set":
        if not assignments:
            raise click.UsageError("`set` needs at least one KEY=VALUE")
        result = host.set_config(name, assignments, wait=wait).to_dict()
    else:
        if assignments:
            raise click.UsageError("`edit` takes no KEY=VALUE arguments")
        edited = _edit(host, name, wait)
        if edited is None:
            click.echo("no change", err=True)
            return
        result = edited

    def changed(d: dict[str, Any]) -> None:
        click.echo(f"{d['file']}: " + (f"changed {', '.join(d['changed'])}" if d["changed"] else "no change"))

    emit(result, as_json, changed)


def _edit(host: Host, name: str, wait: float) -> dict[str, Any] | None:
    """Edit the YAML until it is valid; ``None`` when the user leaves it unchanged or gives up.

    Secrets show as the mask (spec section 4.5): a mask saved back keeps the stored value.
    """
    from apppackage import ConfigSpec, InvalidConfiguration
    from apppackage.errors import InvalidPackage

    from ..ctl.config import render_for_editing

    info = host.config(name).to_dict()  # secrets masked
    original = render_for_editing({**info, "spec": {"fields": info["fields"]}})
    text = original
    while True:
        edited = click.edit(text, extension=".yaml", require_save=True)
        if edited is None or edited == original:
            return None
        try:
            values = ConfigSpec().parse_file(edited, "config.yaml")
            return dict(host.replace_config(name, values, wait=wait).to_dict())
        except (InvalidConfiguration, InvalidPackage) as exc:
            click.echo(str(exc), err=True)
            if not click.confirm("Edit again?", default=True, err=True):
                raise click.ClickException("configuration not changed") from None
            body = "\n".join(line for line in edited.splitlines() if not line.startswith("# pyapp: "))
            notes = "".join(f"# pyapp: {line}\n" for line in str(exc).splitlines())
            text = notes + body + "\n"


@click.command()
@click.argument("name")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the archive."
)
@wait_option
@host_command
def backup(name: str, output: Path | None, wait: float, home: Path | None, as_json: bool) -> None:
    """Back up the app NAME: run its backup hook, archive its configuration and data.

    \b
    Example:
      pyapp backup hello
      pyapp backup hello -o /var/backups/hello.tar.gz
    """
    result = open_host(home).backup(name, output=output, wait=wait).to_dict()

    def human(d: dict[str, Any]) -> None:
        click.echo(f"{d['archive']} ({human_size(d['size'])}, {d['name']} {d['version']})")
        if d["skipped"]:
            click.echo(f"  left out (not regular files): {', '.join(d['skipped'])}", err=True)

    emit(result, as_json, human)


@click.command()
@click.argument("name")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore a backup made by a newer version of the app.")
@wait_option
@host_command
def restore(name: str, archive: Path, force: bool, wait: float, home: Path | None, as_json: bool) -> None:
    """Replace the data and configuration of the app NAME with those in ARCHIVE.

    \b
    Example:
      pyapp restore hello ~/.local/share/pyapp/apps/hello/backups/hello-1.0.0-20250101T000000000Z.tar.gz
    """
    result = open_host(home).restore(name, archive, force=force, wait=wait).to_dict()

    def human(d: dict[str, Any]) -> None:
        _recovered(d["recovered"])
        click.echo(f"restored {d['name']} from {d['archive']} (made by {d['backup_version']})")
        click.echo(f"  data version: {d['data_version']}")
        if d["hook_files"]:
            click.echo(f"  the backup hook's files: {d['hook_files']}")
        if d["note"]:
            click.echo(f"note: {d['note']}", err=True)

    emit(result, as_json, human)


def register(group: click.Group) -> None:
    """Add the host commands to the ``pyapp`` group."""
    for command in (install, list_apps, show, rollback, remove, config, backup, restore):
        group.add_command(command)
