"""``pyapp list`` and ``pyapp show``: an installed app, and its releases, paths, disk use and backups."""

from __future__ import annotations

import time

from ..layout import AppLayout, HostLayout
from ..releases.launch import LaunchSpec
from ..releases.release import Release, current_release, disk_usage, list_releases
from .results import AppInfo, AppSummary, ReleaseInfo

__all__ = ["app_info", "app_summary"]


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


def app_info(
    layout: HostLayout, app: AppLayout, current: Release, *, busy: int | None, recovered: str | None
) -> AppInfo:
    """What ``pyapp show`` tells of *app*, whose current release is *current*.

    Disk use counts each file once (hard links shared between releases are not
    counted twice); ``shared`` is the server-packages its releases use.
    """
    name = app.name
    previous = app.link_target(app.previous)
    releases = []
    seen: set[tuple[int, int]] = set()
    shared: set[str] = set()
    for release in list_releases(app):
        size = disk_usage(release.path, seen)
        shared.update(release.shared)
        releases.append(
            ReleaseInfo(
                release=release,
                current=release.id == current.id,
                previous=release.id == previous,
                size=size,
            )
        )
    disk = {
        "releases": sum(r.size for r in releases),
        "shared": sum(disk_usage(layout.server_packages / key, seen) for key in sorted(shared)),
        "data": disk_usage(app.data, seen),
        "backups": disk_usage(app.backups, seen),
    }
    disk["total"] = sum(disk.values())
    backups = tuple(
        {"archive": str(p), "size": p.stat().st_size, "created": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(p.stat().st_mtime))}
        for p in sorted(app.backups.glob("*.tar.gz"))
    )  # fmt: skip
    launch = LaunchSpec.read(current.path)
    return AppInfo(
        name=name, version=current.version, release=current.id, path=str(app.dir),
        config_file=str(app.config_file), app_config_file=launch.config_file, data_path=str(app.data),
        releases=tuple(releases), disk=disk, backups=backups,
        wsgi=launch.wsgi.app if launch.wsgi else None, commands=tuple(c.name for c in launch.commands),
        busy=busy, recovered=recovered,
    )  # fmt: skip
