"""The host watched while the server runs: what died is restored, and what the host did by itself joins
the server's history.

A thread calls :func:`pyapp_runtime.boot.watch`: first a boot (every app that should run
started, supervisord and the web server), then every ``watch_interval`` seconds a heal
(supervisord or the web server restarted when they died, programs that keep crashing retried
with back-off). After each round the host's own events (``$PYAPP_HOME/events.jsonl``, written by
whoever healed: this thread, ``pyapp ps``, ``pyapp boot --watch``) are copied into the server's
history as events of actor ``host``, from where the last copy stopped
(``<data>/server/host-events.offset``), and each app's health is checked once
(:mod:`pyapp_server.health`). Stopping the server stops the thread; the apps run on.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

from .events import EventLog

if TYPE_CHECKING:
    from .manager import AppManager

__all__ = ["OFFSET_FILE", "HostWatcher"]

OFFSET_FILE = "host-events.offset"
log = logging.getLogger("pyapp_server")


class HostWatcher:
    """Watches the host of *apps* every *interval* seconds and copies its events into *events*."""

    def __init__(self, apps: AppManager, events: EventLog, state_dir: Path, interval: float) -> None:
        self.apps = apps
        self.events = events
        self.offset_file = state_dir / OFFSET_FILE
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pyapp-host-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop watching; wait up to *timeout* s for a round in progress, then copy the last events."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.copy_events()

    def _run(self) -> None:
        from pyapp_runtime.boot import watch

        try:
            watch(self.apps.host, self._stop, interval=self.interval, report=self._report)
        except Exception:  # the server serves on; the host is healed again at its next start
            log.exception("watching the host failed; it is no longer watched")

    def _report(self, report: Any) -> None:
        from .health import check_health

        for error in report.errors:
            log.warning("healing the host: %s", error)
        self.copy_events()
        try:
            self.apps.health = check_health(self.apps)
        except (OSError, AppPackageError) as exc:
            log.warning("cannot check the apps' health: %s", exc)

    def copy_events(self) -> int:
        """Copy the host's events written since the last copy into the history; how many."""
        from pyapp_runtime.hostevents import read_events
        from pyapp_runtime.layout import HostLayout

        with self._lock:
            try:
                offset = int(self.offset_file.read_text("ascii").strip() or 0)
            except (OSError, ValueError):
                offset = 0
            try:
                found, end = read_events(HostLayout(self.apps.home).events_file, offset)
            except (OSError, AppPackageError) as exc:
                log.warning("cannot read the host's events: %s", exc)
                return 0
            for event in found:
                when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(event.time))
                when += f".{int(event.time * 1000) % 1000:03d}Z"
                self.events.record(
                    event.kind, event.message, app=event.app, outcome=event.outcome, actor="host", time=when
                )
            if end != offset:
                self.offset_file.write_text(f"{end}\n", "ascii")
            return len(found)
