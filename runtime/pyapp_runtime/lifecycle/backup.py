"""Backups of an app: its ``backup`` hook's output, its configuration and its data, in one archive.

A backup runs the current release's ``backup`` hook (spec section 3.13) with
``backup_path`` set to a new directory under ``apps/<name>/backups/``, then writes
``apps/<name>/backups/<name>-<version>-<stamp>.tar.gz`` holding
``pyapp-backup.json`` (what and when: the version and data version of the release that
made it and, for a backup taken before an update, the version and data version updated
to: spec section 3.19), ``config.yaml``, ``data/`` and ``hook/``
(what the hook wrote). Restoring replaces ``data/`` and the configuration; the
hook's part is unpacked next to the backups for the app's own tools.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import BadBackup
from ..layout import AppLayout
from ..releases.release import Release
from .hooks import HookRun, run_release_hook

__all__ = [
    "MANIFEST",
    "BackupFile",
    "BackupResult",
    "create_backup",
    "extract_backup",
    "list_backups",
    "manifest_data_version",
    "prune_backups",
    "read_manifest",
]

MANIFEST = "pyapp-backup.json"
BACKUP_FORMAT = 1
PRE_UPDATE = "pre-update"


@dataclass(frozen=True, kw_only=True)
class BackupResult:
    """A backup archive that was written."""

    name: str
    version: str
    release: str
    archive: str
    size: int
    reason: str
    created: str
    data_version: int = 0
    """The data version of the release that made it (spec section 3.19)."""
    to_version: str | None = None
    """Before an update: the version updated to."""
    hook: HookRun | None = None
    skipped: tuple[str, ...] = ()
    """Entries of data/ left out (sockets, links and other non-regular files)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "release": self.release,
            "archive": self.archive,
            "size": self.size,
            "reason": self.reason,
            "created": self.created,
            "data_version": self.data_version,
            "to_version": self.to_version,
            "hook": self.hook.to_dict() if self.hook else None,
            "skipped": list(self.skipped),
        }


@dataclass(frozen=True, kw_only=True)
class BackupFile:
    """A backup archive kept in ``apps/<name>/backups/``: its file name, size, when it was written, and what
    its manifest says (``version`` and ``reason`` empty, ``data_version`` ``None``, when the archive cannot
    be read)."""

    name: str
    path: Path
    size: int
    created: str
    version: str = ""
    reason: str = ""
    data_version: int | None = None
    """The data version of the data it holds: the release's that made it (spec section 3.19). A backup made
    before the host recorded it: the data version of its release if that is still here, else 0."""
    to_version: str = ""
    """Before an update: the version updated to (empty when not recorded)."""
    to_data_version: int | None = None
    """Before an update: the data version updated to (``None``: not recorded)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "created": self.created,
            "version": self.version,
            "reason": self.reason,
            "data_version": self.data_version,
            "to_version": self.to_version or None,
        }


def list_backups(app: AppLayout, *, manifests: bool = True) -> list[BackupFile]:
    """The backup archives of *app*, the newest first; with *manifests*, each one's version and reason."""
    found = []
    for path in app.backups.glob("*.tar.gz"):
        try:
            st = path.stat()
        except FileNotFoundError:  # pruned meanwhile
            continue
        manifest: dict[str, Any] = {}
        if manifests:
            with contextlib.suppress(BadBackup):  # not one: listed by its file alone
                manifest = read_manifest(path)
        found.append(
            BackupFile(
                name=path.name, path=path, size=st.st_size,
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
                version=str(manifest.get("version", "")), reason=str(manifest.get("reason", "")),
                data_version=manifest_data_version(app, manifest) if manifest else None,
                to_version=str(manifest.get("to_version") or ""),
                to_data_version=_int_or_none(manifest.get("to_data_version")),
            )
        )  # fmt: skip
    found.sort(key=lambda b: (b.created, b.name), reverse=True)
    return found


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def manifest_data_version(app: AppLayout, manifest: Mapping[str, Any]) -> int:
    """The data version of the data a backup holds (spec section 3.19), from its *manifest*: as recorded, else
    (a backup made before the host recorded it) its release's if that is still here, else 0."""
    recorded = _int_or_none(manifest.get("data_version"))
    if recorded is not None:
        return recorded
    rid = str(manifest.get("release") or "")
    if rid and not rid.startswith(".") and "/" not in rid and (app.releases / rid).is_dir():
        return Release.load(app.releases / rid).data_version
    return 0


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}Z"


