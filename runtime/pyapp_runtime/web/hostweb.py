"""The host's virtual hosts and app mounts, and the web server that serves them.

:class:`HostWeb` keeps the routing table in ``$PYAPP_HOME/webservers/state.json``
(a :class:`~pyapp_runtime.webservers.RouteStore`) and applies every change to the
host's web server: render, the server's own configuration test, an atomic swap,
a graceful reload (see :meth:`WebServer.activate`). Which server is the host
setting ``web_server`` in ``host.yaml`` (``PYAPP_WEB_SERVER`` overrides it):

* ``none`` (the default): the routes are stored, and each app's daemon takes its
  mount path, but no web server serves them;
* ``auto``: the first of nginx, Apache, lighttpd installed here (or none);
* ``nginx``, ``apache``, ``lighttpd``: that one (an error when it is not installed).

Every change of the routes reaches the web server through one path (:meth:`HostWeb._serve`),
which honours the setting and grants the access below: a mount, an unmount, a virtual
host, ``pyapp web apply``, an update's new static paths, and a daemon switch. A
mounted app is proxied to its daemon's stable address: the unix socket ``web.sock``
that every activation points at the serving release (so updates and rollbacks need
no new configuration), or, with ``listen: port``, its port, which the daemons hand
to :meth:`HostWeb.route` when a new release takes over. Its static
directories (spec section 3.10) are served from ``apps/<name>/current/<dir>``, so
they too follow the current release. A running app is restarted when it is
mounted, moved or unmounted: its daemon strips the mount path (``SCRIPT_NAME``).

A change that mounts or moves an app (a mount, a virtual host's new address or names,
``pyapp web apply`` and ``start``) is verified through the web server once it serves it:
the app's health path is asked for under its mount, as a visitor would
(:mod:`pyapp_runtime.web.verify`). A route that does not answer healthily is undone -- the
routing table and the web server's live configuration go back to what they were -- and
the change is refused with the cause. An app that is not running cannot be verified:
the change then says so (:attr:`WebChange.checks`).

When the runtime runs as root, the web server's workers run as an unprivileged
user: applying lets them reach the apps' sockets and static directories (see
:mod:`pyapp_runtime.web.access`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from typing import Any, Literal

from apppackage.errors import AppPackageError

from ..errors import HostError, NoSuchApp
from ..layout import HostLayout
from ..processes.daemons import DaemonManager
from ..processes.runstate import AppRunState
from ..settings import SETTINGS_FILE, WEB_SERVER_VARIABLE
from ..webservers import (
    KINDS,
    Installation,
    InvalidRoute,
    Mount,
    Routes,
    RouteStore,
    Upstream,
    VirtualHost,
    WebServer,
    detect,
)
from .access import grant_access
from .apps import launch_of, not_running, refreshed, static_of, upstream_of
from .results import RouteCheck, ServerState, WebChange, WebStatus, mount_dict, vhost_dict
from .verify import RouteNotServed, verify_mount

__all__ = ["HostWeb", "Reload"]

Reload = Callable[[str], object]
"""Reloads a running app (a new generation of its processes: :meth:`pyapp_runtime.Host.reload`)."""

_STOPPED = "stopped"

Verify = Collection[str] | Literal["all"]
"""The mounts a change is verified by, once served: these apps' mounts, or all of them."""


