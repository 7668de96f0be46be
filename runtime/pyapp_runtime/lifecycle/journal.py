"""Transactions on an app: every change is journaled so that a crash never leaves it half-done.

A command that changes an app first writes ``apps/<name>.journal/journal.json``
(what ``current`` and ``previous`` pointed to, copies of the configuration and
service files, of the pinned signer and of the data version, the release being built) and removes it
when done. The next command on the app, holding the app's lock, finds a journal left behind by a
crashed command and
:func:`recover` puts things back: staging dirs and the half-built release are
removed, links, configuration and service values restored, so ``current`` is always a complete
release. A removal, once its uninstall hook passed, is finished instead.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from apppackage.files import write_atomic

from ..faults import pause_point
from ..layout import AppLayout
from ..releases.release import switch_link

__all__ = ["JOURNAL_FILE", "Journal", "recover"]

JOURNAL_FILE = "journal.json"


class Journal:
    """The journal of one app's transaction (at most one at a time: callers hold the app's lock)."""

    def __init__(self, app: AppLayout) -> None:
        self.app = app
        self.dir = app.journal_dir
        self.state: dict[str, Any] = {}

    @property
    def file(self) -> Path:
        return self.dir / JOURNAL_FILE

    def exists(self) -> bool:
        return self.file.exists() or self.dir.exists()

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text("utf-8"))
        except (OSError, ValueError):
            data = {}
        self.state = data if isinstance(data, dict) else {}
        return self.state

    def _write(self) -> None:
        write_atomic(self.file, json.dumps(self.state, indent=2), mode=0o600)

    def begin(self, operation: str, **state: Any) -> None:
        """Record how the app is now: its links, its configuration files, whether it exists at all."""
        app = self.app
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, mode=0o700)
        saved = {}
        saved_files = (app.config_file, *app.app_config_files, app.services_file, app.signer_file)
        for path in (*saved_files, app.data_version_file):
            if path.exists():
                shutil.copy2(path, self.dir / path.name)
                saved[path.name] = True
            else:
                saved[path.name] = False
        self.state = {
            "operation": operation,
            "pid": os.getpid(),
            "started": time.time(),
            "step": "started",
            "app_existed": app.dir.exists(),
            "links": {"current": app.link_target(app.current), "previous": app.link_target(app.previous)},
            "files": saved,
            "new_release": None,
            "reused": False,
            "cleanup": [],
            "data_saved": None,
            "staging": [],
            **state,
        }
        self._write()
        pause_point("started")

    def update(self, **state: Any) -> None:
        self.state.update(state)
        self._write()
        if "step" in state:
            pause_point(str(state["step"]))

    def commit(self) -> None:
        """Mark the transaction done, delete what it left for cleanup, then the journal."""
        self.update(step="committed")
        _cleanup(self.state)
        shutil.rmtree(self.dir, ignore_errors=True)

    def abort(self) -> str:
        """Undo the transaction (idempotent: a crash while undoing is undone again next time)."""
        state = self.state or self.load()
        what = _undo(self.app, self.dir, state)
        shutil.rmtree(self.dir, ignore_errors=True)
        return what


def _cleanup(state: dict[str, Any]) -> None:
    for path in state.get("cleanup", ()):
        shutil.rmtree(path, ignore_errors=True)


def _undo(app: AppLayout, journal_dir: Path, state: dict[str, Any]) -> str:
    operation = state.get("operation", "change")
    for path in state.get("staging", ()):
        shutil.rmtree(path, ignore_errors=True)
    for path in app.staging_dirs():
        shutil.rmtree(path, ignore_errors=True)
    if not state:
        # The command died while writing its journal, before it changed anything.
        return f"removed the journal of an interrupted {operation}"
    if not state.get("app_existed", True):
        shutil.rmtree(app.dir, ignore_errors=True)
        return f"undid the interrupted {operation}: the app was not installed before, nothing of it is left"
    links = state.get("links", {})
    if app.dir.exists():
        for link, target in ((app.current, links.get("current")), (app.previous, links.get("previous"))):
            if target is None or (app.releases / target).is_dir():
                switch_link(link, target)
        for name, existed in state.get("files", {}).items():
            saved = journal_dir / name
            if existed and saved.exists():
                write_atomic(app.dir / name, saved.read_bytes())
            elif not existed:
                (app.dir / name).unlink(missing_ok=True)
    new = state.get("new_release")
    if new and not state.get("reused") and new not in links.values():
        shutil.rmtree(app.releases / new, ignore_errors=True)
    saved_data = state.get("data_saved")
    if saved_data and Path(saved_data).is_dir():
        shutil.rmtree(app.data, ignore_errors=True)
        os.rename(saved_data, app.data)
    kept = links.get("current")
    return f"undid the interrupted {operation}" + (f"; release {kept} is current" if kept else "")


def recover(app: AppLayout) -> str | None:
    """Finish or undo a transaction a crashed command left behind; ``None`` when there is none.

    The caller holds the app's lock, so the journal's writer is gone.
    """
    journal = Journal(app)
    if not journal.exists():
        for path in app.staging_dirs():
            shutil.rmtree(path, ignore_errors=True)
        return None
    state = journal.load()
    if state.get("step") == "committed":
        _cleanup(state)
        shutil.rmtree(journal.dir, ignore_errors=True)
        return f"finished the interrupted {state.get('operation', 'change')}"
    if state.get("operation") == "remove" and state.get("step") == "deleting":
        from .removal import delete_app

        delete_app(app, keep_data=bool(state.get("keep_data")), keep_backups=bool(state.get("keep_backups")))
        shutil.rmtree(journal.dir, ignore_errors=True)
        return "finished the interrupted remove"
    return journal.abort()