def create_backup(
    app: AppLayout,
    release: Release,
    *,
    config: Mapping[str, Any],
    reason: str = "manual",
    output: Path | None = None,
    to_version: str | None = None,
    to_data_version: int | None = None,
) -> BackupResult:
    """Run *release*'s backup hook and write the archive; raise :class:`HookFailed` when the hook fails.

    Before an update, *to_version* and *to_data_version* are the version and data version it updates to: the
    manifest keeps them, so that a rollback below the data version finds this backup (spec section 3.19).
    """
    stamp = _stamp()
    app.backups.mkdir(parents=True, exist_ok=True)
    os.chmod(app.backups, 0o700)
    suffix = f"-{PRE_UPDATE}" if reason == PRE_UPDATE else ""
    hook_dir = app.backups / f"{stamp}-{release.version}{suffix}"
    hook_dir.mkdir()
    archive = output or app.backups / f"{app.name}-{release.version}-{stamp}{suffix}.tar.gz"
    tmp = archive.with_name(f".{archive.name}.tmp")
    skipped: list[str] = []
    try:
        # from_version and to_version only at an update (spec sections 6.3, 7.5); otherwise null.
        hook = run_release_hook(
            "backup", release.path, config=config, backup_path=str(hook_dir),
            from_version=release.version if to_version else None, to_version=to_version,
        )  # fmt: skip
        manifest = {
            "format": BACKUP_FORMAT,
            "name": app.name,
            "version": release.version,
            "release": release.id,
            "reason": reason,
            "created": stamp,
            "data_version": release.data_version,
            **({"to_version": to_version, "to_data_version": to_data_version} if to_version else {}),
        }

        def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            if info.isfile() or info.isdir():
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                return info
            skipped.append(info.name)
            return None

        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
            if app.config_file.exists():
                tar.add(app.config_file, "config.yaml", filter=keep)
            if app.data.is_dir():
                tar.add(app.data, "data", filter=keep)
            tar.add(hook_dir, "hook", filter=keep)
        os.replace(tmp, archive)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(hook_dir, ignore_errors=True)
    return BackupResult(
        name=app.name,
        version=release.version,
        release=release.id,
        archive=str(archive),
        size=archive.stat().st_size,
        reason=reason,
        created=stamp,
        data_version=release.data_version,
        to_version=to_version,
        hook=hook,
        skipped=tuple(skipped),
    )


def prune_backups(app: AppLayout, keep: int) -> list[Path]:
    """Delete the automatic (pre-update) backups beyond the *keep* newest; manual ones are never deleted."""
    found = sorted(app.backups.glob(f"*-{PRE_UPDATE}.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = found[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _member_problem(member: tarfile.TarInfo) -> str | None:
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or "\\" in name:
        return "would be written outside the target"
    if not (member.isfile() or member.isdir()):
        return "is not a regular file or directory"
    if parts and parts[0] not in (MANIFEST, "config.yaml", "data", "hook"):
        return "is not part of a pyapp backup"
    return None


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive; raise :class:`BadBackup` when it is not one."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BadBackup(f"{archive}: not a pyapp backup archive ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BadBackup(f"{archive}: {MANIFEST} is not a format {BACKUP_FORMAT} backup manifest")
    return manifest


def extract_backup(archive: Path, target: Path, name: str) -> dict[str, Any]:
    """Check every member of *archive*, then extract it into *target* (created); return the manifest."""
    manifest = read_manifest(archive)
    if manifest.get("name") != name:
        raise BadBackup(f"{archive} is a backup of {manifest.get('name')!r}, not of {name!r}")
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            problem = _member_problem(member)
            if problem:
                raise BadBackup(f"{archive}: entry {member.name!r} {problem}")
        target.mkdir(parents=True, exist_ok=True)
        for member in members:
            dest = target / member.name
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            if src is None:
                continue
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(dest, (stat.S_IMODE(member.mode) & 0o777) | 0o600)
    return manifest
