"""Removing an app (spec section 7.8): stop it, optionally back it up, run ``uninstall``, delete it."""

from __future__ import annotations

from dataclasses import dataclass

from apppackage.errors import HookFailed

from .._plain import Plain
from ..appconfig.values import filled_values
from ..errors import InstallHookFailed, NoSuchApp
from ..isolation.perms import forget_identity
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..releases.release import current_release
from .activation import HostContext
from .backup import BackupResult, create_backup
from .hooks import HookRun, run_release_hook
from .journal import Journal
from .removal import GarbageReport, collect_garbage, delete_app

__all__ = ["RemoveResult", "remove_app"]


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


def remove_app(
    ctx: HostContext,
    app: AppLayout,
    *,
    keep_data: bool,
    backup: bool,
    force: bool,
    recovered: str | None,
) -> RemoveResult:
    """Remove *app* (the caller holds its lock). A failing backup or uninstall hook aborts, unless *force*.

    With *keep_data*, ``data/``, ``logs/``, ``config.yaml`` and ``backups/`` stay; with
    *backup*, ``backups/`` stays and holds the backup taken first.
    """
    if not app.dir.exists():
        raise NoSuchApp(app.name, str(app.host.home))
    current = current_release(app)
    values = filled_values(app.config_file, current.path) if current is not None else {}
    launch = LaunchSpec.read(current.path) if current else None
    hook: HookRun | None = None
    archive: BackupResult | None = None
    if current is not None:
        ctx.activator.remove(app.name, launch)
        try:
            if backup:
                archive = create_backup(app, current, config=values, reason="remove")
            # from_version, to_version and backup_path are null for uninstall (spec sections 6.3, 7.8).
            hook = run_release_hook("uninstall", current.path, config=values)
        except HookFailed as exc:
            if not force:
                ctx.activator.remove_aborted(app.name, launch)
                raise InstallHookFailed(
                    exc, f"nothing was removed: {app.name} {current.version} is still installed "
                    "(pass --force to remove it anyway)",
                ) from None  # fmt: skip
    releases = tuple(sorted(app.release_ids()))
    journal = Journal(app)
    journal.begin("remove", keep_data=keep_data, keep_backups=backup)
    journal.update(step="deleting")
    delete_app(app, keep_data=keep_data, keep_backups=backup)
    forget_identity(app)  # its user and group go with it; what it kept becomes root's
    journal.commit()
    kept = tuple(str(p) for p in sorted(app.dir.iterdir())) if app.dir.exists() else ()
    return RemoveResult(
        name=app.name, version=current.version if current else None, removed_releases=releases, kept=kept,
        hook=hook, backup=archive, garbage=collect_garbage(app.host), recovered=recovered,
    )  # fmt: skip
