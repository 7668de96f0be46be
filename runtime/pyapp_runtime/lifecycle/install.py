"""Installing or updating an app from a package, as one transaction (spec section 7).

First install::

    check, signer -> requirements, services -> configuration -> build release -> services.yaml
          -> install(new) -> verify(new) -> prepare -> pin the signer -> switch current -> commit

Update (spec section 7.5)::

    check, signer pinned (spec section 2.6) -> data version and version policy (sections 3.19, 7.5)
          -> requirements, services -> configuration
          -> build release -> backup(old) -> pre-update(old) -> services.yaml -> clear tmp/
          -> post-update(new) -> verify(new) -> prepare -> (re-pin) -> switch current, previous -> commit
          -> prune old releases

``post-update`` (where migrations belong) runs before the switch, with the new
values in a staged file: the new release's processes then start, and are
health-checked, on migrated data, and a failing ``post-update`` never needs a
switch back. The services' values (section 3.9) are resolved before anything
changes -- a required service without a value refuses the operation -- and written
once the old release's hooks ran, so that the new release's hooks and processes see
the new values and the old release's the old ones. Whatever fails before the commit
is undone by the journal: the previous release stays current with its configuration
and service values, the new release directory is removed, and a failing hook's
error names it and carries its output (what the hooks did to the data stays: the
error names the backup taken first). A crash after the switch is undone the same
way by the next command: the old release becomes current again, with its
configuration and service values.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import HookFailed
from apppackage.files import write_atomic
from apppackage.package import AppPackage

from .._plain import Plain
from ..appconfig.services import (
    ResolvedServices,
    load_services,
    mask,
    resolve,
    write_services,
)
from ..appconfig.values import ConfigChange, load_stored, reconcile, release_spec, write_config_files
from ..dependencies.choose import PlacedDistribution
from ..dependencies.pthfiles import pth_warnings
from ..dependencies.requirements import Hint, check_requirements, enforce
from ..errors import DiskFull, InstallHookFailed, NotAnUpgrade
from ..faults import pause_point
from ..layout import AppLayout, release_id
from ..releases.builder import build_release, package_sha256
from ..releases.launch import LaunchSpec
from ..releases.release import (
    Release,
    current_release,
    disk_usage,
    prune,
    read_last_config,
    remember_config,
    switch_link,
    version_key,
)
from .activation import HostContext
from .dataversion import installed_state, package_policy, write_data_state
from .hooks import HookRun, run_release_hook
from .journal import Journal
from .removal import GarbageReport, collect_garbage
from .trust import TrustDecision, check_signer, read_pin, write_pin

if TYPE_CHECKING:
    from .backup import BackupResult

__all__ = ["InstallOptions", "InstallResult", "install_package"]


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
    signer: str | None = None
    """The fingerprint of the key that signed the package (spec section 2.6); ``None``: unsigned."""
    repinned_from: str | None = None
    """The key the app was pinned to before (or ``unsigned``) when this install changed it."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "duration": round(self.duration, 3)}


@dataclass(frozen=True, kw_only=True)
class InstallOptions:
    """How to install: see ``pyapp install --help`` for each."""

    force: bool = False
    """Install even when the version is not newer than the current one."""
    settings: tuple[str, ...] = ()
    """``key=value`` configuration values (``--set``)."""
    services: tuple[str, ...] = ()
    """``NAME=VALUE`` service values (``--service``, spec section 3.9)."""
    allow_network: bool = False
    """Download with pip what the bundled wheels do not provide."""
    ignore_requirements: bool = False
    """Install even though requirements of the package are not met here (spec section 3.3); they are
    reported as warnings. Without it such a package is refused, naming every requirement not met."""
    strict: bool = False
    """Accepted for compatibility: requirements not met refuse the install without it too."""
    backup: bool = True
    """Back up (hook and archive) before an update."""
    keep: int = 3
    """How many releases to keep (the current and previous ones are always kept)."""
    trust_key: str | None = None
    """Re-pin the app to the key that signed the package (its fingerprint), or ``unsigned`` (spec section
    2.6, :mod:`~pyapp_runtime.lifecycle.trust`): the package must be signed so."""


