"""Changing an installed app's configuration (spec section 4) and its services' values (section 3.9).

:func:`config_info` and :func:`show_services` show them (secrets masked);
:func:`change_config` and :func:`change_services` check the operator's changes, write
them and let the app's running processes see them: a new generation starts beside
the running one and takes over once healthy (section 7.10); when it does not, the
previous values are written back and the running processes go on. :func:`ensure_services`
is the check before the app starts: a required service without a value refuses the
start. The caller holds the app's lock for every change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apppackage.package import AppPackage

from .._plain import Plain
from ..appconfig.services import (
    ResolvedServices,
    ServicesInfo,
    ServicesResult,
    describe,
    load_services,
    resolve,
    write_services,
)
from ..appconfig.values import load_stored, write_config_files
from ..layout import AppLayout
from ..processes.daemons import DaemonFailed, DaemonManager
from ..releases.launch import LaunchSpec
from ..releases.release import Release
from .journal import Journal

__all__ = [
    "ConfigInfo",
    "ConfigResult",
    "change_config",
    "change_services",
    "config_info",
    "ensure_services",
    "show_services",
]


@dataclass(frozen=True, kw_only=True)
class ConfigInfo(Plain):
    """``pyapp config NAME show``: the values (secrets masked unless asked) and the spec's fields."""

    name: str
    version: str
    file: str
    app_config_file: str
    format: str
    values: dict[str, Any]
    """The operator's values and the generated secrets: a field without one takes its default (in
    :attr:`fields`), the current release's."""
    fields: tuple[dict[str, Any], ...] = ()
    masked: bool = True


@dataclass(frozen=True, kw_only=True)
class ConfigResult(Plain):
    """A configuration change that was validated and written."""

    name: str
    file: str
    changed: tuple[str, ...]
    values: dict[str, Any]
    """The new values, secrets masked."""


def config_info(app: AppLayout, current: Release, *, show_secrets: bool = False) -> ConfigInfo:
    """*app*'s configuration values (secrets masked unless *show_secrets*) and its spec's fields."""
    with AppPackage(current.path) as package:
        spec = package.config_spec
    values = load_stored(app.config_file, spec) or {}
    return ConfigInfo(
        name=app.name, version=current.version, file=str(app.config_file),
        app_config_file=str(app.app_config_file(spec.format)), format=spec.format,
        values=values if show_secrets else spec.masked(values),
        fields=tuple(f.to_dict() for f in spec.fields), masked=not show_secrets,
    )  # fmt: skip


def change_config(
    app: AppLayout, current: Release, values: Mapping[str, Any], *, merge: bool, daemons: DaemonManager
) -> ConfigResult:
    """Check *values* (all of them, or merged into the stored ones) against *current*'s spec; write them.

    Nothing is written when a value is refused (:class:`~apppackage.InvalidConfiguration`
    lists every problem); the write is journaled. Running processes read the new values
    in a new generation; one that does not start with them leaves the old values and
    processes in place (:class:`DaemonFailed`). A secret given as the mask ``********`` (as shown) keeps
    its stored value (section 4.5).
    """
    with AppPackage(current.path) as package:
        spec = package.config_spec
        old = load_stored(app.config_file, spec) or {}
        given = spec.unmasked(values, old)
        # A null is no value: the field is unset and takes its default (section 4.3).
        new = {k: v for k, v in ({**old, **given} if merge else given).items() if v is not None}
        spec.check(spec.fill(new), app.config_file.name)
        journal = Journal(app)
        journal.begin("config")
        try:
            write_config_files(app, package, new)
            journal.commit()
        except BaseException:
            journal.abort()
            raise
        if new != old:
            kept = f"the configuration of {app.name} is unchanged; it keeps running with its previous values"
            try:
                daemons.reconfigure(app.name, LaunchSpec.read(current.path), kept=kept)
            except DaemonFailed:
                write_config_files(app, package, old)
                raise
    changed = tuple(k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
    return ConfigResult(name=app.name, file=str(app.config_file), changed=changed, values=spec.masked(new))


def show_services(app: AppLayout, launch: LaunchSpec) -> ServicesInfo:
    """The services *launch* (the current release) declares, with their values masked."""
    declared = launch.services
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
        launch.services, stored, given, app=app.name,
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
        services=describe(launch.services, resolved.values, Path(launch.data_path)),
    )  # fmt: skip


def ensure_services(app: AppLayout, launch: LaunchSpec) -> ResolvedServices:
    """Refuse to start *launch* when a required service has no value (a ``sqlite`` one is provisioned)."""
    stored = load_services(app.services_file)
    resolved = resolve(
        launch.services, stored, app=app.name, data_path=Path(launch.data_path),
        what=f"{launch.name} {launch.version}",
    )  # fmt: skip
    if resolved.provisioned:
        write_services(app.services_file, resolved.stored(), app=app.name)
    return resolved
