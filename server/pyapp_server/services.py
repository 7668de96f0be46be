"""The server's parts, made once per application and reached as ``request.services``.

One server at a time uses a data directory: :meth:`Services.create` holds a lock on
``<data>/server/server.lock`` until :meth:`Services.close`, so that a second server
never marks the first one's jobs as interrupted nor takes its drop folder's files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass

from apppackage.errors import AppPackageError

from ._db import Database
from .appfiles import AppFiles
from .dropfolder import DropFolder
from .events import EventLog
from .hostadmin import HostAdmin
from .jobs import JobManager
from .manager import AppManager
from .sessions import SessionStore
from .settings import ServerSettings
from .tokenadmin import TokenAdmin
from .tokens import TokenStore
from .webadmin import WebAdmin

__all__ = ["DATABASE", "LOCK_FILE", "DataDirInUse", "Services"]

DATABASE = "server.sqlite"
LOCK_FILE = "server.lock"


class DataDirInUse(AppPackageError):
    """Another server uses the same data directory."""


def _lock(settings: ServerSettings) -> int:
    path = settings.state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise DataDirInUse(
            f"{settings.data_dir} is in use by another pyapp-server (pid {holder}); stop it first, "
            "or give this one another data directory (--data-dir)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: ServerSettings
    db: Database
    tokens: TokenStore
    sessions: SessionStore
    """The web interface's sign-in sessions."""
    events: EventLog
    jobs: JobManager
    apps: AppManager
    files: AppFiles
    """The apps' releases, backups (restore) and process output."""
    host: HostAdmin
    """The host at a glance and its settings."""
    web: WebAdmin
    """The host's web server, virtual hosts and mounts."""
    token_admin: TokenAdmin
    """Making, listing and revoking tokens, each recorded as an event."""
    drop: DropFolder
    lock: int
    """The file descriptor holding the data directory's lock."""

    @classmethod
    def create(cls, settings: ServerSettings) -> Services:
        """Lock the data directory and open (or create) the server's state under ``settings.state_dir``."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = _lock(settings)
        try:
            db = Database(settings.state_dir / DATABASE)
            events = EventLog(db)
            jobs = JobManager(db, events, workers=settings.job_workers)
        except BaseException:
            os.close(lock)
            raise
        apps = AppManager(settings.data_dir, jobs, events)
        apps.recover()  # what a crash left (this server's, during a job), before the first request
        tokens = TokenStore(db, extra_admin_secret=settings.admin_token)
        return cls(
            settings=settings,
            db=db,
            tokens=tokens,
            sessions=SessionStore(db, tokens),
            events=events,
            jobs=jobs,
            apps=apps,
            files=AppFiles(apps),
            host=HostAdmin(apps, events),
            web=WebAdmin(apps, events),
            token_admin=TokenAdmin(tokens, events),
            drop=DropFolder(settings.drop_folder, apps, interval=settings.drop_interval),
            lock=lock,
        )

    def close(self, *, wait: bool = True, farewell: str | None = None) -> None:
        """Stop watching the drop folder, let running jobs end (queued ones are dropped), unlock.

        *farewell* is recorded as a ``server`` event once the jobs have ended.
        """
        self.drop.stop()
        self.jobs.close(wait=wait)
        if farewell:
            self.events.record("server", farewell)
        with contextlib.suppress(OSError):
            os.close(self.lock)
