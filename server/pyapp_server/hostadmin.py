"""The host itself, for the API, XML-RPC and the web interface: the host at a glance and its settings.

:class:`HostAdmin` reads the host at a glance through one :class:`pyapp_runtime.overview.Overview`, kept
while the server runs so that a dashboard asking again and again costs little. It reads and changes the
host's settings (``host.yaml``) through :mod:`pyapp_runtime.settingsfile`, as ``pyapp settings`` does: a
change is checked as a whole (422 naming each field at fault, and nothing written), written, applied (a
new web server takes over the routes), and recorded as an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError

from .errors import ApiError
from .events import EventLog

if TYPE_CHECKING:
    from pyapp_runtime.overview import Overview
    from pyapp_runtime.settings import BadSettings

    from .manager import AppManager

__all__ = ["HostAdmin", "settings_error"]


def settings_error(exc: BadSettings) -> ApiError:
    """A :class:`~pyapp_runtime.settings.BadSettings` as a 422 naming each setting at fault."""
    errors = [
        {"field": path.strip("/").split("/")[0] or None, "path": path, "message": message}
        for path, message in exc.pointers
    ]
    return ApiError(str(exc), status=422, code="invalid-settings", errors=errors)


class HostAdmin:
    """The host of *apps*; setting changes are recorded in *events*."""

    def __init__(self, apps: AppManager, events: EventLog) -> None:
        self.apps = apps
        self.events = events
        self._overview: Overview | None = None

    @property
    def overview(self) -> Overview:
        if self._overview is None:
            from pyapp_runtime.overview import Overview

            self._overview = Overview(self.apps.home)
        return self._overview

    def status(self) -> dict[str, Any]:
        """The host at a glance: apps, supervisord, the web server, disk use and free space (bytes)."""
        info: dict[str, Any] = self.overview.read().to_dict()
        return info

    def settings(self) -> dict[str, Any]:
        """Every host setting: its value, default, where the value comes from, and what it means."""
        from pyapp_runtime.settings import BadSettings
        from pyapp_runtime.settingsfile import describe_settings

        try:
            found = describe_settings(self.apps.home)
        except BadSettings as exc:
            raise settings_error(exc) from None
        return {"settings": [s.to_dict() for s in found]}

    def set_settings(self, changes: Any, actor: str) -> dict[str, Any]:
        """Check, write and apply *changes* (a partial object: ``null`` sets a key back to its default)."""
        from pyapp_runtime.settings import BadSettings
        from pyapp_runtime.settingsfile import change_settings

        if not isinstance(changes, Mapping) or not changes:
            raise ApiError(
                "give the settings to change, such as {\"threads\": 8} (see: GET /api/v1/host/settings)",
                status=422, code="invalid-request",
                errors=[{"field": None, "path": "", "message": "must be an object of settings to change"}],
            )  # fmt: skip
        try:
            result = change_settings(self.apps.home, changes)
        except BadSettings as exc:
            fields = ", ".join(
                sorted({path.strip("/").split("/")[0] or "the file" for path, _ in exc.pointers})
            )
            self.events.record("settings", f"host settings refused: {fields}", outcome="failed", actor=actor)
            raise settings_error(exc) from None
        except AppPackageError as exc:
            reason = str(exc).splitlines()[0]
            self.events.record(
                "settings", f"host settings not changed: {reason}", outcome="failed", actor=actor
            )
            raise
        finally:
            self.overview.forget()
        data: dict[str, Any] = result.to_dict()
        if result.changed:
            served = f"; {result.web_server.message}" if result.web_server is not None else ""
            self.events.record("settings", f"host settings changed: {', '.join(result.changed)}{served}",
                               actor=actor)  # fmt: skip
        return data
