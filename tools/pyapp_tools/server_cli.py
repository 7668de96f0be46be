"""``pyapp-server``: run the management server, show its settings, manage its API tokens.

Settings are layered (see :mod:`pyapp_server.settings`): built-in defaults, then
``/etc/pyapp/server.ini``, ``$XDG_CONFIG_HOME/pyapp/server.ini``, ``./pyapp-server.ini``,
``-c FILE``, ``PYAPP_SERVER_<KEY>`` variables, and last the options of ``run``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ._click import PyappGroup, emit, json_option

__all__ = ["main"]


class _State:
    def __init__(self, config_file: Path | None) -> None:
        self.config_file = config_file

    def load(self, overrides: dict[str, Any] | None = None) -> Any:
        from pyapp_server.settings import load_settings

        return load_settings(self.config_file, overrides=overrides)


pass_state = click.make_pass_decorator(_State)


@click.group(
    cls=PyappGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A settings file (INI, section [server]) read after the system, user and ./pyapp-server.ini ones.",
)
@click.version_option(package_name="apppackage", prog_name="pyapp-server")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Run the pyapp management server (JSON API, XML-RPC, drop folder) and manage its tokens.

    Without a command, runs the server (like 'pyapp-server run').

    \b
    Examples:
      pyapp-server                          # http://127.0.0.1:6543/api/v1/
      pyapp-server run --demo --data-dir var
      pyapp-server config
      pyapp-server token create --role deployer --name ci
    """
    ctx.obj = _State(config_file)
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command()
@click.option(
    "--host", help="The address to listen on (a non-loopback one needs tokens).  [default: 127.0.0.1]"
)
@click.option(
    "--port", type=click.IntRange(0, 65535), help="The TCP port; 0 picks a free one.  [default: 6543]"
)
@click.option(
    "--unix-socket", type=click.Path(dir_okay=False, path_type=Path), help="Listen on a unix socket."
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Apps and server state.")
@click.option(
    "--demo", is_flag=True, help="Install the example apps first (from the checkout) and list them."
)
@pass_state
def run(
    state: _State,
    host: str | None = None,
    port: int | None = None,
    unix_socket: Path | None = None,
    data_dir: Path | None = None,
    demo: bool = False,
) -> None:
    """Serve the API until Ctrl-C (SIGINT) or SIGTERM; apps keep running when it stops.

    The first line on stdout says where it listens. The server writes an admin token
    for you to DATA_DIR/server/local-token (pyapp-ctl finds it by itself).
    """
    from pyapp_server.serve import serve

    overrides = {"host": host, "port": port, "unix_socket": unix_socket, "data_dir": data_dir}
    effective = state.load(overrides)
    settings = effective.settings
    demo_lines: list[str] = []
    if demo:
        from .server_demo import prepare_demo

        demo_lines = prepare_demo(settings.data_dir, echo=lambda m: click.echo(f"==> {m}", err=True))

    def ready(running: Any) -> None:
        from .server_demo import describe

        click.echo(f"pyapp-server serving the API on {running.url}/api/v1/ (data: {settings.data_dir})")
        for line in describe(running, demo_lines):
            click.echo(line)
        sys.stdout.flush()

    from pyapp_server.serverlog import configure_logging

    configure_logging(settings.log_file, settings.log_level, secrets=[settings.admin_token])
    serve(settings, ready=ready)


@main.command(name="config")
@json_option
@pass_state
def show_config(state: _State, as_json: bool) -> None:
    """Print the effective settings and where each came from (secrets masked)."""
    effective = state.load()
    rows = effective.describe()

    def human(rows: list[dict[str, str]]) -> None:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            click.echo(f"{r['name']:<{width}}  {r['value'] or '-'}    ({r['source']})")
        if effective.files:
            click.echo("files read: " + ", ".join(effective.files))

    emit(rows, as_json, human)


@main.group()
def token() -> None:
    """Make, list and revoke API tokens (stored hashed in DATA_DIR/server/)."""


def _store(state: _State) -> Any:
    from pyapp_server._db import Database
    from pyapp_server.services import DATABASE
    from pyapp_server.tokens import TokenStore

    settings = state.load().settings
    return TokenStore(Database(settings.state_dir / DATABASE)), settings


def _record(settings: Any, message: str) -> None:
    from pyapp_server._db import Database
    from pyapp_server.events import EventLog
    from pyapp_server.services import DATABASE

    EventLog(Database(settings.state_dir / DATABASE)).record("token", message, actor="pyapp-server token")


@token.command(name="create")
@click.option(
    "--role", type=click.Choice(["viewer", "deployer", "admin"]), required=True, help="What it may do."
)
@click.option("--name", required=True, help="Who or what uses it (shown in events as the actor).")
@json_option
@pass_state
def token_create(state: _State, role: str, name: str, as_json: bool) -> None:
    """Make a token; its secret is printed this once (only its hash is kept)."""
    store, settings = _store(state)
    new = store.create(role, name)
    _record(settings, f"token {new.token.name!r} ({role}) created")

    def human(d: dict[str, Any]) -> None:
        click.echo(d["secret"])
        click.echo(
            f"token {d['id']} ({d['role']}) for {d['name']}: the secret above is shown only once", err=True
        )

    emit(new.to_dict(), as_json, human)


@token.command(name="list")
@json_option
@pass_state
def token_list(state: _State, as_json: bool) -> None:
    """List the tokens (never their secrets)."""
    store, _settings = _store(state)
    tokens = [t.to_dict() for t in store.list()]

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            click.echo("no tokens (pyapp-server token create --role ROLE --name NAME)")
        for t in items:
            used = t["last_used"] or "-"
            click.echo(f"{t['id']}  {t['role']:<8}  {t['name']}  created {t['created']}  last used {used}")

    emit(tokens, as_json, human)


@token.command(name="revoke")
@click.argument("token_id", metavar="ID")
@json_option
@pass_state
def token_revoke(state: _State, token_id: str, as_json: bool) -> None:
    """Revoke the token ID: requests using it are refused from now on."""
    store, settings = _store(state)
    revoked = store.revoke(token_id)
    _record(settings, f"token {revoked.name!r} ({revoked.role}) revoked")
    emit(
        revoked.to_dict(),
        as_json,
        lambda d: click.echo(f"revoked token {d['id']} ({d['role']}) of {d['name']}"),
    )