class HostWeb:
    """The virtual hosts and mounts of the host laid out by *layout*, whose apps' processes are *daemons*.

    A :class:`~pyapp_runtime.Host` makes its own (:attr:`Host.web <pyapp_runtime.Host.web>`).
    *reload* starts a new generation of a running app's processes, for a mount that
    moved; *kind* overrides the ``web_server`` setting (``auto``, ``none`` or a kind).
    """

    def __init__(
        self, layout: HostLayout, daemons: DaemonManager, reload: Reload, *, kind: str | None = None
    ) -> None:
        self.layout = layout
        self.home = layout.home
        self.daemons = daemons
        self.reload = reload
        self.store = RouteStore(layout.webservers)
        self.setting = daemons.settings.with_web_server(kind, f"${WEB_SERVER_VARIABLE}").web_server
        self._installation: Installation | None = None
        self._detected = False

    def __repr__(self) -> str:
        return f"HostWeb({str(self.home)!r}, {self.setting!r})"

    # -- the web server --------------------------------------------------------------

    @property
    def installation(self) -> Installation | None:
        """The web server this host uses (None: ``none``, or ``auto`` found none)."""
        if not self._detected:
            self._installation = detect(self.setting)
            self._detected = True
        return self._installation

    def server(self) -> WebServer | None:
        installation = self.installation
        return None if installation is None else WebServer.in_state_dir(self.store.state_dir, installation)

    def state(self) -> ServerState:
        server = self.server()
        if server is None:
            why = "no web server is installed" if self.setting == "auto" else "the setting is none"
            return ServerState(
                setting=self.setting,
                message=f"no web server serves the routes ({why}); they are stored, and each app's daemon"
                f" serves under its mount path. Set web_server in {self.home / SETTINGS_FILE} to auto,"
                f" {', '.join(KINDS[:-1])} or {KINDS[-1]} to serve them.",
            )
        pid = server.pid()
        live = server.live_config()
        if pid is not None:
            message = f"{server.kind} serves the routes (pid {pid})"
        elif (server.directory / _STOPPED).exists():
            message = f"{server.kind} was stopped (pyapp web start starts it)"
        else:
            message = f"{server.kind} is not running (pyapp web start starts it)"
        return ServerState(
            setting=self.setting, kind=server.kind, running=pid is not None, pid=pid,
            config=None if live is None else str(live), message=message,
        )  # fmt: skip

    def status(self) -> WebStatus:
        routes = self.store.load()
        return WebStatus(
            server=self.state(),
            vhosts=tuple(vhost_dict(routes, v) for _, v in sorted(routes.vhosts.items())),
            mounts=tuple(mount_dict(routes, m) for _, m in sorted(routes.mounts.items())),
        )

    def apply(self, *, start: bool | None = None) -> ServerState:
        """Bring the table up to date with the apps, then render, test, swap and reload.

        The server is started unless it was stopped with :meth:`stop` (*start* decides
        otherwise). Mounts of apps no longer installed are dropped; each mount's static
        directories follow its current release's description. Every mount is then verified
        through the server (:class:`RouteNotServed`: one is not served, and all is as it was).
        """
        self._apply_or_undo(self.store.load(), start=start, verify="all")
        return self.state()

    def start(self) -> ServerState:
        """Start the web server on the current routes (it stays on until :meth:`stop`)."""
        server = self._require()
        marker = server.directory / _STOPPED
        stopped = marker.read_text("utf-8") if marker.exists() else None
        marker.unlink(missing_ok=True)
        try:
            return self.apply(start=True)
        except BaseException:
            if stopped is not None:
                marker.write_text(stopped, "utf-8")
            raise

    def stop(self) -> ServerState:
        """Stop the web server gracefully; changes then wait for :meth:`start`."""
        server = self._require()
        server.stop(graceful=True)
        server.directory.mkdir(parents=True, exist_ok=True)
        (server.directory / _STOPPED).write_text("stopped by an operator\n", "utf-8")
        return self.state()

    def restore(self) -> ServerState | None:
        """Start the web server on the stored routes when it should serve and does not (it died); ``None``:
        nothing to do (no server or virtual host, stopped by :meth:`stop`, or it runs)."""
        server = self.server()
        if server is None or (server.directory / _STOPPED).exists() or server.is_running():
            return None
        if not self.store.load().vhosts:
            return None
        self._serve(self.store.update(lambda r: refreshed(self.layout, r)), start=True)
        return self.state()

    def _require(self) -> WebServer:
        server = self.server()
        if server is None:
            raise HostError(self.state().message)
        return server

    # -- virtual hosts ---------------------------------------------------------------

    def add_vhost(
        self,
        name: str,
        *,
        port: int,
        address: str = "127.0.0.1",
        server_names: tuple[str, ...] = (),
        tls_certificate: str | None = None,
        tls_key: str | None = None,
    ) -> WebChange:
        """Add a virtual host (or replace the one of that name; its mounts stay) and apply."""
        vhost = VirtualHost(
            name=name, port=port, address=address, server_names=tuple(server_names),
            tls_certificate=tls_certificate, tls_key=tls_key,
        )  # fmt: skip
        before = self.store.load()
        self.store.update(lambda r: r.add_vhost(vhost))
        # Its mounts are verified when it changed where they are served.
        moved = () if before.vhosts.get(name) in (None, vhost) else [m.app for m in before.mounts_on(name)]
        routes, checks = self._apply_or_undo(before, verify=moved)
        return WebChange(
            action="vhost-add", server=self.state(), vhost=vhost_dict(routes, routes.vhosts[name]),
            checks=checks,
        )  # fmt: skip

    def remove_vhost(self, name: str) -> WebChange:
        """Remove a virtual host no app is mounted on, and apply."""
        before = self.store.load()
        if name not in before.vhosts:
            before.remove_vhost(name)  # raises the library's "no such virtual host"
        gone = vhost_dict(before, before.vhosts[name])
        self.store.update(lambda r: r.remove_vhost(name))
        self._apply_or_undo(before)
        return WebChange(action="vhost-remove", server=self.state(), vhost=gone)

    def vhosts(self) -> list[dict[str, Any]]:
        routes = self.store.load()
        return [vhost_dict(routes, v) for _, v in sorted(routes.vhosts.items())]

    # -- mounts ----------------------------------------------------------------------

    def mount(self, app: str, vhost: str, prefix: str = "/") -> WebChange:
        """Mount installed *app* on *vhost* at *prefix*; refuses conflicts (:class:`MountConflict`)."""
        launch = launch_of(self.layout, app)
        if launch is None:
            raise NoSuchApp(app, str(self.home))
        mount = Mount(
            app=app, vhost=vhost, prefix=prefix,
            upstream=upstream_of(self.daemons, app, launch), static=static_of(self.layout, app, launch),
        )  # fmt: skip
        before = self.store.load()
        previous = before.mounts.get(app)
        routes = self.store.update(lambda r: r.mount(mount))
        restarted = False
        try:
            restarted = self._follow(app, previous, routes.mounts[app])
            routes, checks = self._apply_or_undo(before, verify=[app])
        except BaseException:
            self.store.update(lambda r: r.mount(previous) if previous else r.unmount(app))
            if restarted:
                with contextlib.suppress(AppPackageError):
                    self._follow(app, mount, previous)
            raise
        return WebChange(
            action="mount",
            server=self.state(),
            mount=mount_dict(routes, routes.mounts[app]),
            restarted=restarted,
            checks=checks,
        )

    def unmount(self, app: str) -> WebChange:
        """Take *app* off its virtual host; a running app is reloaded to serve at its root."""
        before = self.store.load()
        previous = before.mounts.get(app)
        if previous is None:
            raise InvalidRoute(f"{self.store.path}:/mounts/{app}", f"app {app!r} is not mounted")
        self.store.update(lambda r: r.unmount(app))
        try:
            # A new generation that does not start at the root leaves the app mounted as it was.
            restarted = self._follow(app, previous, None)
        except BaseException:
            self.store.update(lambda r: r.mount(previous))
            raise
        self._apply_or_undo(None)
        return WebChange(
            action="unmount", server=self.state(), mount=mount_dict(before, previous), restarted=restarted
        )

    def forget(self, app: str) -> bool:
        """Drop the mount of an app that is gone (removed); reload a running server. False: none."""
        if app not in self.store.load().mounts:
            return False
        self._serve(self.store.update(lambda r: r.unmount(app)))
        return True

    def follow(self, app: str) -> bool:
        """After an update or rollback of a mounted *app*: serve its new release's static paths.

        Reloads a running server only when the static paths changed (its upstream is stable).
        False when nothing had to change.
        """
        mount = self.store.load().mounts.get(app)
        if mount is None:
            return False
        routes = self.store.update(lambda r: refreshed(self.layout, r))
        if routes.mounts.get(app) == mount:
            return False
        self._serve(routes)
        return True

    def route(self, app: str, upstream: Upstream) -> bool:
        """Point *app*'s mount at *upstream* (its daemons moved to a new port); ``False``: not mounted.

        A running web server is reloaded; the new configuration is tested before it
        replaces the live one (see :meth:`WebServer.activate`), so a failure raises and
        leaves the old one serving.
        """
        mount = self.store.load().mounts.get(app)
        if mount is None:
            return False
        if mount.upstream != upstream:
            self._serve(self.store.update(lambda r: r.set_upstream(app, upstream)))
        return True

    # -- the parts -------------------------------------------------------------------

    def _serve(
        self, routes: Routes, *, start: bool | None = None, verify: Verify = ()
    ) -> tuple[RouteCheck, ...]:
        """The one path to the web server: serve *routes* with the configured server, if any.

        *start* ``None`` reloads the server only when it runs; ``True`` starts it too,
        ``False`` leaves a stopped one stopped. The web server's workers are first let
        through to the sockets and static files (as root). Once served, the mounts of the
        apps in *verify* are verified through it; when one is not served the server's
        previous configuration is put back and :class:`RouteNotServed` raised (the caller
        puts the routing table back).
        """
        server = self.server()
        if server is None or (start is None and not server.is_running()):
            return ()
        grant_access(self.home, routes)
        marks = server.log_marks()
        activation = server.activate(routes, start=bool(start))
        apps = sorted(routes.mounts if verify == "all" else set(verify) & set(routes.mounts))
        if not apps or not server.is_running():
            return ()
        try:
            checks = tuple(self._verify(server, routes, app) for app in apps)
            failed = tuple(c for c in checks if c.outcome == "failed")
            if failed:
                raise RouteNotServed(server.kind, failed, server.logs_since(marks))
        except BaseException:
            server.revert(activation)
            raise
        return checks

    def _verify(self, server: WebServer, routes: Routes, app: str) -> RouteCheck:
        launch = launch_of(self.layout, app)
        if launch is None:  # removed meanwhile: its mount goes with the next change
            return RouteCheck(app=app, url=routes.url(app), outcome="unverified", detail=f"{app} is gone")
        why = None if routes.mounts[app].upstream is None else not_running(self.daemons, app)
        return verify_mount(server, routes, app, launch.health, home=self.home, not_running=why)

    def _apply_or_undo(
        self, before: Routes | None, *, start: bool | None = None, verify: Verify = ()
    ) -> tuple[Routes, tuple[RouteCheck, ...]]:
        """Apply the stored table (see :meth:`apply`) and verify the mounts of *verify*; if that fails
        (the web server refuses the table or does not serve them), store *before* again (if given)."""
        routes = self.store.update(lambda r: refreshed(self.layout, r))
        server = self.server()
        checks: tuple[RouteCheck, ...] = ()
        try:
            if server is not None:
                if start is None:
                    start = not (server.directory / _STOPPED).exists()
                checks = self._serve(routes, start=start, verify=verify)
        except BaseException:
            if before is not None:
                self.store.update(lambda _r: before)
            raise
        return self.store.load(), checks

    def _follow(self, app: str, old: Mount | None, new: Mount | None) -> bool:
        """Reload a running *app* whose mount path or host name changed (it never stops serving).

        Whether it was reloaded.
        """
        if _place(old) == _place(new) or (new is not None and new.upstream is None):
            return False
        if not self.daemons.enabled:
            return False
        state = AppRunState.load(self.layout.app(app))
        if state.stopped or not state.programs:
            return False
        self.reload(app)
        return True


def _place(mount: Mount | None) -> tuple[str, str] | None:
    return None if mount is None else (mount.vhost, mount.prefix)
