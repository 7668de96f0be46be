"""``pyapp_runtime.overview``: the host at a glance, its sizes kept between reads (a release never changes;
data and backups are measured again once older than ``max_age``, which a test's own clock moves)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pyapp_runtime.overview import Overview

RELEASE = "1.0.0-0123456789ab"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def app(home: Path, name: str, *, release: str = RELEASE, data: int = 0) -> Path:
    """An app's directories as the host lays them out (docs/host-layout.md): a release and data."""
    root = home / "apps" / name
    (root / "releases" / release).mkdir(parents=True)
    (root / "releases" / release / "code.py").write_bytes(b"x" * 50_000)
    (root / "data").mkdir()
    if data:
        (root / "data" / "file").write_bytes(b"d" * data)
    return root


def test_sizes_are_kept_until_releases_change_or_data_is_older_than_max_age(tmp_path: Path) -> None:
    clock = Clock()
    overview = Overview(tmp_path, max_age=60, clock=clock)
    hello = app(tmp_path, "hello", data=100_000)
    first = overview.read()
    assert first.apps == 1
    assert first.disk["releases"] >= 50_000 and first.disk["data"] >= 100_000
    assert first.supervisor["state"] in ("disabled", "stopped")
    assert first.web_server.setting == "none" and (first.vhosts, first.mounts) == (0, 0)

    # More data: not measured again before max_age.
    (hello / "data" / "more").write_bytes(b"m" * 200_000)
    assert overview.read().disk["data"] == first.disk["data"]
    clock.now = 61
    assert overview.read().disk["data"] >= first.disk["data"] + 200_000

    # A new release is measured at once (the app's set of releases changed); a removed app is gone at once.
    (hello / "releases" / "1.1.0-ba9876543210").mkdir()
    (hello / "releases" / "1.1.0-ba9876543210" / "code.py").write_bytes(b"y" * 300_000)
    assert overview.read().disk["releases"] >= first.disk["releases"] + 300_000
    app(tmp_path, "world")
    assert overview.read().apps == 2
    shutil.rmtree(tmp_path / "apps" / "world")
    assert overview.read().apps == 1

    overview.forget()
    (hello / "data" / "file").unlink()
    assert overview.read().disk["data"] < first.disk["data"] + 200_000, "forget() measures again at once"
    assert 0 < overview.read().disk["free"] <= overview.read().disk["size"]
