"""Restoring an app's data and configuration from a backup archive (see :mod:`.backup`).

``data/`` is swapped as a whole: the archive's copy is unpacked next to it, the
old one moved aside and the new one moved in, all journaled, so a crash leaves
either the old data or the restored data, never a mix.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from apppackage.package import AppPackage

from .._plain import Plain
from ..appconfig.values import ConfigChange, load_values, reconcile, write_config_files
from ..errors import BadBackup
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..releases.release import Release, version_key
from .backup import extract_backup, read_manifest
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
            restored = load_values(staging / "config.yaml") or {}
            change = reconcile(package.config_spec, restored, what=f"the configuration in {archive.name}")
            journal.update(data_saved=str(saved), cleanup=[str(saved), str(staging)])
            os.rename(app.data, saved)
            if (staging / "data").is_dir():
                os.rename(staging / "data", app.data)
            else:
                app.data.mkdir()
            write_config_files(app, package, change.values)
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
    )  # fmt: skip
