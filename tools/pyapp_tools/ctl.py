"""``pyapp-ctl``: drive a pyapp management server through its JSON API, locally or remotely.

The server and token come from ``--server``/``--token`` (or ``$PYAPP_SERVER_URL`` and
``$PYAPP_TOKEN``), else from the files a local server wrote (see
:mod:`pyapp_tools.ctl_client`). ``--json`` prints the API's JSON; errors then print
``{"error": ...}`` too, and the exit status is 1.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from apppackage import AppPackageError

from ._click import PyappGroup, emit, json_option
from .ctl_client import Client, CtlError, find_endpoint

__all__ = ["Ctl", "main", "pass_ctl"]

F = TypeVar("F", bound=Callable[..., Any])
API = "/api/v1"


class Ctl:
    """The shared state of one ``pyapp-ctl`` run: the server, the token, the client."""

    def __init__(self, server: str | None, token: str | None) -> None:
        self.server = server
        self.token = token
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            endpoint = find_endpoint(self.server, self.token)
            self._client = Client(endpoint, warn=lambda message: click.echo(message, err=True))
        return self._client


pass_ctl = click.make_pass_decorator(Ctl)


def command(func: F) -> F:
    """``--json`` for a command; with it, errors are printed as JSON as well."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AppPackageError as exc:
            if not kwargs.get("as_json"):
                raise
            body = exc.body if isinstance(exc, CtlError) and exc.body else {"error": {"message": str(exc)}}
            emit(body, True)
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return json_option(wrapper)  # type: ignore[return-value]


def complete_apps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """App names for shell completion (none when the server cannot be asked)."""
    try:
        root = ctx.find_root().params
        client = Ctl(root.get("server"), root.get("token")).client
        apps = client.call("GET", f"{API}/apps")["apps"]
    except (AppPackageError, KeyError, TypeError):
        return []
    return [a["name"] for a in apps if a["name"].startswith(incomplete)]


NAME = click.argument("name", shell_complete=complete_apps)


@click.group(cls=PyappGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="PYAPP_SERVER_URL",
    metavar="URL",
    help="The server (default: $PYAPP_SERVER_URL, else the local server's endpoint file).",
)
@click.option(
    "--token",
    envvar="PYAPP_TOKEN",
    metavar="TOKEN",
    help="The API token (default: $PYAPP_TOKEN, else the local server's token file).",
)
@click.version_option(package_name="apppackage", prog_name="pyapp-ctl")
@click.pass_context
def main(ctx: click.Context, server: str | None, token: str | None) -> None:
    """Manage the apps of a pyapp management server.

    \b
    Examples:
      pyapp-ctl apps install dist/hello-1.0.0.pyapp
      pyapp-ctl config set hello greeting=Hi
      pyapp-ctl services set blog db=postgresql://blog:PASSWORD@db:5432/blog
      pyapp-ctl apps rollback hello
      pyapp-ctl events --app hello
    Shell completion: eval "$(pyapp-ctl completion bash)"
    """
    ctx.obj = Ctl(server, token)


@main.command()
@command
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


# -- jobs ------------------------------------------------------------------------------


def wait_for_job(
    ctl: Ctl, job: dict[str, Any], *, quiet: bool = False, timeout: float | None = None
) -> dict[str, Any]:
    """Poll the job until it ends, printing its new log lines to stderr; return it."""
    shown = 0
    deadline = time.monotonic() + timeout if timeout is not None else None
    while True:
        log = job.get("log") or ""
        if not quiet and len(log) > shown:
            click.echo(log[shown:], err=True, nl=False)
            shown = len(log)
        if job["state"] in ("succeeded", "failed"):
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise CtlError(f"job {job['id']} is still {job['state']} (see: pyapp-ctl jobs wait {job['id']})")
        job = ctl.client.call("GET", f"{API}/jobs/{job['id']}", query={"wait": 10})


def finish_job(
    ctl: Ctl, job: dict[str, Any], wait: bool, as_json: bool, human: Callable[[Any], None]
) -> None:
    """Print the job (``--no-wait``), or wait for it and print its result; a failed job exits 1."""
    if not wait:
        emit(job, as_json, lambda j: click.echo(f"job {j['id']} ({j['kind']} of {j['app']}) is {j['state']}"))
        return
    job = wait_for_job(ctl, job, quiet=as_json)
    if job["state"] == "failed":
        error = job.get("error") or {}
        lines = [str(error.get("message", "the job failed"))]
        if error.get("errors"):
            lines = [lines[0].splitlines()[0]]
            lines += [
                f"  {e.get('field') or ''}{e.get('path') or ''}: {e['message']}" for e in error["errors"]
            ]
        raise CtlError(
            f"job {job['id']} ({job['kind']} of {job['app']}) failed: " + "\n".join(lines),
            body={"error": error, "job": job},
        )
    emit(job if as_json else job["result"], as_json, human)


@main.group()
def jobs() -> None:
    """Long operations (install, update, rollback, remove, backup) and their logs."""


def _job_line(j: dict[str, Any]) -> str:
    return (
        f"{j['id']}  {j['state']:<9}  {j['kind']:<8}  {j['app'] or '-':<16}  {j['created']}  by {j['actor']}"
    )


@jobs.command(name="list")
@click.option("--app", shell_complete=complete_apps, help="Only this app's jobs.")
@click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@command
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
@command
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
@command
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


# -- events ------------------------------------------------------------------------------


@main.command()
@click.option("--app", shell_complete=complete_apps, help="Only this app's events.")
@click.option("--kind", help="Only events of this kind (install, update, rollback, remove, config...).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@command
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


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(pyapp-ctl completion bash)"."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(main, {}, "pyapp-ctl", "_PYAPP_CTL_COMPLETE").source())


def _register() -> None:
    from . import ctl_apps, ctl_config, ctl_web

    main.add_command(ctl_apps.apps)
    main.add_command(ctl_config.config)
    main.add_command(ctl_config.services)
    ctl_web.register(main, ctl_apps.apps)


_register()
