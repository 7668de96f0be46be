"""What an app keeps on the host, for the API, XML-RPC and the web interface: its releases, its backups
(and restoring one), the output of its processes.

:class:`AppFiles` goes through :class:`pyapp_runtime.Host`, the same code as ``pyapp show``, ``pyapp
restore`` and ``pyapp logs``. A restore is a job (:mod:`pyapp_server.jobs`) and takes a backup by the name
of its archive in the app's ``backups/``: nothing else on the server can be named.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .jobs import Job, JobContext

if TYPE_CHECKING:
    from .manager import AppManager

__all__ = ["DEFAULT_LOG_LINES", "MAX_LOG_BYTES", "MAX_LOG_LINES", "AppFiles"]

DEFAULT_LOG_LINES = 100
MAX_LOG_LINES = 1000
MAX_LOG_BYTES = 1 << 20
"""The most read from the end of one log file (lines written without an end count against it)."""
JOB_LOCK_WAIT = 60.0
"""How long a restore waits for the app's lock (a restart or configuration change holding it ends first)."""


def _restored(result: dict[str, Any]) -> str:
    archive = Path(str(result.get("archive", ""))).name
    note = f"; {result['note']}" if result.get("note") else ""
    return f"{result.get('name')} restored from {archive} (made by {result.get('backup_version')}){note}"


class AppFiles:
    """The releases, backups and process output of the apps of *apps* (its host, jobs and events)."""

    def __init__(self, apps: AppManager) -> None:
        self.apps = apps

    def releases(self, name: str) -> dict[str, Any]:
        """App *name*'s releases, the most recently installed first: version, when, the package it came from
        (file name and sha256), current or previous, and the disk it uses (bytes; a file shared with a newer
        release is counted for that one)."""
        releases = self.apps.host().releases(name)
        return {"name": name, "releases": [r.to_dict() for r in releases]}

    def backups(self, name: str) -> dict[str, Any]:
        """App *name*'s backup archives, the newest first: file name, size, when, the version that made it
        and why (``manual``, ``pre-update``)."""
        return {"name": name, "backups": [b.to_dict() for b in self.apps.host().backups(name)]}

    def restore(self, name: str, backup: str, actor: str, *, force: bool = False) -> Job:
        """Queue restoring app *name*'s data and configuration from its backup archive *backup* (a name from
        :meth:`backups`); *force* restores one made by a newer version of the app."""
        known = {b.name: b for b in self.apps.host().backups(name)}  # NoSuchApp (404) first
        chosen = known.get(backup)
        if chosen is None:
            listed = ", ".join(sorted(known)) or "none yet (POST /api/v1/apps/{name}/backup makes one)"
            raise ApiError(
                f"app {name!r} has no backup {backup!r} (its backups: {listed})",
                status=404,
                code="not-found",
                errors=[{"field": "backup", "path": "/backup", "message": "is not one of the app's backups"}],
            )

        def work(ctx: JobContext) -> dict[str, Any]:
            ctx.log(f"restore {name} from {chosen.name}")
            host = self.apps.host(progress=ctx.log)
            return dict(host.restore(name, chosen.path, force=force, wait=JOB_LOCK_WAIT).to_dict())

        return self.apps.jobs.submit("restore", name, actor, work, describe=_restored)

    def log(self, name: str, process: str, lines: int = DEFAULT_LOG_LINES) -> dict[str, Any]:
        """The last *lines* lines (at most :data:`MAX_LOG_LINES`) of the output of app *name*'s *process*
        (``web``, ``web#1``, ``tasks``, ``hooks``, a process of its description, ``queue#0``...): one entry
        per log file (a process with several copies has one each). 404 naming the known processes."""
        from pyapp_runtime.errors import NoSuchProcess
        from pyapp_runtime.processes.logs import last_lines, log_ends

        count = max(0, min(lines, MAX_LOG_LINES))
        try:
            files = self.apps.host().logs(name, process=process)
        except NoSuchProcess as exc:
            raise ApiError(str(exc), status=404, code="not-found", extra={"known": list(exc.known)}) from None
        ends = log_ends(files)
        return {
            "name": name,
            "process": process,
            "logs": [
                {
                    "process": f.process,
                    "lines": last_lines(f.path, count, end=ends[f.path][1], max_bytes=MAX_LOG_BYTES),
                }
                for f in files
            ],
        }
