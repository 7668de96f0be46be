"""``pyapp list`` and ``pyapp show``: an installed app, and its releases, paths, disk use and backups, the
data version its data is in (spec section 3.19) and its update policy (section 3.18)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apppackage.description import Updates

from .._plain import Plain
from ..layout import AppLayout, HostLayout
from ..processes.ports import PortRegistry
from ..processes.reuseport import migrate_requests
from ..releases.launch import LaunchSpec
from ..releases.release import Release, current_release, disk_usage, list_releases
from .backup import list_backups
from .dataversion import data_state
from .trust import pinned_signer

__all__ = ["AppInfo", "AppSummary", "ReleaseInfo", "app_info", "app_summary", "release_infos"]


@dataclass(frozen=True, kw_only=True)
class AppSummary(Plain):
    """One line of ``pyapp list``."""

    name: str
    version: str | None
    release: str | None
    installed_at: str = ""
    busy: int | None = None
    """The pid of a command holding the app's lock, if any."""
    recovered: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReleaseInfo:
    """A release with its state and the disk it uses."""

    release: Release
    current: bool
    previous: bool
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.release.to_dict(),
            "current": self.current,
            "previous": self.previous,
            "size": self.size,
        }


@dataclass(frozen=True, kw_only=True)
class AppInfo(Plain):
    """``pyapp show``: an app's releases, paths, sizes, backups."""

    name: str
    version: str | None
    release: str | None
    path: str
    config_file: str
    app_config_file: str
    data_path: str
    releases: tuple[ReleaseInfo, ...] = ()
    disk: dict[str, int] = field(default_factory=dict)
    """Bytes: ``releases``, ``shared`` (server-packages its releases use), ``data``, ``backups``, ``total``"""
    backups: tuple[dict[str, Any], ...] = ()
    wsgi: str | None = None
    asgi: str | None = None
    commands: tuple[str, ...] = ()
    busy: int | None = None
    recovered: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    """The app's ports (docs/daemons.md, stable ports): ``web``, ``<process>-<i>``; kept across releases."""
    migrate_requests: bool | None = None
    """With ports: whether the kernel hands the connections waiting for a stopping generation to the next
    (``net.ipv4.tcp_migrate_req``); ``None``: it cannot, or the app has no port."""
    identity: dict[str, Any] = field(default_factory=dict)
    """Who its processes run as: ``user``, ``uid``, ``isolated`` (a user of its own), ``reason`` if not."""
    confinement: dict[str, Any] = field(default_factory=dict)
    """``kind`` (``bubblewrap``, ``none``) and ``reason`` when none."""
    limits: dict[str, Any] = field(default_factory=dict)
    signer: str | None = None
    """The key the app's packages must be signed with (spec section 2.6); ``None``: no key is pinned."""
    data_version: dict[str, Any] = field(default_factory=dict)
    """The data version its data is in and since when (``data_version``, ``since``: spec section 3.19)."""
    updates: dict[str, Any] = field(default_factory=dict)
    """The current release's update policy (spec section 3.18): ``strategy`` (which revision a deploy from
    version control takes; ``branch`` or ``tag_pattern`` and ``prereleases`` with it) and ``start``."""


def app_summary(app: AppLayout, busy: int | None, recovered: str | None) -> AppSummary | None:
    """*app*'s line in ``pyapp list``; ``None`` when it is not installed and no command works on it.

    *busy* is the pid of a command holding its lock, *recovered* what recovery did.
    """
    current = current_release(app)
    if current is None and busy is None:
        return None
    return AppSummary(
        name=app.name, version=current.version if current else None, release=current.id if current else None,
        installed_at=current.to_dict()["installed_at"] if current else "", busy=busy, recovered=recovered,
    )  # fmt: skip


def release_infos(
    app: AppLayout, current: Release, seen: set[tuple[int, int]] | None = None
) -> list[ReleaseInfo]:
    """Every release of *app*, the most recently installed first, with the disk it uses: each file once (hard
    links shared between releases, or with what *seen* holds, are counted for the first that has them)."""
    previous = app.link_target(app.previous)
    seen = set() if seen is None else seen
    return [
        ReleaseInfo(
            release=release, current=release.id == current.id, previous=release.id == previous,
            size=disk_usage(release.path, seen),
        )
        for release in list_releases(app)
    ]  # fmt: skip


def app_info(
    layout: HostLayout, app: AppLayout, current: Release, *, busy: int | None, recovered: str | None
) -> AppInfo:
    """What ``pyapp show`` tells of *app*, whose current release is *current*.

    Disk use counts each file once (hard links shared between releases are not
    counted twice); ``shared`` is the server-packages its releases use.
    """
    name = app.name
    seen: set[tuple[int, int]] = set()
    releases = release_infos(app, current, seen)
    shared = {key for r in releases for key in r.release.shared}
    disk = {
        "releases": sum(r.size for r in releases),
        "shared": sum(disk_usage(layout.server_packages / key, seen) for key in sorted(shared)),
        "data": disk_usage(app.data, seen),
        "backups": disk_usage(app.backups, seen),
    }
    disk["total"] = sum(disk.values())
    backups = tuple(
        {"archive": str(b.path), "size": b.size, "created": b.created}
        for b in sorted(list_backups(app, manifests=False), key=lambda b: b.name)
    )
    launch = LaunchSpec.read(current.path)
    ports = PortRegistry(layout.home, (0, 0)).of_app(name)
    state = data_state(app, current)
    return AppInfo(
        name=name, version=current.version, release=current.id, path=str(app.dir),
        config_file=str(app.config_file), app_config_file=launch.config_file, data_path=str(app.data),
        releases=tuple(releases), disk=disk, backups=backups,
        wsgi=launch.wsgi.app if launch.wsgi else None, asgi=launch.asgi.app if launch.asgi else None,
        commands=tuple(c.name for c in launch.commands),
        busy=busy, recovered=recovered, ports=ports, migrate_requests=migrate_requests() if ports else None,
        signer=pinned_signer(app), data_version=state.to_dict() if state else {},
        updates=_policy(launch.updates),
    )  # fmt: skip


def _policy(updates: Updates) -> dict[str, Any]:
    """*updates* with the keys of its strategy only (section 3.18: the others do not apply)."""
    keys = {"one-branch": ("branch",), "latest-tag": ("tag_pattern", "prereleases")}.get(updates.strategy, ())
    return {"strategy": updates.strategy, **{k: getattr(updates, k) for k in keys}, "start": updates.start}
