"""What the :class:`~pyapp_runtime.Host` operations return: frozen dataclasses with ``to_dict`` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._plain import Plain
from ..appconfig.values import ConfigChange
from ..dependencies.choose import PlacedDistribution
from ..dependencies.requirements import Hint
from ..releases.release import Release
from .backup import BackupResult
from .hooks import HookRun
from .removal import GarbageReport

__all__ = [
    "AppInfo",
    "AppSummary",
    "ConfigInfo",
    "ConfigResult",
    "InstallResult",
    "ReleaseInfo",
    "RemoveResult",
    "RestoreResult",
    "RollbackResult",
]


@dataclass(frozen=True, kw_only=True)
class InstallResult(Plain):
    """An install or update: what is current now, and everything that happened on the way."""

    name: str
    version: str
    release: str
    action: str
    """``installed`` (first install), ``updated``, ``downgraded``/``reinstalled`` (forced), ``unchanged``."""
    path: str
    previous_version: str | None = None
    config_file: str = ""
    dependencies: tuple[PlacedDistribution, ...] = ()
    hooks: tuple[HookRun, ...] = ()
    hints: tuple[Hint, ...] = ()
    unchecked: tuple[str, ...] = ()
    """Requirements this host cannot check (spec section 3.3)."""
    config: ConfigChange | None = None
    backup: BackupResult | None = None
    removed_releases: tuple[str, ...] = ()
    garbage: GarbageReport | None = None
    size: int = 0
    """Bytes the new release uses (its shared dependencies not counted)."""
    recovered: str | None = None
    warnings: tuple[str, ...] = ()
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "duration": round(self.duration, 3)}


@dataclass(frozen=True, kw_only=True)
class AppSummary(Plain):
    """One line of ``pyapp list``."""

    name: str
    version: str | None
    release: str | None
    installed_at: str = ""
    busy: int | None = None
    """The pid of a command holding the app's lock, if any."""
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReleaseInfo:
    """A release with its state and the disk it uses."""

    release: Release
    current: bool
    previous: bool
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.release.to_dict(),
            "current": self.current,
            "previous": self.previous,
            "size": self.size,
        }


@dataclass(frozen=True, kw_only=True)
class AppInfo(Plain):
    """``pyapp show``: an app's releases, paths, sizes, backups."""

    name: str
    version: str | None
    release: str | None
    path: str
    config_file: str
    app_config_file: str
    data_path: str
    releases: tuple[ReleaseInfo, ...] = ()
    disk: dict[str, int] = field(default_factory=dict)
    """Bytes: ``releases``, ``shared`` (server-packages its releases use), ``data``, ``backups``, ``total``"""
    backups: tuple[dict[str, Any], ...] = ()
    wsgi: str | None = None
    commands: tuple[str, ...] = ()
    busy: int | None = None
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class RollbackResult(Plain):
    """Which release was current before and which is now."""

    name: str
    from_version: str
    from_release: str
    version: str
    release: str
    config: ConfigChange | None = None
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemoveResult(Plain):
    name: str
    version: str | None
    removed_releases: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    """Paths left in place (``--keep-data``, ``--backup``)."""
    hook: HookRun | None = None
    backup: BackupResult | None = None
    garbage: GarbageReport | None = None
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConfigInfo(Plain):
    """``pyapp config NAME show``: the values (secrets masked unless asked) and the spec's fields."""

    name: str
    version: str
    file: str
    app_config_file: str
    format: str
    values: dict[str, Any]
    fields: tuple[dict[str, Any], ...] = ()
    masked: bool = True


@dataclass(frozen=True, kw_only=True)
class ConfigResult(Plain):
    """A configuration change that was validated and written."""

    name: str
    file: str
    changed: tuple[str, ...]
    values: dict[str, Any]
    """The new values, secrets masked."""


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
