"""``pyapp-ctl apps releases|backups|restore|log``: what an app keeps on the server's host.

Each is one request to ``/api/v1/apps/{name}/...``; ``restore`` starts a job and waits for it (as the
other long operations do, ``--no-wait`` returns at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..commandline import emit, human_size, json_command
from .common import API, NAME, Ctl, finish_job, pass_ctl

__all__ = ["backups", "log", "releases", "restore"]


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.command()
@NAME
@json_command
@pass_ctl
def releases(ctl: Ctl, name: str, as_json: bool) -> None:
    """List NAME's releases: version, when installed, disk use, the package each came from.

    \b
    Example:
      pyapp-ctl apps releases hello
    """
    data = ctl.client.call("GET", f"{API}/apps/{name}/releases")

    def human(d: dict[str, Any]) -> None:
        rows = [("RELEASE", "VERSION", "INSTALLED", "SIZE", "DATA", "PACKAGE", "")]
        for r in d["releases"]:
            mark = "current" if r["current"] else "previous" if r["previous"] else ""
            package = r["package_file"] or "-"
            if r["package_sha256"]:
                package += f" (sha256 {r['package_sha256'][:12]})"
            data = str(r.get("data_version", 0))
            rows.append(
                (r["id"], r["version"], r["installed_at"] or "-", human_size(r["size"]), data, package, mark)
            )
        _table(rows)

    emit(data, as_json, human)


@click.command()
@NAME
@json_command
@pass_ctl
def backups(ctl: Ctl, name: str, as_json: bool) -> None:
    """List NAME's backup archives, the newest first (pyapp-ctl apps restore takes a NAME from here).

    \b
    Example:
      pyapp-ctl apps backups hello
    """
    data = ctl.client.call("GET", f"{API}/apps/{name}/backups")

    def human(d: dict[str, Any]) -> None:
        if not d["backups"]:
            click.echo(f"{name} has no backups (make one: pyapp-ctl apps backup {name})")
            return
        rows = [("BACKUP", "CREATED", "SIZE", "VERSION", "DATA", "REASON")]
        for b in d["backups"]:
            data = "?" if b.get("data_version") is None else str(b["data_version"])
            reason = (b["reason"] or "-") + (f" (to {b['to_version']})" if b.get("to_version") else "")
            rows.append((b["name"], b["created"], human_size(b["size"]), b["version"] or "?", data, reason))
        _table(rows)

    emit(data, as_json, human)


@click.command()
@NAME
@click.argument("backup")
@click.option("--force", is_flag=True, help="Restore a backup made by a newer version of the app.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_command
@pass_ctl
def restore(ctl: Ctl, name: str, backup: str, force: bool, yes: bool, wait: bool, as_json: bool) -> None:
    """Replace NAME's data and configuration with those of its backup BACKUP (admin).

    \b
    Example:
      pyapp-ctl apps restore hello hello-1.0.0-20250101T000000000Z.tar.gz
    """
    if not yes:
        click.confirm(f"Replace the data and configuration of {name} with {backup}?", abort=True, err=True)
    job = ctl.client.call("POST", f"{API}/apps/{name}/restore", json_body={"backup": backup, "force": force})

    def human(r: dict[str, Any]) -> None:
        click.echo(f"{r['name']} restored from {backup} (made by {r['backup_version']})")
        if r.get("hook_files"):
            click.echo(f"  the backup hook's files: {r['hook_files']}")
        if r.get("note"):
            click.echo(f"note: {r['note']}", err=True)

    finish_job(ctl, job, wait, as_json, human)


@click.command()
@NAME
@click.argument("process")
@click.option("-n", "lines", type=click.IntRange(1, 1000), default=100, show_default=True, help="Lines.")
@json_command
@pass_ctl
def log(ctl: Ctl, name: str, process: str, lines: int, as_json: bool) -> None:
    """Show the last lines of the output of NAME's PROCESS (web, tasks, hooks, a process name, queue#0).

    \b
    Example:
      pyapp-ctl apps log hello web -n 50
    """
    from urllib.parse import quote

    data = ctl.client.call("GET", f"{API}/apps/{name}/processes/{quote(process, safe='')}/log",
                           query={"lines": lines})  # fmt: skip

    def human(d: dict[str, Any]) -> None:
        several = len(d["logs"]) > 1
        for entry in d["logs"]:
            if several:
                click.echo(f"==> {entry['process']} <==")
            for line in entry["lines"]:
                click.echo(line)

    emit(data, as_json, human)
