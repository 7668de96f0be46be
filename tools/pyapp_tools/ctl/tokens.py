"""``pyapp-ctl tokens create|list|revoke``: the server's API tokens (admin).

A new token's secret is printed once, on stdout (the rest on stderr), and never shown again: only its hash
is kept on the server.
"""

from __future__ import annotations

from typing import Any

import click

from ..commandline import emit, json_command
from .common import API, Ctl, pass_ctl

__all__ = ["tokens"]


@click.group()
def tokens() -> None:
    """The server's API tokens: each a role (viewer, deployer, admin) and a name."""


@tokens.command(name="create")
@click.option(
    "--role", type=click.Choice(["viewer", "deployer", "admin"]), required=True, help="What it may do."
)
@click.option("--name", required=True, help="Who or what uses it (shown in events as the actor).")
@json_command
@pass_ctl
def create(ctl: Ctl, role: str, name: str, as_json: bool) -> None:
    """Make a token; its secret is printed this once.

    \b
    Example:
      pyapp-ctl tokens create --role deployer --name ci
    """
    made = ctl.client.call("POST", f"{API}/tokens", json_body={"role": role, "name": name})

    def human(d: dict[str, Any]) -> None:
        click.echo(d["secret"])
        click.echo(
            f"token {d['id']} ({d['role']}) for {d['name']}: the secret above is shown only once", err=True
        )

    emit(made, as_json, human)


@tokens.command(name="list")
@json_command
@pass_ctl
def list_tokens(ctl: Ctl, as_json: bool) -> None:
    """List the tokens (never their secrets).

    \b
    Example:
      pyapp-ctl tokens list
    """
    data = ctl.client.call("GET", f"{API}/tokens")

    def human(d: dict[str, Any]) -> None:
        if not d["tokens"]:
            click.echo("no tokens (pyapp-ctl tokens create --role ROLE --name NAME)")
        for t in d["tokens"]:
            used = t["last_used"] or "-"
            click.echo(f"{t['id']}  {t['role']:<8}  {t['name']}  created {t['created']}  last used {used}")

    emit(data, as_json, human)


@tokens.command(name="revoke")
@click.argument("token_id", metavar="ID")
@json_command
@pass_ctl
def revoke(ctl: Ctl, token_id: str, as_json: bool) -> None:
    """Revoke the token ID: requests using it are refused from now on.

    \b
    Example:
      pyapp-ctl tokens revoke 1a2b3c4d
    """
    gone = ctl.client.call("DELETE", f"{API}/tokens/{token_id}")
    emit(gone, as_json, lambda d: click.echo(f"revoked token {d['id']} ({d['role']}) of {d['name']}"))
