"""What the web part reads of an installed app: its release's launch facts, where its daemon listens,
its static directories, and whether its daemons run."""

from __future__ import annotations

import contextlib
from pathlib import PurePath

from ..errors import HostError
from ..layout import HostLayout
from ..processes.daemons import DaemonManager
from ..processes.programs import STABLE_SOCKET, socket_dir
from ..processes.runstate import AppRunState
from ..releases.launch import LaunchSpec
from ..releases.release import current_release
from ..webservers import Routes, StaticPath, Upstream

__all__ = ["launch_of", "not_running", "refreshed", "static_of", "upstream_of"]


def launch_of(layout: HostLayout, app: str) -> LaunchSpec | None:
    """The launch facts of *app*'s current release (``None``: not installed)."""
    with contextlib.suppress(HostError):
        current = current_release(layout.app(app))
        if current is not None:
            return LaunchSpec.read(current.path)
    return None


def upstream_of(daemons: DaemonManager, app: str, launch: LaunchSpec) -> Upstream | None:
    """Where the web server reaches *app*'s daemon: its stable socket, or its port (None: static only)."""
    if launch.web is None:
        return None
    layout = daemons.layout.app(app)
    state = AppRunState.load(layout)
    if state.socket:
        return Upstream.unix(state.socket)
    if state.port:
        return Upstream.tcp("127.0.0.1", state.port)
    if daemons.settings.for_app(app).listen == "port":
        raise HostError(
            f"{app} listens on a port and is not running, so its port is not known yet: start it"
            f" (pyapp start {app}), then mount it"
        )
    return Upstream.unix(socket_dir(layout) / STABLE_SOCKET)


def static_of(layout: HostLayout, app: str, launch: LaunchSpec) -> tuple[StaticPath, ...]:
    """The release's static directories, under ``apps/<name>/current`` (they follow the release)."""
    current = layout.app(app).current
    out = []
    for item in launch.static:
        relative = PurePath(item.dir).relative_to(launch.root)
        out.append(StaticPath(url=item.url, directory=str(current / relative)))
    return tuple(out)


def refreshed(layout: HostLayout, routes: Routes) -> Routes:
    """*routes* with the mounts of apps no longer installed dropped, and each mount's static
    directories those of its current release."""
    for app, mount in routes.mounts.items():
        launch = launch_of(layout, app)
        if launch is None:
            routes = routes.unmount(app)
            continue
        static = static_of(layout, app, launch)
        if static != mount.static and (static or mount.upstream is not None):
            routes = routes.set_static(app, static)
    return routes


def not_running(daemons: DaemonManager, app: str) -> str | None:
    """Why *app*'s daemons do not run, so that nothing can answer for it (``None``: they run)."""
    if not daemons.enabled:
        return (
            f"this host runs no daemons (the host setting daemons, PYAPP_DAEMONS, or no supervisord),"
            f" so nothing answers for {app} yet"
        )
    state = AppRunState.load(daemons.layout.app(app))
    if state.stopped:
        return f"{app} is stopped (pyapp start {app} starts it)"
    if not state.programs:
        return f"{app} is not running (pyapp start {app} starts it)"
    return None
