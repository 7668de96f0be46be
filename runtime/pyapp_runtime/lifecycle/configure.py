"""What a :class:`~pyapp_runtime.Host` does with an installed app's services (spec section 3.9).

:func:`show_services` lists them (values masked), :func:`change_services` checks and
writes the operator's changes and restarts the app's running processes so that
they see the new values (as a configuration change does, section 7.10), and
:func:`ensure_services` is the check before the app starts: a required service
without a value refuses the start. The caller holds the app's lock for the last two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..appconfig.services import (
    ResolvedServices,
    ServicesInfo,
    ServicesResult,
    declared_services,
    describe,
    load_services,
    resolve,
    write_services,
)
from ..layout import AppLayout
from ..processes.daemons import DaemonFailed, DaemonManager
from ..releases.launch import LaunchSpec

__all__ = ["change_services", "ensure_services", "show_services"]


def show_services(app: AppLayout, launch: LaunchSpec) -> ServicesInfo:
    """The services *launch* (the current release) declares, with their values masked."""
    declared = declared_services(launch.services)
    values = load_services(app.services_file)
    return ServicesInfo(
        name=app.name,
        version=launch.version,
        file=str(app.services_file),
        services=describe(declared, values, Path(launch.data_path)),
    )


def change_services(
    app: AppLayout,
    launch: LaunchSpec,
    assignments: Iterable[str] | Mapping[str, str],
    *,
    unset: Iterable[str] = (),
    daemons: DaemonManager,
) -> ServicesResult:
    """Check ``NAME=VALUE`` *assignments* (or a mapping) and *unset* names against *launch*'s services;
    write them.

    Nothing is written when any is refused (:class:`~pyapp_runtime.errors.BadServices`
    lists every problem). Running processes are restarted when a value changed.
    """
    stored = load_services(app.services_file)
    given = dict(assignments) if isinstance(assignments, Mapping) else tuple(assignments)
    resolved = resolve(
        declared_services(launch.services), stored, given, app=app.name,
        data_path=Path(launch.data_path), unset=tuple(unset), what=f"{launch.name} {launch.version}",
    )  # fmt: skip
    changed = resolved.changed(stored)
    restarted = False
    if changed:
        write_services(app.services_file, resolved.stored(), app=app.name)
        kept = f"the services of {app.name} are unchanged; it keeps running with their previous values"
        try:
            restarted = daemons.reconfigure(app.name, launch, kept=kept)
        except DaemonFailed:
            write_services(app.services_file, stored, app=app.name)
            raise
    return ServicesResult(
        name=app.name, file=str(app.services_file), changed=changed, provisioned=resolved.provisioned,
        unused=tuple(sorted(resolved.unused)), restarted=restarted,
        services=describe(declared_services(launch.services), resolved.values, Path(launch.data_path)),
    )  # fmt: skip


def ensure_services(app: AppLayout, launch: LaunchSpec) -> ResolvedServices:
    """Refuse to start *launch* when a required service has no value (a ``sqlite`` one is provisioned)."""
    stored = load_services(app.services_file)
    resolved = resolve(
        declared_services(launch.services), stored, app=app.name, data_path=Path(launch.data_path),
        what=f"{launch.name} {launch.version}",
    )  # fmt: skip
    if resolved.provisioned:
        write_services(app.services_file, resolved.stored(), app=app.name)
    return resolved
