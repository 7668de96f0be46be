"""What a :class:`~pyapp_runtime.Host` does with its apps' configuration, services and backups.

Each operation imports its module of :mod:`pyapp_runtime.lifecycle` when called (as
:class:`~pyapp_runtime.Host` does). A change takes the app's lock like every change of an app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os

    from apppackage.configspec import ConfigSpec

    from .appconfig.services import ServicesInfo, ServicesResult
    from .layout import AppLayout, HostLayout
    from .lifecycle.backup import BackupFile, BackupResult
    from .lifecycle.configure import ConfigInfo, ConfigResult
    from .lifecycle.restore import RestoreResult
    from .processes.daemons import DaemonManager
    from .releases.release import Release

__all__ = ["HostData"]


class HostData:
    """The configuration, services and backup operations of :class:`~pyapp_runtime.Host` (a base class
    of it)."""

    layout: HostLayout

    if TYPE_CHECKING:  # what Host, the class this is a base of, gives these operations

        @property
        def daemons(self) -> DaemonManager: ...

        def locked(
            self, name: str, *, operation: str = "", wait: float = 0.0
        ) -> AbstractContextManager[tuple[AppLayout, str | None]]: ...

        def _installed(self, app: AppLayout) -> Release: ...

    def _spec(self, release: Release) -> ConfigSpec:
        from apppackage.package import AppPackage

        with AppPackage(release.path) as package:
            return package.config_spec

    # -- configuration ----------------------------------------------------------

    def config(self, name: str, *, show_secrets: bool = False) -> ConfigInfo:
        """App *name*'s configuration values (secrets masked unless *show_secrets*) and its spec."""
        from .lifecycle.configure import config_info

        app = self.layout.app(name)
        return config_info(app, self._installed(app), show_secrets=show_secrets)

    def set_config(self, name: str, assignments: Sequence[str], *, wait: float = 0.0) -> ConfigResult:
        """Validate ``key=value`` *assignments* against the spec and write them (atomically, mode 0600)."""
        app = self.layout.app(name)
        parsed = self._spec(self._installed(app)).parse_assignments(assignments, "config set")
        return self.replace_config(name, parsed, merge=True, wait=wait)

    def replace_config(
        self, name: str, values: Mapping[str, Any], *, merge: bool = False, wait: float = 0.0
    ) -> ConfigResult:
        """Validate *values* (all of them, or merged into the current ones) and write them (see
        :func:`~pyapp_runtime.lifecycle.configure.change_config`)."""
        from .lifecycle.configure import change_config

        with self.locked(name, operation="config", wait=wait) as (app, _recovered):
            return change_config(app, self._installed(app), values, merge=merge, daemons=self.daemons)

    # -- services ---------------------------------------------------------------

    def services(self, name: str) -> ServicesInfo:
        """App *name*'s services (spec section 3.9): declared, provided or not, values masked."""
        from .lifecycle.configure import show_services
        from .releases.launch import LaunchSpec

        app = self.layout.app(name)
        return show_services(app, LaunchSpec.read(self._installed(app).path))

    def set_services(
        self,
        name: str,
        assignments: Sequence[str] | Mapping[str, str] = (),
        *,
        unset: Sequence[str] = (),
        wait: float = 0.0,
    ) -> ServicesResult:
        """Check and write ``NAME=VALUE`` *assignments* and *unset* names; restart running processes."""
        from .lifecycle.configure import change_services
        from .releases.launch import LaunchSpec

        with self.locked(name, operation="services", wait=wait) as (app, _recovered):
            launch = LaunchSpec.read(self._installed(app).path)
            return change_services(app, launch, assignments, unset=unset, daemons=self.daemons)

    # -- backups ----------------------------------------------------------------

    def backup(
        self, name: str, *, output: str | os.PathLike[str] | None = None, wait: float = 0.0
    ) -> BackupResult:
        """Run the backup hook and archive configuration, data and the hook's files."""
        from .appconfig.values import filled_values
        from .lifecycle.backup import create_backup

        with self.locked(name, operation="backup", wait=wait) as (app, _recovered):
            current = self._installed(app)
            values = filled_values(app.config_file, current.path)
            return create_backup(app, current, config=values, output=Path(output) if output else None)

    def backups(self, name: str) -> list[BackupFile]:
        """App *name*'s backup archives, the newest first (what :meth:`restore` takes)."""
        from .lifecycle.backup import list_backups

        app = self.layout.app(name)
        self._installed(app)
        return list_backups(app)

    def restore(
        self, name: str, archive: str | os.PathLike[str], *, force: bool = False, wait: float = 0.0
    ) -> RestoreResult:
        """Replace app *name*'s data and configuration with those of a backup *archive*; a running app's
        processes are then replaced by new ones (as a reload does), which read what was restored -- unless
        its code may not read it (a lower data version, section 3.19): then ``note`` says to roll back."""
        from .lifecycle.backup import read_manifest
        from .lifecycle.restore import restore_backup
        from .releases.launch import LaunchSpec

        path = Path(archive)
        read_manifest(path)
        with self.locked(name, operation="restore", wait=wait) as (app, recovered):
            current = self._installed(app)
            result = restore_backup(app, current, path, force=force, recovered=recovered)
            if result.data_version >= current.data_version:
                kept = f"{name}'s data and configuration are restored; its processes run on from before"
                self.daemons.reconfigure(name, LaunchSpec.read(current.path), kept=kept)
            return result
