"""Releases of an app: immutable directories, the ``current``/``previous`` links, pruning, disk use.

A release directory is complete when it appears (it is built in a staging dir and
renamed into place). What the runtime adds to it lives in ``.pyapp/``:
``release.json`` (what was installed, when, from which package, its data version),
``launch.json`` (see :mod:`pyapp_runtime.releases.launch`) and ``last-config.yaml`` (the
values in use when the release was last deactivated, so that a rollback restores
the values of fields a newer release dropped).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from apppackage.files import replace_link

from ..layout import AppLayout

__all__ = [
    "LAST_CONFIG",
    "META_DIR",
    "RELEASE_JSON",
    "Release",
    "current_release",
    "disk_usage",
    "list_releases",
    "prune",
    "read_last_config",
    "remember_config",
    "switch_link",
    "version_key",
    "write_release_json",
]

META_DIR = ".pyapp"
RELEASE_JSON = "release.json"
LAST_CONFIG = "last-config.yaml"


def version_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


@dataclass(frozen=True, kw_only=True)
class Release:
    """One installed release of an app."""

    id: str
    name: str
    version: str
    path: Path
    package_sha256: str = ""
    package_file: str = ""
    installed_at: float = 0.0
    shared: tuple[str, ...] = ()
    """The server-packages entries its ``sys.path`` references."""
    removed: tuple[str, ...] = ()
    """Files of the package deleted once installed (the bundled wheels)."""
    signer: str | None = None
    """The fingerprint of the key that signed the package (spec section 2.6); ``None``: unsigned."""
    data_version: int = 0
    """The form in which its code keeps the app's data (spec section 3.19)."""

    @classmethod
    def load(cls, path: Path) -> Release:
        """Read ``.pyapp/release.json``; a release without one is described by its directory name."""
        try:
            info = json.loads((path / META_DIR / RELEASE_JSON).read_text("utf-8"))
        except (OSError, ValueError):
            info = {}
        version = info.get("version") or path.name.rsplit("-", 1)[0]
        return cls(
            id=path.name,
            name=info.get("name", path.parent.parent.name),
            version=version,
            path=path,
            package_sha256=info.get("package_sha256", ""),
            package_file=info.get("package_file", ""),
            installed_at=float(info.get("installed_at", 0.0)),
            shared=tuple(info.get("shared", ())),
            removed=tuple(info.get("removed_from_package", ())),
            signer=info.get("signer"),
            data_version=_data_version(path, info),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "path": str(self.path),
            "package_sha256": self.package_sha256,
            "package_file": self.package_file,
            "signer": self.signer,
            "installed_at": _iso(self.installed_at),
            "data_version": self.data_version,
        }

    @property
    def meta(self) -> Path:
        return self.path / META_DIR


def write_release_json(release_dir: Path, info: dict[str, Any]) -> None:
    meta = release_dir / META_DIR
    meta.mkdir(parents=True, exist_ok=True)
    (meta / RELEASE_JSON).write_text(json.dumps(info, indent=2) + "\n", "utf-8")


def _data_version(path: Path, info: dict[str, Any]) -> int:
    """``data_version`` of ``release.json``; of a release built before the host recorded it, its
    description's."""
    if "data_version" in info:
        return int(info["data_version"])
    from apppackage.safeyaml import load_yaml

    try:
        declared = load_yaml((path / "metadata.yaml").read_bytes(), "metadata.yaml").get("data_version", 0)
    except (OSError, ValueError, AttributeError):
        return 0
    return declared if isinstance(declared, int) and not isinstance(declared, bool) else 0


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else ""


def list_releases(app: AppLayout) -> list[Release]:
    """Every release of *app*, the most recently installed first."""
    releases = [Release.load(app.releases / rid) for rid in app.release_ids()]
    releases.sort(key=lambda r: (r.installed_at, version_key(r.version)), reverse=True)
    return releases


def current_release(app: AppLayout) -> Release | None:
    """The release ``current`` points to, or ``None`` (not installed)."""
    rid = app.link_target(app.current)
    if rid is None or not (app.releases / rid).is_dir():
        return None
    return Release.load(app.releases / rid)


def switch_link(link: Path, release: str | None) -> None:
    """Point *link* at ``releases/<release>`` atomically (a new symlink renamed over it); ``None``: remove."""
    if release is None:
        link.unlink(missing_ok=True)
        return
    replace_link(link, f"releases/{release}")


def disk_usage(path: Path, seen: set[tuple[int, int]] | None = None) -> int:
    """Bytes allocated under *path* (each inode counted once; symlinks not followed)."""
    seen = set() if seen is None else seen
    total = 0
    stack = [str(path)]
    while stack:
        top = stack.pop()
        try:
            entries = os.scandir(top)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                total += st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total


def prune(app: AppLayout, keep: int) -> list[Release]:
    """Delete releases beyond the *keep* most recent, never ``current`` nor ``previous``; return them."""
    protected = {app.link_target(app.current), app.link_target(app.previous)}
    removed = []
    for index, release in enumerate(list_releases(app)):
        if index < keep or release.id in protected:
            continue
        # Renamed first: a crash while deleting leaves a staging dir (recovery removes it), not half a release
        doomed = release.path.with_name(f".staging-pruned-{release.id}")
        os.rename(release.path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        removed.append(release)
    return removed


def read_last_config(release_dir: Path) -> dict[str, Any] | None:
    from apppackage.errors import AppPackageError

    from ..appconfig.values import load_values

    try:
        return load_values(release_dir / META_DIR / LAST_CONFIG)
    except (AppPackageError, OSError):  # a damaged snapshot is only a lost convenience
        return None


def remember_config(release_dir: Path, values: dict[str, Any]) -> None:
    """Keep the values in use as the release is deactivated (read back on a rollback to it)."""
    from ..appconfig.values import write_values

    if (release_dir / META_DIR).is_dir():
        write_values(release_dir / META_DIR / LAST_CONFIG, values)
