"""Deleting an app's files, and collecting shared dependencies no release uses any more."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

from ..layout import AppLayout, HostLayout
from ..locking import SharedLock
from ..releases.release import META_DIR, RELEASE_JSON, disk_usage

__all__ = ["GarbageReport", "collect_garbage", "delete_app"]

# Kept data is only of use with the values that read it: generated secrets, service URLs. The pinned
# signer stays with it: only packages signed by that key get the data (spec section 2.6); and its data
# version, so that no code of a lower one gets it either (section 3.19).
KEPT_WITH_DATA = (
    "data",
    "logs",
    "config.yaml",
    "services.yaml",
    "signer.json",
    "data-version.json",
    "backups",
)


def delete_app(app: AppLayout, *, keep_data: bool = False, keep_backups: bool = False) -> None:
    """Delete the app's directory; *keep_data* keeps ``data/``, ``logs/``, the configuration and
    service values (``config.yaml``, ``services.yaml``), the pinned signer and ``backups/``,
    *keep_backups* keeps ``backups/``.

    Links go first, so an interrupted deletion never leaves ``current`` pointing at a half-deleted release.
    """
    if not app.dir.exists():
        return
    for link in (app.current, app.previous):
        link.unlink(missing_ok=True)
    kept = KEPT_WITH_DATA if keep_data else ("backups",) if keep_backups else ()
    if not kept:
        shutil.rmtree(app.dir, ignore_errors=True)
        return
    for entry in os.scandir(app.dir):
        if entry.name in kept:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


@dataclass(frozen=True, kw_only=True)
class GarbageReport:
    """Shared dependencies removed because no release references them, and the bytes freed."""

    removed: tuple[str, ...] = ()
    freed: int = 0
    skipped: bool = False
    """True when an install was placing dependencies, so nothing was collected this time."""

    def to_dict(self) -> dict[str, Any]:
        return {"removed": list(self.removed), "freed": self.freed, "skipped": self.skipped}


def referenced_shared(host: HostLayout) -> set[str] | None:
    """Every server-packages entry a release of an app references; ``None`` if a release is unreadable."""
    used: set[str] = set()
    for name in host.app_names():
        app = host.app(name)
        for rid in app.release_ids():
            try:
                info = json.loads((app.releases / rid / META_DIR / RELEASE_JSON).read_text("utf-8"))
            except (OSError, ValueError):
                return None
            used.update(info.get("shared", ()))
    return used


def collect_garbage(host: HostLayout) -> GarbageReport:
    """Remove server-packages entries (and leftover staging dirs) nothing references.

    Runs only when no install holds the server-packages lock; otherwise it skips.
    """
    if not host.server_packages.is_dir():
        return GarbageReport()
    lock = SharedLock(host.server_packages_lock)
    if not lock.acquire(exclusive=True, blocking=False):
        return GarbageReport(skipped=True)
    try:
        used = referenced_shared(host)
        if used is None:  # a release whose references cannot be read: collect nothing rather than guess
            return GarbageReport(skipped=True)
        removed = []
        freed = 0
        for entry in sorted(os.scandir(host.server_packages), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(".staging-") or entry.name not in used:
                path = host.server_packages / entry.name
                freed += disk_usage(path)
                shutil.rmtree(path, ignore_errors=True)
                if not entry.name.startswith("."):
                    removed.append(entry.name)
        return GarbageReport(removed=tuple(removed), freed=freed)
    finally:
        lock.release()
