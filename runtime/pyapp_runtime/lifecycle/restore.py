"""Restoring an app's data and configuration from a backup archive (see :mod:`.backup`).

``data/`` is swapped as a whole: the archive's copy is unpacked next to it, the
old one moved aside and the new one moved in, all journaled, so a crash leaves
either the old data or the restored data, never a mix. The data is then in the
backup's data version (spec section 3.19): restoring the backup taken before an
update is what lets a rollback below that update's data version through.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from apppackage.package import AppPackage

from .._plain import Plain
from ..appconfig.values import ConfigChange, load_stored, reconcile, write_config_files
from ..errors import BadBackup
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..releases.release import Release, version_key
from .backup import extract_backup, manifest_data_version, read_manifest
from .dataversion import DataState, write_data_state
from .journal import Journal

__all__ = ["RestoreResult", "restore_backup"]


@dataclass(frozen=True, kw_only=True)
class RestoreResult(Plain):
    name: str
    archive: str
    backup_version: str
    version: str
    hook_files: str | None = None
    """Where the backup hook's own files were unpacked, if the archive had any."""
    config: ConfigChange | None = None
    recovered: str | None = None
    data_version: int = 0
    """The data version of the restored data (the backup's, spec section 3.19)."""
    note: str | None = None
    """What to do next: roll back, when the current release keeps its data in a higher data version."""


def restore_backup(
    app: AppLayout, current: Release, archive: Path, *, force: bool, recovered: str | None
) -> RestoreResult:
    """Replace *app*'s data and configuration with *archive*'s (the caller holds the app's lock)."""
    manifest = read_manifest(archive)
    backup_version = str(manifest.get("version", ""))
    if version_key(backup_version) > version_key(current.version) and not force:
        raise BadBackup(
            f"{archive} was made by {app.name} {backup_version}, newer than the current {current.version}: "
            "its data may not be readable by older code (pass --force to restore it anyway)"
        )
    app.data.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    staging = app.dir / f".restore-{stamp}-{os.getpid()}"
    saved = app.dir / f".data-before-restore-{stamp}-{os.getpid()}"
    journal = Journal(app)
    journal.begin("restore", staging=[str(staging)])
    hook_files = None
    try:
        extract_backup(archive, staging, app.name)
        with AppPackage(current.path) as package:
            restored = load_stored(staging / "config.yaml", package.config_spec) or {}
            change = reconcile(
                package.config_spec, restored, previous=package.config_spec,
                what=f"the configuration in {archive.name}",
            )  # fmt: skip
            journal.update(data_saved=str(saved), cleanup=[str(saved), str(staging)])
            os.rename(app.data, saved)
            if (staging / "data").is_dir():
                os.rename(staging / "data", app.data)
            else:
                app.data.mkdir()
            write_config_files(app, package, change.stored)
        data_version = manifest_data_version(app, manifest)
        write_data_state(app, DataState(data_version=data_version, since=f"the restore of {archive.name}"))
        if (staging / "hook").is_dir() and any((staging / "hook").iterdir()):
            hook_files = app.backups / f"restored-{stamp}"
            app.backups.mkdir(parents=True, exist_ok=True)
            os.rename(staging / "hook", hook_files)
        for writable in LaunchSpec.read(current.path).writable.values():
            Path(writable).mkdir(parents=True, exist_ok=True)
        journal.commit()
    except BaseException:
        journal.abort()
        raise
    return RestoreResult(
        name=app.name, archive=str(archive), backup_version=backup_version, version=current.version,
        hook_files=str(hook_files) if hook_files else None, config=change, recovered=recovered,
        data_version=data_version, note=_next_step(app, current, backup_version, data_version),
    )  # fmt: skip


def _next_step(app: AppLayout, current: Release, backup_version: str, data_version: int) -> str | None:
    if data_version >= current.data_version:
        return None
    return (
        f"the restored data is in data version {data_version} and {app.name} {current.version} keeps its "
        f"data in data version {current.data_version}, so its processes were not started on it: roll back to "
        "the release that made the backup "
        f"(pyapp rollback {app.name} --to {backup_version})"
    )
