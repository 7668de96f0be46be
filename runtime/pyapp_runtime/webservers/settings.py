"""How the runtime's own web server instance runs, and what an activation did."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Activation", "ServerSettings"]


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """How the managed instance runs.

    ``workers``: nginx worker processes / Apache start servers (lighttpd runs one process);
    ``worker_user``: the user the workers switch to when the server is started as root
    (default ``www-data`` if it exists, else ``nobody``; ignored otherwise);
    ``keep_configs``: rendered generations kept besides the live one.
    """

    workers: int = 1
    worker_user: str | None = None
    access_log: bool = True
    start_timeout: float = 20.0
    reload_timeout: float = 30.0
    stop_timeout: float = 10.0
    keep_configs: int = 5


@dataclass(frozen=True, kw_only=True)
class Activation:
    """What :meth:`WebServer.activate` did: the live main configuration file, the one it
    replaced, and whether the running server was reloaded (or stopped: nothing to serve), or
    started (it was not running). :meth:`WebServer.revert` undoes it."""

    config: Path
    previous: Path | None
    reloaded: bool
    stopped: bool = False
    started: bool = False
