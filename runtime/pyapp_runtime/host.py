"""``Host``: the apps installed under one ``PYAPP_HOME``, and everything done to them.

Every method that changes an app takes the app's lock (waiting up to *wait*
seconds), first finishes or undoes whatever a crashed command left behind (see
:mod:`pyapp_runtime.lifecycle.journal`), and returns a result with ``to_dict()``.
Each operation imports its module of :mod:`pyapp_runtime.lifecycle` when called, and the
daemons and the web part are made when first used: a command line pays only for what it does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from apppackage.errors import AppPackageError
from apppackage.package import AppPackage

from .errors import AppLocked, HostError, NoSuchApp
from .host_data import HostData
from .host_processes import HostProcesses
from .layout import AppLayout, HostLayout, default_home
from .lifecycle.activation import Activator, HostContext
from .lifecycle.recovery import recover_app
from .locking import AppLock
from .releases.release import Release, current_release

if TYPE_CHECKING:
    from apppackage.errors import Problem
    from apppackage.hooks import RunResult

    from .isolation.walls import AppWalls
    from .lifecycle.appinfo import AppInfo, AppSummary, ReleaseInfo
    from .lifecycle.install import InstallResult
    from .lifecycle.removal import GarbageReport
    from .lifecycle.rollback import RollbackResult
    from .lifecycle.uninstall import RemoveResult
    from .processes.daemons import DaemonManager
    from .releases.builder import Progress
    from .releases.launch import LaunchSpec
    from .settings import HostSettings
    from .web.hostweb import HostWeb
    from .webservers import Upstream

__all__ = ["DEFAULT_KEEP_RELEASES", "Host"]

T = TypeVar("T")

DEFAULT_KEEP_RELEASES = 3
WEB_RELOAD_WAIT = 30.0
"""How long a reload for a moved mount waits for another command holding the app's lock."""


class Host(HostData, HostProcesses):
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
        self._python = python or sys.executable
        self._activator = activator
        self._progress = progress
        self._settings = settings
        self._web_server = web_server
        self._keep_backups = keep_backups
        self._making = threading.RLock()  # the parts made on first use (context, daemons, web): once

    def __repr__(self) -> str:
        return f"Host({str(self.home)!r})"

    def _made(self, name: str, make: Callable[[], T]) -> T:
        """The part *name* of this host, made by *make* on first use: once, whichever thread asks first."""
        part = self.__dict__.get(name)
        if part is None:
            with self._making:
                part = self.__dict__.get(name)
                if part is None:
                    part = self.__dict__[name] = make()
        return cast("T", part)

    @property
    def context(self) -> HostContext:
        """What the operations of :mod:`pyapp_runtime.lifecycle` need from this host."""
        return self._made(
            "_context",
            lambda: HostContext(
                layout=self.layout,
                python=self._python,
                activator=self._activator or self.daemons,
                progress=self._progress or (lambda _message: None),
                keep_backups=self._keep_backups,
            ),
        )

    @property
    def daemons(self) -> DaemonManager:
        """The apps' supervised processes (see :mod:`pyapp_runtime.processes.daemons`)."""

        def make() -> DaemonManager:
            from .processes.daemons import DaemonManager

            return DaemonManager(
                self.layout, settings=self._settings, progress=self._progress, route=self._route
            )

        return self._made("_daemons", make)

    @property
    def web(self) -> HostWeb:
        """The host's virtual hosts and app mounts, served by its web server (:mod:`pyapp_runtime.web`)."""

        def make() -> HostWeb:
            from .web.hostweb import HostWeb

            reload = lambda app: self.reload(app, wait=WEB_RELOAD_WAIT)  # noqa: E731
            return HostWeb(self.layout, self.daemons, reload, kind=self._web_server)

        return self._made("_web", make)

    def _route(self, app: str, upstream: Upstream) -> bool:
        return self.web.route(app, upstream)

    def _follow_web(self, name: str) -> None:
        """Serve the static paths of *name*'s new current release (see :meth:`HostWeb.follow`).

        The release is already active: a web server refusing the new paths leaves the previous
        configuration serving, and ``pyapp web apply`` shows why.
        """
        from .webservers import RouteStore

        with contextlib.suppress(AppPackageError):
            if name in RouteStore(self.layout.webservers).load().mounts:  # else the web part stays unloaded
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
        from .isolation.perms import forget_identity
        from .lifecycle.install import InstallOptions, install_package
        from .lifecycle.trust import parse_trust_key

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
        from .lifecycle.appinfo import app_summary

        names = sorted(set(self.layout.app_names()) | set(self.layout.journaled_names()))
        found = (app_summary(self.layout.app(name), *self._try_recover(name)) for name in names)
        return [summary for summary in found if summary is not None]

    def release(self, name: str) -> Release:
        """The current release of app *name*."""
        return self._installed(self.layout.app(name))

    def launch(self, name: str) -> LaunchSpec:
        """The launch facts of app *name*'s current release (what its processes start from)."""
        from .releases.launch import LaunchSpec

        return LaunchSpec.read(self.release(name).path)

    def show(self, name: str) -> AppInfo:
        """App *name*: its releases with sizes, paths, disk use and backups."""
        import dataclasses

        from .lifecycle.appinfo import app_info

        busy, recovered = self._try_recover(name)
        app = self.layout.app(name)
        info = app_info(self.layout, app, self._installed(app), busy=busy, recovered=recovered)
        return dataclasses.replace(info, **self.walls(name).to_dict())

    def releases(self, name: str) -> list[ReleaseInfo]:
        """App *name*'s releases, the most recently installed first: package, current or not, disk use."""
        from .lifecycle.appinfo import release_infos

        app = self.layout.app(name)
        return release_infos(app, self._installed(app))

    # -- rollback -------------------------------------------------------------

    def rollback(
        self, name: str, *, to: str | None = None, force: bool = False, wait: float = 0.0
    ) -> RollbackResult:
        """Re-activate the previous release (or the newest release of version *to*); data stays as it is. A
        release of a lower data version than the data's is refused unless *force* (spec section 3.19)."""
        from .lifecycle.rollback import rollback_app

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
        from .lifecycle.uninstall import remove_app

        with self.locked(name, operation="remove", wait=wait) as (app, recovered):
            result = remove_app(
                self.context, app, keep_data=keep_data, backup=backup, force=force, recovered=recovered
            )
        with contextlib.suppress(AppPackageError):  # its mount goes with it; the web server's errors wait
            self.web.forget(name)
        return result

    def verify(self, name: str) -> list[Problem]:
        """Every file of app *name*'s current release that no longer matches the package's RECORD."""
        from .releases.builder import verify_release

        return verify_release(self.release(name).path)

    def collect_garbage(self) -> GarbageReport:
        """Delete shared dependencies no release of any app uses."""
        from .lifecycle.removal import collect_garbage

        return collect_garbage(self.layout)

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
        from .isolation.walls import raise_walls
        from .releases.launch import LaunchSpec

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
        from .isolation.walls import app_walls

        return app_walls(self.layout, name, self.daemons.settings, python=self.launch(name).python)

    def clear_tmp(self, name: str) -> None:
        """Empty app *name*'s ``tmp/``."""
        from .lifecycle.install import clear_dir

        clear_dir(self.layout.app(name).tmp)

    def is_installed(self, name: str) -> bool:
        try:
            return current_release(self.layout.app(name)) is not None
        except HostError:
            return False
