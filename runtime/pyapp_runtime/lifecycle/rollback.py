"""Rolling an app back to an earlier release (its data stays as it is).

The configuration is carried over to the target release's spec like an update
does, except that values of fields the current release no longer has come back
from the values in use when the target was last active. A release whose data
version is lower than the data's is refused unless forced (spec section 3.19):
the refusal names the backup to restore first (:mod:`.dataversion`).
"""

from __future__ import annotations

from dataclasses import dataclass

from apppackage.package import AppPackage

from .._plain import Plain
from ..appconfig.values import ConfigChange, load_stored, reconcile, release_spec, write_config_files
from ..errors import NoSuchRelease
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..releases.release import (
    Release,
    list_releases,
    read_last_config,
    remember_config,
    switch_link,
    version_key,
)
from .activation import HostContext
from .configure import ensure_services
from .dataversion import check_data_version, data_state, write_data_state
from .journal import Journal

__all__ = ["RollbackResult", "check_rollback", "rollback_app", "rollback_target"]


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
    data_version: int = 0
    """The data version the data is in: a forced rollback to a release of a lower one leaves it there."""
    warnings: tuple[str, ...] = ()


def rollback_target(app: AppLayout, current: Release, to: str | None) -> Release:
    """The release ``previous`` points to, or the newest of version (or id) *to*."""
    releases = [r for r in list_releases(app) if r.id != current.id]
    available = ", ".join(sorted({r.version for r in releases}, key=version_key)) or "none"
    if to is None:
        rid = app.link_target(app.previous)
        if rid is None or not (app.releases / rid).is_dir() or rid == current.id:
            raise NoSuchRelease(
                f"{app.name} has no previous release to roll back to (other releases: {available}; "
                "use --to VERSION)"
            )
        return Release.load(app.releases / rid)
    matching = [r for r in releases if to in (r.version, r.id)]
    if not matching:
        if to in (current.version, current.id):
            raise NoSuchRelease(f"{app.name} {to} is already the current release")
        raise NoSuchRelease(f"{app.name} has no release {to!r} (other releases: {available})")
    return matching[0]


def check_rollback(app: AppLayout, current: Release, target: Release, *, to: str | None) -> None:
    """Refuse (:class:`~pyapp_runtime.errors.DataVersionTooLow`) a rollback to *target* when its data version
    is lower than the data's (spec sections 3.19, 7.7); *to* is how the operator named it."""
    command = f"pyapp rollback {app.name}" + (f" --to {to}" if to else "")
    check_data_version(
        app, current, target=f"{app.name} {target.version}", target_data_version=target.data_version,
        doing=f"roll {app.name} back to {target.version}", verb="roll back", again=command,
        force=f"{command} --force",
    )  # fmt: skip


def rollback_app(
    ctx: HostContext,
    app: AppLayout,
    current: Release,
    *,
    to: str | None,
    recovered: str | None,
    force: bool = False,
) -> RollbackResult:
    """Switch *app* from *current* to its rollback target (the caller holds the app's lock); with *force*, a
    target of a lower data version than the data's too (spec section 3.19)."""
    target = rollback_target(app, current, to)
    data = data_state(app, current)
    warnings: tuple[str, ...] = ()
    if data is not None and target.data_version < data.data_version:
        if not force:
            check_rollback(app, current, target, to=to)
        warnings = (
            f"{app.name} {target.version} keeps its data in data version {target.data_version} and the "
            f"data stays in data version {data.data_version}, which its code may not read (rolled back with "
            "--force)",
        )
    old_spec = release_spec(current.path)
    old_values = load_stored(app.config_file, old_spec) or {}
    with AppPackage(target.path) as package:
        change = reconcile(
            package.config_spec, old_values, remembered=read_last_config(target.path), previous=old_spec,
            what=f"the configuration of {app.name} {target.version}",
        )  # fmt: skip
        new_launch, old_launch = LaunchSpec.read(target.path), LaunchSpec.read(current.path)
        ensure_services(app, new_launch)  # spec section 3.9: no start without its required services
        journal = Journal(app)
        journal.begin("rollback", new_release=target.id, reused=True)
        try:
            ctx.activator.prepare(app.name, new_launch, old_launch, config=change.values)
            remember_config(current.path, old_values)
            write_config_files(app, package, change.stored)
            if data is not None:  # a rollback leaves the data as it is: so does its record
                write_data_state(app, data)
            switch_link(app.previous, current.id)
            switch_link(app.current, target.id)
            journal.commit()
        except BaseException:
            journal.abort()
            ctx.activator.abort(app.name, new_launch, old_launch)
            raise
    ctx.activator.commit(app.name, new_launch, old_launch)
    return RollbackResult(
        name=app.name, from_version=current.version, from_release=current.id,
        version=target.version, release=target.id, config=change, recovered=recovered,
        data_version=data.data_version if data is not None else target.data_version, warnings=warnings,
    )  # fmt: skip
