"""One health check of an app as it serves now: its stable socket (or port) asked for its health path.

Unlike the checks of an install or update (:mod:`pyapp_runtime.processes.readiness`), which wait for a
new release to become healthy, this asks once, with the release's ``health.timeout``, what serves the
app's clients right now: for a dashboard, or for a watcher that wants to know.
"""

from __future__ import annotations

from ..layout import HostLayout
from ..releases.launch import LaunchSpec
from .health import Address, HealthResult, check
from .placement import placement
from .runstate import AppRunState

__all__ = ["probe_app"]


def probe_app(layout: HostLayout, name: str, launch: LaunchSpec) -> HealthResult | None:
    """The health of app *name* (whose current release starts from *launch*) as it serves now; ``None``
    when it serves nothing (stopped, or without a WSGI daemon)."""
    state = AppRunState.load(layout.app(name))
    if state.stopped or not any(p.role == "web" for p in state.programs):
        return None
    if state.socket:
        address = Address(socket=state.socket)
    elif state.port:
        address = Address(port=state.port)
    else:
        return None
    place = placement(layout, name)
    path = place.mount_path + launch.health.path
    return check(address, path, host=place.host, timeout=launch.health.timeout)
