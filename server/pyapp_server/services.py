"""The server's parts, made once per application and reached as ``request.services``."""

from __future__ import annotations

from dataclasses import dataclass

from ._db import Database
from .dropfolder import DropFolder
from .events import EventLog
from .jobs import JobManager
from .manager import AppManager
from .settings import ServerSettings
from .tokens import TokenStore

__all__ = ["DATABASE", "Services"]

DATABASE = "server.sqlite"


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: ServerSettings
    db: Database
    tokens: TokenStore
    events: EventLog
    jobs: JobManager
    apps: AppManager
    drop: DropFolder

    @classmethod
    def create(cls, settings: ServerSettings) -> Services:
        """Open (or create) the server's state under ``settings.state_dir``."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = Database(settings.state_dir / DATABASE)
        events = EventLog(db)
        jobs = JobManager(db, events, workers=settings.job_workers)
        apps = AppManager(settings.data_dir, jobs, events)
        return cls(
            settings=settings,
            db=db,
            tokens=TokenStore(db, extra_admin_secret=settings.admin_token),
            events=events,
            jobs=jobs,
            apps=apps,
            drop=DropFolder(settings.drop_folder, apps, interval=settings.drop_interval),
        )

    def close(self, *, wait: bool = True) -> None:
        """Stop watching the drop folder and let running jobs end (queued ones are dropped)."""
        self.drop.stop()
        self.jobs.close(wait=wait)
