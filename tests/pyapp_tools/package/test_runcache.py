"""The run cache: packages prepared once, checked before use, old entries cleaned up."""

from __future__ import annotations

import fcntl
import os
import threading
import zipfile
from pathlib import Path

import pytest
from pyapp_tools.building.builder import BuildOptions, build
from pyapp_tools.package import runcache

from apppackage import AppPackageError, IntegrityError


@pytest.fixture
def hello_pyapp(repo_root: Path, tmp_path: Path) -> Path:
    return build(repo_root / "examples/hello", BuildOptions(out_dir=tmp_path / "dist")).path


def test_a_package_is_prepared_once_and_reused(hello_pyapp: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with runcache.prepared(hello_pyapp, cache) as first:
        assert (first.root / "src/hello/app.py").is_file()
        assert first.site_packages.is_dir()
        marker = first.root / "marker"
        marker.write_text("")
    with runcache.prepared(hello_pyapp, cache) as second:
        assert second.entry == first.entry == cache / second.sha256
        assert marker.exists()  # not extracted again


def test_a_package_runs_more_than_once_at_the_same_time(hello_pyapp: Path, tmp_path: Path) -> None:
    # As `pyapp run PKG` in one terminal and `pyapp command PKG ...` in another.
    cache = tmp_path / "cache"
    entered: list[Path] = []

    def run_again() -> None:
        with runcache.prepared(hello_pyapp, cache) as again:
            entered.append(again.entry)

    with runcache.prepared(hello_pyapp, cache) as running:
        second = threading.Thread(target=run_again, daemon=True)
        second.start()
        second.join(timeout=60)
        assert entered == [running.entry]


def test_a_tampered_package_is_refused_before_it_is_used(hello_pyapp: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.pyapp"
    with zipfile.ZipFile(hello_pyapp) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b"#" if info.filename == "src/hello/app.py" else data)
    cache = tmp_path / "c"
    with pytest.raises(IntegrityError, match=r"src/hello/app\.py"), runcache.prepared(tampered, cache):
        pass
    assert not list((tmp_path / "c").glob("*/.complete"))


def test_clean_keeps_the_most_recent_entries_and_those_in_use(tmp_path: Path) -> None:
    for i in range(8):
        entry = tmp_path / f"entry{i}"
        entry.mkdir()
        (entry / ".complete").write_text("")
        os.utime(entry / ".complete", (1000 + i, 1000 + i))
    with open(tmp_path / "entry0" / ".lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        removed = runcache.clean(tmp_path, keep=5)
    assert sorted(p.name for p in removed) == ["entry1", "entry2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "entry0",
        "entry3",
        "entry4",
        "entry5",
        "entry6",
        "entry7",
    ]


def test_a_wheel_for_another_platform_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "fast-1.0-cp27-cp27mu-win32.whl"
    wheel.write_bytes(b"")
    with pytest.raises(AppPackageError, match="does not fit this Python"):
        runcache.install_wheels([wheel], tmp_path / "site-packages")


def test_the_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert runcache.cache_root() == tmp_path / "pyapp" / "run"
