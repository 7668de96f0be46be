"""What the ``pyapp-ctl`` command modules share: the run's state, the API, the NAME argument, jobs.

:class:`Ctl` is the context object of one run (the server and token given, the
client made from them when a command first needs it); :data:`pass_ctl` hands it to
a command. Commands that start a job end with :func:`finish_job`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from apppackage import AppPackageError

from ..commandline import emit
from .client import Client, CtlError, find_endpoint

__all__ = ["API", "NAME", "Ctl", "complete_apps", "finish_job", "pass_ctl", "wait_for_job"]

API = "/api/v1"
"""The path of the server's JSON API."""


class Ctl:
    """The shared state of one ``pyapp-ctl`` run: the server, the token, the client."""

    def __init__(self, server: str | None, token: str | None) -> None:
        self.server = server
        self.token = token
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The client of the server (found from the options, the variables or the local endpoint file)."""
        if self._client is None:
            endpoint = find_endpoint(self.server, self.token)
            self._client = Client(endpoint, warn=lambda message: click.echo(message, err=True))
        return self._client


pass_ctl = click.make_pass_decorator(Ctl)
"""Pass the run's :class:`Ctl` to a command as its first argument."""


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
"""The NAME argument of a command about one app, completed from the server's apps."""


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
