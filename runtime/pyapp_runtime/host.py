"""``Host``: the apps installed under one ``PYAPP_HOME``, and everything done to them.

Every method that changes an app takes the app's lock (waiting up to *wait*
seconds), first finishes or undoes whatever a crashed command left behind (see
:mod:`pyapp_runtime.lifecycle.journal`), and returns a result with ``to_dict()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from apppackage.configspec import ConfigSpec
from apppackage.errors import AppPackageError, Problem
from apppackage.hooks import RunResult
from apppackage.package import AppPackage

from .appconfig.services import ServicesInfo, ServicesResult
from .appconfig.values import filled_values
from .errors import AppLocked, HostError, NoSuchApp
from .host_processes import HostProcesses
from .isolation.perms import forget_identity
from .isolation.walls import AppWalls, app_walls, raise_walls
from .layout import AppLayout, HostLayout, default_home
from .lifecycle.activation import Activator
from .lifecycle.appinfo import AppInfo, AppSummary, ReleaseInfo, app_info, app_summary, release_infos
from .lifecycle.backup import BackupFile, BackupResult, create_backup, list_backups, read_manifest
from .lifecycle.configure import (
    ConfigInfo,
    ConfigResult,
    change_config,
    change_services,
    config_info,
    show_services,
)
from .lifecycle.install import HostContext, InstallOptions, InstallResult, clear_dir, install_package
from .lifecycle.recovery import recover_app
from .lifecycle.removal import GarbageReport, collect_garbage
from .lifecycle.restore import RestoreResult, restore_backup
from .lifecycle.rollback import RollbackResult, rollback_app
from .lifecycle.trust import parse_trust_key
from .lifecycle.uninstall import RemoveResult, remove_app
from .locking import AppLock
from .processes.daemons import DaemonManager
from .releases.builder import Progress, verify_release
from .releases.launch import LaunchSpec
from .releases.release import Release, current_release
from .settings import HostSettings
from .web.hostweb import HostWeb
from .webservers import Upstream

__all__ = ["DEFAULT_KEEP_RELEASES", "Host"]

DEFAULT_KEEP_RELEASES = 3
WEB_RELOAD_WAIT = 30.0
"""How long a reload for a moved mount waits for another command holding the app's lock."""


