"""The host at a glance, cheap to ask again and again (a dashboard asks it every few seconds).

:meth:`Overview.read` tells how many apps there are, whether supervisord runs, how the web server is and
how many virtual hosts and mounts it serves, the disk the apps' releases, the shared dependencies, their
data and their backups use, and what is free on the file system of the host's home.

What is costly to measure is kept: the size of an app's releases until its set of releases changes (a
release never changes once built), that of the shared dependencies until their set changes, and the size
of an app's data and backups for at most *max_age* seconds (``measured_at`` says when the oldest of these
numbers was taken). The host's settings, and so which web server serves the routes, are read again after
*max_age* seconds, or at once after :meth:`Overview.forget`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

from ._plain import Plain
from .layout import HostLayout
from .releases.release import disk_usage
from .web.results import ServerState

if TYPE_CHECKING:
    from .host import Host
    from .processes.daemons import DaemonManager

__all__ = ["DISK_MAX_AGE", "HostOverview", "Overview"]

DISK_MAX_AGE = 60.0
"""Seconds an app's data and backups are not measured again."""


@dataclass(frozen=True, kw_only=True)
class HostOverview(Plain):
    """The host at a glance (sizes in bytes)."""

    apps: int
    supervisor: dict[str, Any] = field(default_factory=dict)
    """``state`` (``running``, ``stopped``, or ``disabled``: the host runs no apps' processes) and ``pid``."""
    web_server: ServerState
    vhosts: int = 0
    mounts: int = 0
    disk: dict[str, int] = field(default_factory=dict)
    """``releases``, ``shared`` (dependencies in server-packages), ``data``, ``backups``; ``free`` and
    ``size`` of the file system of the host's home."""
    measured_at: str = ""
    """When the oldest size of data or backups was measured (ISO 8601, UTC)."""


def _supervisor(daemons: DaemonManager) -> dict[str, Any]:
    if not daemons.enabled:
        return {"state": "disabled", "pid": None}
    try:
        pid = daemons.supervisor.pid()
    except AppPackageError:
        pid = None
    return {"state": "running" if pid else "stopped", "pid": pid}


def _file_system(path: Path) -> tuple[int, int]:
    """Free and total bytes of the file system holding *path* (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


class Overview:
    """The host at *home* at a glance (see the module's docstring); safe to share between threads."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        max_age: float = DISK_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.layout = HostLayout(Path(home).absolute())
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._host: tuple[float, Host] | None = None
        self._releases: dict[str, tuple[frozenset[str], int]] = {}
        self._shared: tuple[frozenset[str], int] | None = None
        self._measured: dict[tuple[str, str], tuple[float, float, int]] = {}

    def forget(self) -> None:
        """Read the settings and measure the data and backups again at the next :meth:`read`."""
        with self._lock:
            self._host = None
            self._measured.clear()

    def _current_host(self) -> Host:
        from .host import Host

        now = self._clock()
        if self._host is None or now - self._host[0] > self.max_age:
            self._host = (now, Host(self.layout.home))
        return self._host[1]

    def read(self) -> HostOverview:
        with self._lock:
            host = self._current_host()
            disk, oldest = self._disk()
            apps = len(self._releases)
        web = host.web
        try:
            routes = web.store.load()
            vhosts, mounts = len(routes.vhosts), len(routes.mounts)
        except AppPackageError:  # a damaged table: pyapp web status says what is wrong
            vhosts = mounts = 0
        free, size = _file_system(self.layout.home)
        return HostOverview(
            apps=apps, supervisor=_supervisor(host.daemons), web_server=web.state(),
            vhosts=vhosts, mounts=mounts, disk={**disk, "free": free, "size": size},
            measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(oldest)),
        )  # fmt: skip

    def _disk(self) -> tuple[dict[str, int], float]:
        """The disk use of the apps (the caller holds the lock), and when the oldest size was measured."""
        totals = {"releases": 0, "shared": 0, "data": 0, "backups": 0}
        oldest = time.time()
        names = [n for n in self.layout.app_names() if self.layout.app(n).releases.is_dir()]
        for name in names:
            app = self.layout.app(name)
            ids = frozenset(app.release_ids())
            kept = self._releases.get(name)
            if kept is None or kept[0] != ids:
                seen: set[tuple[int, int]] = set()  # hard links shared between its releases count once
                kept = self._releases[name] = (ids, sum(disk_usage(app.releases / rid, seen) for rid in ids))
            totals["releases"] += kept[1]
            for kind, path in (("data", app.data), ("backups", app.backups)):
                size, when = self._aged((name, kind), path)
                totals[kind] += size
                oldest = min(oldest, when)
        for gone in set(self._releases) - set(names):
            del self._releases[gone]
            for kind in ("data", "backups"):
                self._measured.pop((gone, kind), None)
        entries: frozenset[str] = frozenset()
        with contextlib.suppress(FileNotFoundError):
            entries = frozenset(os.listdir(self.layout.server_packages))
        if self._shared is None or self._shared[0] != entries:
            self._shared = (entries, disk_usage(self.layout.server_packages))
        totals["shared"] = self._shared[1]
        return totals, oldest

    def _aged(self, key: tuple[str, str], path: Path) -> tuple[int, float]:
        """The size of *path*, measured again when older than :attr:`max_age`; and when it was measured."""
        now = self._clock()
        kept = self._measured.get(key)
        if kept is None or now - kept[0] > self.max_age:
            kept = self._measured[key] = (now, time.time(), disk_usage(path))
        return kept[2], kept[1]