def clear_dir(path: Path) -> None:
    """Empty *path* (``tmp/`` on an update), keeping the directory."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def install_package(
    ctx: HostContext, package: AppPackage, app: AppLayout, options: InstallOptions, *, recovered: str | None
) -> InstallResult:
    """Install *package* as app *app* (the caller holds the app's lock and ran recovery)."""
    started = time.monotonic()
    description = package.check()
    name, version = description.name, description.version
    signer = package.signer()  # a signature that does not verify refuses the package (spec section 2.6)
    sha = package_sha256(package)
    rid = release_id(version, sha)
    current = current_release(app)
    trust = check_signer(app, read_pin(app), signer, options.trust_key, package=package.path.name)
    warnings = tuple(str(w) for w in package.warnings)
    if current is not None and current.id == rid:
        if trust.pin:
            write_pin(app, signer, rid)
        return InstallResult(
            name=name, version=version, release=rid, action="unchanged", path=str(current.path),
            previous_version=current.version, recovered=recovered, warnings=warnings,
            duration=time.monotonic() - started, signer=signer, repinned_from=trust.repinned_from,
        )  # fmt: skip
    warnings += package_policy(app, current, package, force=options.force)
    action = "installed"
    if current is not None:
        new_key, old_key = version_key(version), version_key(current.version)
        if new_key > old_key:
            action = "updated"
        elif options.force:
            action = "downgraded" if new_key < old_key else "reinstalled"
        else:
            what = "an older version" if new_key < old_key else "the same version"
            raise NotAnUpgrade(
                f"{name} {current.version} is installed and {package.path.name} holds {version}, {what}; "
                "pass --force to install it anyway"
            )
    report = check_requirements(description.requires)
    unmet = enforce(report, f"{name} {version}", ignore=options.ignore_requirements)
    warnings += tuple(f"requirement not met, installed anyway: {item}" for item in unmet)
    services = resolve(
        description.services, load_services(app.services_file), options.services,
        app=name, data_path=app.data, what=f"{name} {version}",
    )  # fmt: skip
    spec = package.config_spec
    assignments = spec.parse_assignments(options.settings)
    # The operator's values; the current release ran with them filled in by its own spec's defaults.
    old_spec = release_spec(current.path) if current is not None else spec
    old_values = load_stored(app.config_file, old_spec)
    reused = (app.releases / rid).is_dir()
    change = reconcile(
        spec, old_values, assignments=assignments,
        remembered=read_last_config(app.releases / rid) if reused else None,
        previous=old_spec if current is not None else None, what=f"the configuration of {name} {version}",
    )  # fmt: skip
    journal = Journal(app)
    journal.begin("install", new_release=rid, reused=reused, version=version)
    run = _Run(
        ctx=ctx, app=app, package=package, journal=journal, current=current, rid=rid, services=services,
        trust=trust,
    )  # fmt: skip
    try:
        placed = run.build(sha, options.allow_network) if not reused else ()
        run.hooks_before(change, old_spec.fill(old_values or {}), backup=options.backup)
        run.activate(change.stored, old_values or {})
        journal.commit()
    except BaseException as exc:
        outcome = run.undo()
        if isinstance(exc, HookFailed):
            raise InstallHookFailed(exc, outcome) from None
        if DiskFull.caused(exc):
            raise DiskFull(getattr(exc, "filename", None) or app.releases, outcome) from exc
        raise
    ctx.activator.commit(name, run.launch, run.old_launch)
    pause_point("old-stopped")
    ignored = pth_warnings(run.launch.sys_path, ctx.layout.home)
    for warning in ignored:
        ctx.progress(f"warning: {warning}")
    warnings += tuple(ignored)
    removed = prune(app, options.keep)
    if run.backup is not None:
        from .backup import prune_backups

        prune_backups(app, ctx.keep_backups)
    garbage = collect_garbage(ctx.layout) if removed else None
    ctx.progress(f"{name} {version} is {action}" + (f" (was {current.version})" if current else ""))
    return InstallResult(
        name=name, version=version, release=rid, action=action, path=str(app.releases / rid),
        previous_version=current.version if current else None,
        config_file=str(app.app_config_file(spec.format)), dependencies=tuple(placed), hooks=tuple(run.hooks),
        hints=report.hints, unchecked=report.unchecked, config=change, backup=run.backup,
        removed_releases=tuple(r.id for r in removed), garbage=garbage, size=disk_usage(app.releases / rid),
        recovered=recovered, warnings=warnings, duration=time.monotonic() - started, signer=signer,
        repinned_from=trust.repinned_from,
    )  # fmt: skip


class _Run:
    """The steps of one install transaction, and how to undo them."""

    def __init__(
        self,
        *,
        ctx: HostContext,
        app: AppLayout,
        package: AppPackage,
        journal: Journal,
        current: Release | None,
        rid: str,
        services: ResolvedServices,
        trust: TrustDecision,
    ) -> None:
        self.ctx = ctx
        self.trust = trust
        self.services = services
        self.app = app
        self.package = package
        self.journal = journal
        self.current = current
        self.rid = rid
        self.new_dir = app.releases / rid
        self.version = package.description.version
        self.hooks: list[HookRun] = []
        self.backup: BackupResult | None = None
        self.prepared = False
        self.touched_data = False
        self.launch: LaunchSpec
        self.old_launch = LaunchSpec.read(current.path) if current is not None else None

    def build(self, sha: str, allow_network: bool) -> tuple[PlacedDistribution, ...]:
        app = self.app
        for path in (app.releases, app.data, app.tmp, app.logs, app.run):
            path.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=app.releases))
        self.journal.update(staging=[str(staging)])
        built = build_release(
            self.package, host=self.ctx.layout, app=app, staging=staging, release=self.rid, sha256=sha,
            config_format=self.package.config_spec.format, allow_network=allow_network,
            python=self.ctx.python, progress=self.ctx.progress, signer=self.trust.signer,
        )  # fmt: skip
        self.journal.update(step="built")
        return built.dependencies

    def _hook(self, hook: str, release_dir: Path, config: dict[str, object], **context: Any) -> None:
        if LaunchSpec.read(release_dir).hook(hook) is not None:
            self.ctx.progress(f"running the {hook} hook")
        ran = run_release_hook(hook, release_dir, config=config, **context)
        if ran is not None:
            self.hooks.append(ran)

    def hooks_before(self, change: ConfigChange, old_values: dict[str, object], *, backup: bool) -> None:
        app, current, values = self.app, self.current, change.values
        self.launch = LaunchSpec.read(self.new_dir)
        for path in (app.data, app.tmp, app.logs, app.run, *map(Path, self.launch.writable.values())):
            path.mkdir(parents=True, exist_ok=True)
        versions = {"from_version": current.version if current else None, "to_version": self.version}
        if current is None:
            write_config_files(app, self.package, change.stored)
            self._write_services()
            self._hook("install", self.new_dir, values, **versions)
            self._hook("verify", self.new_dir, values, **versions)
        else:
            if backup:
                from .backup import PRE_UPDATE, create_backup  # an update only

                self.ctx.progress(f"backing up {app.name} {current.version}")
                self.backup = create_backup(
                    app, current, config=old_values, reason=PRE_UPDATE, to_version=self.version,
                    to_data_version=self.package.description.data_version,
                )  # fmt: skip
                if self.backup.hook is not None:
                    self.hooks.append(self.backup.hook)
            self._hook("pre-update", current.path, old_values, **versions)
            self._write_services()  # after the old release's hooks: they ran with its values
            staged = self.journal.dir / f"staged-{Path(self.launch.config_file).name}"
            write_atomic(staged, self.package.config_spec.render(values))
            clear_dir(app.tmp)  # the new release's code starts with an empty tmp/
            self.touched_data = True
            self._hook("post-update", self.new_dir, values, config_file=staged, **versions)
            self._hook("verify", self.new_dir, values, config_file=staged, **versions)
        self.journal.update(step="hooks-ran")
        self.prepared = True
        self.ctx.activator.prepare(app.name, self.launch, self.old_launch, config=values)

    def _write_services(self) -> None:
        """Write the new values (the journal kept the old file, to put back if this aborts)."""
        app, services = self.app, self.services
        if services.stored() or app.services_file.exists():
            write_services(app.services_file, services.stored(), app=app.name)
        for name in services.provisioned:
            self.ctx.progress(f"provisioned the service {name}: {mask(services.values[name])}")

    def activate(self, stored: dict[str, object], old_values: dict[str, object]) -> None:
        app, current = self.app, self.current
        self.ctx.progress(f"activating {self.rid}")
        if current is not None:
            remember_config(current.path, old_values)
            write_config_files(app, self.package, stored)
            switch_link(app.previous, current.id)
        write_data_state(
            app, installed_state(app, current, self.version, self.package.description.data_version)
        )
        if self.trust.pin:  # the journal kept the old pin, to put back if this aborts
            write_pin(app, self.trust.signer, self.rid)
            if self.trust.repinned_from is not None:
                signer = self.trust.signer or "unsigned"
                self.ctx.progress(f"{app.name} is pinned to {signer} now (was {self.trust.repinned_from})")
        switch_link(app.current, self.rid)
        self.journal.update(step="activated")

    def undo(self) -> str:
        """Undo through the journal and say what the host kept."""
        switched = self.journal.state.get("step") == "activated"
        self.journal.abort()
        if self.prepared:
            self.ctx.activator.abort(self.app.name, self.launch, self.old_launch)
        name, current = self.app.name, self.current
        if current is None:
            return f"nothing was installed: {name} is not on this host"
        kept = (
            f"switched back: {name} {current.version} is the current release again"
            if switched
            else f"nothing changed: {name} {current.version} is still the current release"
        )
        if self.touched_data:
            backup = f"; the backup taken before the update is {self.backup.archive}" if self.backup else ""
            kept += f" (the new release's hooks may have changed its data{backup})"
        return kept
