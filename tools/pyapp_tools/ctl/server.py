"""``pyapp-ctl info``, ``pyapp-ctl jobs list|show|wait`` and ``pyapp-ctl events``: the server and its work."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..commandline import emit, json_command
from .common import API, Ctl, complete_apps, pass_ctl, wait_for_job

__all__ = ["events", "info", "jobs"]


@click.command()
@json_command
@pass_ctl
def info(ctl: Ctl, as_json: bool) -> None:
    """Show the server's version, features and who you are to it."""
    data = ctl.client.call("GET", f"{API}/info")

    def human(d: dict[str, Any]) -> None:
        click.echo(f"{d['name']} {d['version']} at {ctl.client.endpoint.url} (API v{d['api_version']})")
        click.echo(f"oldest pyapp-ctl served: {d['min_client_version']}")
        who = d.get("identity")
        click.echo(f"you: {who['name']} ({who['role']})" if who else "you: no valid token")
        features = ", ".join(k for k, v in d["features"].items() if v) or "none"
        click.echo(f"features: {features}")

    emit(data, as_json, human)


@click.group()
def jobs() -> None:
    """Long operations (install, update, rollback, remove, backup, restore) and their logs."""


def _job_line(j: dict[str, Any]) -> str:
    return (
        f"{j['id']}  {j['state']:<9}  {j['kind']:<8}  {j['app'] or '-':<16}  {j['created']}  by {j['actor']}"
    )


@jobs.command(name="list")
@click.option("--app", shell_complete=complete_apps, help="Only this app's jobs.")
@click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_command
@pass_ctl
def jobs_list(ctl: Ctl, app: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """List the newest jobs."""
    data = ctl.client.call("GET", f"{API}/jobs", query={"app": app, "state": state, "limit": limit})

    def human(d: dict[str, Any]) -> None:
        for j in d["jobs"]:
            click.echo(_job_line(j))
        if not d["jobs"]:
            click.echo("no jobs")

    emit(data, as_json, human)


@jobs.command(name="show")
@click.argument("job_id", metavar="ID")
@json_command
@pass_ctl
def jobs_show(ctl: Ctl, job_id: str, as_json: bool) -> None:
    """Show a job with its log, result or error."""
    job = ctl.client.call("GET", f"{API}/jobs/{job_id}")

    def human(j: dict[str, Any]) -> None:
        click.echo(_job_line(j))
        if j["log"]:
            click.echo(j["log"].rstrip("\n"))
        if j["error"]:
            click.echo(f"error: {j['error']['message']}")

    emit(job, as_json, human)


@jobs.command(name="wait")
@click.argument("job_id", metavar="ID")
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after SECONDS (exit 1).")
@json_command
@pass_ctl
def jobs_wait(ctl: Ctl, job_id: str, timeout: float | None, as_json: bool) -> None:
    """Wait for a job to end (exit 1 when it failed)."""
    job = ctl.client.call("GET", f"{API}/jobs/{job_id}")
    job = wait_for_job(ctl, job, quiet=as_json, timeout=timeout)
    emit(job, as_json, lambda j: click.echo(_job_line(j)))
    if job["state"] == "failed":
        if not as_json:
            click.echo(f"Error: {(job['error'] or {}).get('message', 'the job failed')}", err=True)
        sys.exit(1)


@click.command()
@click.option("--app", shell_complete=complete_apps, help="Only this app's events.")
@click.option("--kind", help="Only events of this kind (install, update, rollback, remove, config...).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_command
@pass_ctl
def events(ctl: Ctl, app: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """Show what happened to the apps, newest last."""
    data = ctl.client.call("GET", f"{API}/events", query={"app": app, "kind": kind, "limit": limit})

    def human(d: dict[str, Any]) -> None:
        if not d["events"]:
            click.echo("no events")
        for e in reversed(d["events"]):
            mark = "ok  " if e["outcome"] == "succeeded" else "FAIL"
            click.echo(
                f"{e['time']}  {mark}  {e['kind']:<8}  {e['app'] or '-':<16}  {e['message']}  ({e['actor']})"
            )

    emit(data, as_json, human)