class Host(HostProcesses):
    """The apps under *home* (default: :func:`~pyapp_runtime.layout.default_home`).

    *keep_releases* is how many releases an update keeps (the current and previous
    ones always stay); *activator* joins activations (see :mod:`pyapp_runtime.lifecycle.activation`;
    default: :attr:`daemons`, which runs the apps' processes under supervisord when the
    host's *settings* -- default: ``<home>/host.yaml`` -- allow it); *progress* is told
    about each step of long operations; *web_server* overrides the ``web_server`` setting
    for :attr:`web`.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        keep_releases: int = DEFAULT_KEEP_RELEASES,
        keep_backups: int = 3,
        python: str | None = None,
        activator: Activator | None = None,
        progress: Progress | None = None,
        settings: HostSettings | None = None,
        web_server: str | None = None,
    ) -> None:
        self.home = Path(home).expanduser().absolute() if home is not None else default_home().absolute()
        self.layout = HostLayout(self.home)
        self.keep_releases = keep_releases
        self.daemons = DaemonManager(self.layout, settings=settings, progress=progress, route=self._route)
        """The apps' supervised processes (see :mod:`pyapp_runtime.processes.daemons`)."""
        self._web_server = web_server
        self._web: HostWeb | None = None
        self.context = HostContext(
            layout=self.layout,
            python=python or sys.executable,
            activator=activator or self.daemons,
            progress=progress or (lambda _message: None),
            keep_backups=keep_backups,
        )

    def __repr__(self) -> str:
        return f"Host({str(self.home)!r})"

    @property
    def web(self) -> HostWeb:
        """The host's virtual hosts and app mounts, served by its web server (:mod:`pyapp_runtime.web`)."""
        if self._web is None:
            reload = lambda app: self.reload(app, wait=WEB_RELOAD_WAIT)  # noqa: E731
            self._web = HostWeb(self.layout, self.daemons, reload, kind=self._web_server)
        return self._web

    def _route(self, app: str, upstream: Upstream) -> bool:
        return self.web.route(app, upstream)

    def _follow_web(self, name: str) -> None:
        """Serve the static paths of *name*'s new current release (see :meth:`HostWeb.follow`).

        The release is already active: a web server refusing the new paths leaves the previous
        configuration serving, and ``pyapp web apply`` shows why.
        """
        with contextlib.suppress(AppPackageError):
            self.web.follow(name)

    # -- locking and recovery -------------------------------------------------

    @contextmanager
    def locked(
        self, name: str, *, operation: str = "", wait: float = 0.0
    ) -> Iterator[tuple[AppLayout, str | None]]:
        """Hold app *name*'s lock; yield its layout and what recovery did (``None``: nothing to recover)."""
        app = self.layout.app(name)
        with AppLock(app.lock_file, name, operation=operation, wait=wait):
            yield app, recover_app(app, self.context.activator)

    def recover(self, name: str, *, wait: float = 0.0) -> str | None:
        """Finish or undo what a crashed command left behind on app *name* (its files, hooks, processes)."""
        with self.locked(name, operation="recover", wait=wait) as (_app, recovered):
            return recovered

    def recover_all(self, *, wait: float = 0.0) -> dict[str, str]:
        """:meth:`recover` every app (at boot, after a crash of the management server): what was done, by app.

        An app whose lock another command holds is skipped: that command recovers it first.
        """
        done = {}
        for name in sorted(set(self.layout.app_names()) | set(self.layout.journaled_names())):
            with contextlib.suppress(AppLocked):
                recovered = self.recover(name, wait=wait)
                if recovered:
                    done[name] = recovered
        return done

    def _installed(self, app: AppLayout) -> Release:
        current = current_release(app)
        if current is None:
            raise NoSuchApp(app.name, str(self.home))
        return current

    def _spec(self, release: Release) -> ConfigSpec:
        with AppPackage(release.path) as package:
            return package.config_spec

    # -- install --------------------------------------------------------------

    def install(
        self,
        package: str | os.PathLike[str],
        *,
        force: bool = False,
        settings: Sequence[str] = (),
        services: Sequence[str] = (),
        allow_network: bool = False,
        ignore_requirements: bool = False,
        strict: bool = False,
        backup: bool = True,
        keep: int | None = None,
        wait: float = 0.0,
        start: bool = True,
        trust_key: str | None = None,
    ) -> InstallResult:
        """Install a ``.pyapp`` (or a built package directory), or update the app to it.

        The new release's processes start and must pass the health check before it
        becomes current; with ``start=False`` the app is left stopped instead.
        *services* are ``NAME=VALUE`` values of the app's services (spec section 3.9).
        A package whose requirements this host does not meet is refused (:class:`RequirementsNotMet`
        names every one), unless *ignore_requirements* (spec section 3.3). A package not signed by the key
        the app is pinned to is refused (:class:`UntrustedSigner`), unless *trust_key* names its signer's
        fingerprint (or ``unsigned``): that re-pins the app (spec section 2.6, :mod:`.lifecycle.trust`).
        """
        options = InstallOptions(
            force=force, settings=tuple(settings), services=tuple(services), allow_network=allow_network,
            ignore_requirements=ignore_requirements, strict=strict, trust_key=parse_trust_key(trust_key),
            backup=backup, keep=self.keep_releases if keep is None else keep,
        )  # fmt: skip
        with AppPackage(package) as pkg:
            # The description names the app to lock; the whole package is checked under the lock.
            description = pkg.description
            operation = f"install {description.version}"
            starting = nullcontext() if start else self.daemons.not_starting(description.name)
            with starting, self.locked(description.name, operation=operation, wait=wait) as (app, recovered):
                try:
                    result = install_package(self.context, pkg, app, options, recovered=recovered)
                except BaseException:
                    if current_release(app) is None:  # a first install undone: its user goes with it
                        forget_identity(app)
                    raise
        self._follow_web(description.name)
        return result

    # -- reading --------------------------------------------------------------

    def _try_recover(self, name: str) -> tuple[int | None, str | None]:
        try:
            with self.locked(name, operation="read") as (_app, recovered):
                return None, recovered
        except AppLocked as exc:
            return exc.pid or -1, None

    def apps(self) -> list[AppSummary]:
        """Every installed app (a crashed command's leftovers are cleaned up on the way)."""
        names = sorted(set(self.layout.app_names()) | set(self.layout.journaled_names()))
        found = (app_summary(self.layout.app(name), *self._try_recover(name)) for name in names)
        return [summary for summary in found if summary is not None]

    def release(self, name: str) -> Release:
        """The current release of app *name*."""
        return self._installed(self.layout.app(name))

    def launch(self, name: str) -> LaunchSpec:
        """The launch facts of app *name*'s current release (what its processes start from)."""
        return LaunchSpec.read(self.release(name).path)

    def show(self, name: str) -> AppInfo:
        """App *name*: its releases with sizes, paths, disk use and backups."""
        busy, recovered = self._try_recover(name)
        app = self.layout.app(name)
        info = app_info(self.layout, app, self._installed(app), busy=busy, recovered=recovered)
        return dataclasses.replace(info, **self.walls(name).to_dict())

    def releases(self, name: str) -> list[ReleaseInfo]:
        """App *name*'s releases, the most recently installed first: package, current or not, disk use."""
        app = self.layout.app(name)
        return release_infos(app, self._installed(app))

    # -- rollback -------------------------------------------------------------

    def rollback(
        self, name: str, *, to: str | None = None, force: bool = False, wait: float = 0.0
    ) -> RollbackResult:
        """Re-activate the previous release (or the newest release of version *to*); data stays as it is. A
        release of a lower data version than the data's is refused unless *force* (spec section 3.19)."""
        with self.locked(name, operation="rollback", wait=wait) as (app, recovered):
            result = rollback_app(
                self.context, app, self._installed(app), to=to, recovered=recovered, force=force
            )
        self._follow_web(name)
        return result

    # -- remove ---------------------------------------------------------------

    def remove(
        self,
        name: str,
        *,
        keep_data: bool = False,
        backup: bool = False,
        force: bool = False,
        wait: float = 0.0,
    ) -> RemoveResult:
        """Stop the app, back it up if asked, run ``uninstall``, delete it (see :func:`remove_app`)."""
        with self.locked(name, operation="remove", wait=wait) as (app, recovered):
            result = remove_app(
                self.context, app, keep_data=keep_data, backup=backup, force=force, recovered=recovered
            )
        with contextlib.suppress(AppPackageError):  # its mount goes with it; the web server's errors wait
            self.web.forget(name)
        return result

    def verify(self, name: str) -> list[Problem]:
        """Every file of app *name*'s current release that no longer matches the package's RECORD."""
        return verify_release(self.release(name).path)

    def collect_garbage(self) -> GarbageReport:
        """Delete shared dependencies no release of any app uses."""
        return collect_garbage(self.layout)

    # -- configuration ----------------------------------------------------------

    def config(self, name: str, *, show_secrets: bool = False) -> ConfigInfo:
        """App *name*'s configuration values (secrets masked unless *show_secrets*) and its spec."""
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
        with self.locked(name, operation="config", wait=wait) as (app, _recovered):
            return change_config(app, self._installed(app), values, merge=merge, daemons=self.daemons)

    # -- services ---------------------------------------------------------------

    def services(self, name: str) -> ServicesInfo:
        """App *name*'s services (spec section 3.9): declared, provided or not, values masked."""
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
        with self.locked(name, operation="services", wait=wait) as (app, _recovered):
            launch = LaunchSpec.read(self._installed(app).path)
            return change_services(app, launch, assignments, unset=unset, daemons=self.daemons)

    # -- backups ----------------------------------------------------------------

    def backup(
        self, name: str, *, output: str | os.PathLike[str] | None = None, wait: float = 0.0
    ) -> BackupResult:
        """Run the backup hook and archive configuration, data and the hook's files."""
        with self.locked(name, operation="backup", wait=wait) as (app, _recovered):
            current = self._installed(app)
            values = filled_values(app.config_file, current.path)
            return create_backup(app, current, config=values, output=Path(output) if output else None)

    def backups(self, name: str) -> list[BackupFile]:
        """App *name*'s backup archives, the newest first (what :meth:`restore` takes)."""
        app = self.layout.app(name)
        self._installed(app)
        return list_backups(app)

    def restore(
        self, name: str, archive: str | os.PathLike[str], *, force: bool = False, wait: float = 0.0
    ) -> RestoreResult:
        """Replace app *name*'s data and configuration with those of a backup *archive*; a running app's
        processes are then replaced by new ones (as a reload does), which read what was restored -- unless
        its code may not read it (a lower data version, section 3.19): then ``note`` says to roll back."""
        path = Path(archive)
        read_manifest(path)
        with self.locked(name, operation="restore", wait=wait) as (app, recovered):
            current = self._installed(app)
            result = restore_backup(app, current, path, force=force, recovered=recovered)
            if result.data_version >= current.data_version:
                kept = f"{name}'s data and configuration are restored; its processes run on from before"
                self.daemons.reconfigure(name, LaunchSpec.read(current.path), kept=kept)
            return result

    # -- running the app's code -------------------------------------------------

    def run_command(
        self,
        name: str,
        command: str,
        argv: Sequence[str] = (),
        *,
        capture: bool = False,
        timeout: float | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> RunResult:
        """Run command *command* of app *name*'s current release, in its environment (spec section 6.2),
        as the app's user and in its sandbox (where *cwd* must be one of the app's directories)."""
        release = self.release(name)
        launch = LaunchSpec.read(release.path)
        launcher = raise_walls(self.layout, name, self.daemons.settings, launch=launch).launcher(launch)
        with AppPackage(release.path) as package:
            return package.run_command(
                command, argv, env=launch.environment(), capture=capture, timeout=timeout, cwd=cwd,
                launcher=launcher,
            )  # fmt: skip

    def walls(self, name: str) -> AppWalls:
        """What stands between app *name* and the rest of the host (docs/trust-model.md)."""
        return app_walls(self.layout, name, self.daemons.settings, python=self.launch(name).python)

    def clear_tmp(self, name: str) -> None:
        """Empty app *name*'s ``tmp/``."""
        clear_dir(self.layout.app(name).tmp)

    def is_installed(self, name: str) -> bool:
        try:
            return current_release(self.layout.app(name)) is not None
        except HostError:
            return False
