"""``pyapp-server``: run the management server, show its settings, manage its API tokens.

Settings are layered (see :mod:`pyapp_server.settings`): built-in defaults, then
``/etc/pyapp/server.ini``, ``$XDG_CONFIG_HOME/pyapp/server.ini``, ``./pyapp-server.ini``,
``-c FILE``, ``PYAPP_SERVER_<KEY>`` variables, and last the options of ``run``.

An error (bad settings, an unknown token, a data directory in use) prints
``Error: <message>`` on stderr and exits 1; ``--json`` prints results as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from apppackage import AppPackageError

if TYPE_CHECKING:
    from .serve import RunningServer
    from .settings import EffectiveSettings, ServerSettings
    from .tokens import TokenStore

__all__ = ["main"]

T = TypeVar("T")


class _ServerGroup(click.Group):
    """The ``pyapp-server`` group: an :class:`AppPackageError` of any command is a clean error, exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AppPackageError as exc:
            raise click.ClickException(str(exc)) from exc


_json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _print(data: T, as_json: bool, human: Callable[[T], None]) -> None:
    """*data* as indented JSON, or for people through *human*."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human(data)


class _State:
    """What the commands share: the ``-c`` settings file."""

    def __init__(self, config_file: Path | None) -> None:
        self.config_file = config_file

    def load(self, overrides: Mapping[str, Any] | None = None) -> EffectiveSettings:
        from .settings import load_settings

        return load_settings(self.config_file, overrides=overrides)


_pass_state = click.make_pass_decorator(_State)


@click.group(
    cls=_ServerGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
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
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve HTTPS with this PEM certificate (chain); needs --tls-key.",
)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="The PEM key of --tls-cert.")
@click.option(
    "--demo", is_flag=True, help="Install the example apps first (from the checkout) and list them."
)
@_pass_state
def run(
    state: _State,
    host: str | None = None,
    port: int | None = None,
    unix_socket: Path | None = None,
    data_dir: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    demo: bool = False,
) -> None:
    """Serve the API until Ctrl-C (SIGINT) or SIGTERM; apps keep running when it stops.

    The first line on stdout says where it listens. The server writes an admin token
    for you to DATA_DIR/server/local-token (pyapp-ctl finds it by itself).
    """
    from .demo import describe, prepare_demo
    from .serve import serve
    from .serverlog import configure_logging

    overrides = {
        "host": host,
        "port": port,
        "unix_socket": unix_socket,
        "data_dir": data_dir,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    settings = state.load(overrides).settings
    demo_lines: list[str] = []
    if demo:
        demo_lines = prepare_demo(settings.data_dir, echo=lambda m: click.echo(f"==> {m}", err=True))

    def ready(running: RunningServer) -> None:
        click.echo(f"pyapp-server serving the API on {running.url}/api/v1/ (data: {settings.data_dir})")
        for line in describe(running, demo_lines):
            click.echo(line)
        sys.stdout.flush()

    configure_logging(
        settings.log_file,
        settings.log_level,
        secrets=[settings.admin_token],
        max_size=settings.log_max_size,
        backups=settings.log_backups,
    )
    serve(settings, ready=ready)


@main.command(name="config")
@_json_option
@_pass_state
def show_config(state: _State, as_json: bool) -> None:
    """Print the effective settings and where each came from (secrets masked)."""
    effective = state.load()

    def human(rows: list[dict[str, str]]) -> None:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            click.echo(f"{r['name']:<{width}}  {r['value'] or '-'}    ({r['source']})")
        if effective.files:
            click.echo("files read: " + ", ".join(effective.files))

    _print(effective.describe(), as_json, human)


@main.group()
def token() -> None:
    """Make, list and revoke API tokens (stored hashed in DATA_DIR/server/)."""


def _tokens(state: _State) -> tuple[TokenStore, ServerSettings]:
    """The token store of the settings' data directory, and the settings."""
    from ._db import Database
    from .services import DATABASE
    from .tokens import TokenStore

    settings = state.load().settings
    return TokenStore(Database(settings.state_dir / DATABASE)), settings


def _record(settings: ServerSettings, message: str) -> None:
    """Add a ``token`` event to the server's history."""
    from ._db import Database
    from .events import EventLog
    from .services import DATABASE

    EventLog(Database(settings.state_dir / DATABASE)).record("token", message, actor="pyapp-server token")


@token.command(name="create")
@click.option(
    "--role", type=click.Choice(["viewer", "deployer", "admin"]), required=True, help="What it may do."
)
@click.option("--name", required=True, help="Who or what uses it (shown in events as the actor).")
@_json_option
@_pass_state
def token_create(state: _State, role: str, name: str, as_json: bool) -> None:
    """Make a token; its secret is printed this once (only its hash is kept)."""
    store, settings = _tokens(state)
    new = store.create(role, name)
    _record(settings, f"token {new.token.name!r} ({role}) created")

    def human(d: dict[str, Any]) -> None:
        click.echo(d["secret"])
        click.echo(
            f"token {d['id']} ({d['role']}) for {d['name']}: the secret above is shown only once", err=True
        )

    _print(new.to_dict(), as_json, human)


@token.command(name="list")
@_json_option
@_pass_state
def token_list(state: _State, as_json: bool) -> None:
    """List the tokens (never their secrets)."""
    store, _settings = _tokens(state)

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            click.echo("no tokens (pyapp-server token create --role ROLE --name NAME)")
        for t in items:
            used = t["last_used"] or "-"
            click.echo(f"{t['id']}  {t['role']:<8}  {t['name']}  created {t['created']}  last used {used}")

    _print([t.to_dict() for t in store.list()], as_json, human)


@token.command(name="revoke")
@click.argument("token_id", metavar="ID")
@_json_option
@_pass_state
def token_revoke(state: _State, token_id: str, as_json: bool) -> None:
    """Revoke the token ID: requests using it are refused from now on."""
    store, settings = _tokens(state)
    revoked = store.revoke(token_id)
    _record(settings, f"token {revoked.name!r} ({revoked.role}) revoked")
    _print(
        revoked.to_dict(),
        as_json,
        lambda d: click.echo(f"revoked token {d['id']} ({d['role']}) of {d['name']}"),
    )
