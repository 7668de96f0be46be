"""The data version an app's data is in, and what may run on it (spec section 3.19).

Each release records the ``data_version`` of its description (``.pyapp/release.json``). The
data's own is kept in ``apps/<name>/data-version.json``: an install or update puts the data in
the new release's (an update to a lower one, forced, leaves it where it was: no code migrates
data back), a restore in the backup's, a rollback leaves it as it is. The journal keeps a copy,
so a failed or crashed operation puts it back. An app installed before the host kept it: its
current release's.

A rollback or an install that would give the data to code of a lower data version is refused
(:class:`~pyapp_runtime.errors.DataVersionTooLow`) unless forced, naming the backup that holds
the data as that code keeps it: the newest one taken before an update (spec section 7.5, step 2)
by a release of a data version at most the target's, and that did not update to one at most the
target's (before the host recorded where an update went, any such backup).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apppackage.files import write_atomic
from apppackage.package import AppPackage

from .._plain import Plain
from ..errors import DataVersionTooLow
from ..layout import AppLayout
from ..releases.release import Release, version_key

if TYPE_CHECKING:
    from .backup import BackupFile

__all__ = [
    "DataState",
    "check_data_version",
    "data_state",
    "installed_state",
    "package_policy",
    "restoring_backup",
    "write_data_state",
]


@dataclass(frozen=True, kw_only=True)
class DataState(Plain):
    """The data version the app's data is in, and since when (``the update to 2.0.0``...)."""

    data_version: int
    since: str


def data_state(app: AppLayout, current: Release | None) -> DataState | None:
    """The data version of *app*'s data: as recorded, else its *current* release's (``None``: neither)."""
    try:
        raw = json.loads(app.data_version_file.read_text("utf-8"))
        version = raw["data_version"]
        if isinstance(version, int) and not isinstance(version, bool) and version >= 0:
            return DataState(data_version=version, since=str(raw.get("since") or "an earlier operation"))
    except (OSError, ValueError, TypeError, KeyError):
        pass
    if current is None:
        return None
    return DataState(data_version=current.data_version, since=f"{app.name} {current.version}")


def write_data_state(app: AppLayout, state: DataState) -> None:
    """Record *state* (the caller's journal kept the file as it was)."""
    record = {**state.to_dict(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_atomic(app.data_version_file, json.dumps(record, indent=2) + "\n", mode=0o600)


def restoring_backup(app: AppLayout, target_data_version: int) -> BackupFile | None:
    """The newest backup taken before the update that raised the data version above *target_data_version*."""
    from .backup import PRE_UPDATE, list_backups  # a refusal only: what to restore

    for backup in list_backups(app):  # the newest first
        if backup.reason != PRE_UPDATE or backup.data_version is None:
            continue
        raised = backup.to_data_version is None or backup.to_data_version > target_data_version
        if backup.data_version <= target_data_version and raised:
            return backup
    return None


def check_data_version(
    app: AppLayout,
    current: Release | None,
    *,
    target: str,
    target_data_version: int,
    doing: str,
    verb: str,
    again: str,
    force: str,
) -> None:
    """Refuse (:class:`DataVersionTooLow`) to give *app*'s data to code of *target_data_version* when the data
    is in a higher one; *doing*, *verb*, *again* and *force* word the refusal (see the error)."""
    state = data_state(app, current)
    if state is None or target_data_version >= state.data_version:
        return
    backup = restoring_backup(app, target_data_version)
    raised_by = backup.to_version if backup is not None else ""
    raise DataVersionTooLow(
        app=app.name, doing=doing, verb=verb, target=target, target_data_version=target_data_version,
        data_version=state.data_version, since=state.since, backup=str(backup.path) if backup else None,
        backup_data_version=backup.data_version if backup else None, raised_by=raised_by,
        again=again, force=force,
    )  # fmt: skip


def package_policy(
    app: AppLayout, current: Release | None, package: AppPackage, *, force: bool
) -> tuple[str, ...]:
    """Refuse to install *package* when its data version is lower than the data's (spec sections 3.19,
    7.5), unless *force*; forced, the warning that says so."""
    description = package.description
    name, version = description.name, description.version
    command = f"pyapp install {package.path}"
    older = current is not None and version_key(version) <= version_key(current.version)  # --force anyway
    try:
        check_data_version(
            app, current, target=f"{name} {version}", target_data_version=description.data_version,
            doing=f"install {name} {version}", verb="install it",
            again=command + (" --force" if older else ""), force=f"{command} --force",
        )  # fmt: skip
    except DataVersionTooLow as exc:
        if not force:
            raise
        return (
            f"{name} {version} keeps its data in data version {exc.target_data_version} and the data stays "
            f"in data version {exc.data_version}, which its code may not read (installed with --force)",
        )
    return ()


def installed_state(app: AppLayout, current: Release | None, version: str, data_version: int) -> DataState:
    """The data's version once *version* (of *data_version*) is installed over *current*: its own, unless
    that is lower than the data's (a forced install), which no code migrated back."""
    before = data_state(app, current)
    if before is not None and data_version <= before.data_version:
        return before
    how = "the update to" if current is not None else "the install of"
    return DataState(data_version=data_version, since=f"{how} {app.name} {version}")
