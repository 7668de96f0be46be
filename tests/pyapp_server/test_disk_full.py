"""The API when the disk is full: an upload, or an install, answers ``507 disk-full`` (never 500), and
leaves nothing behind.

Small tmpfs mounts stand for the full disk (mounting one takes root: the tests are skipped otherwise).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from apppackage.record import render_record

SIZE = 2 * 1024 * 1024


@contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    """A tmpfs of :data:`SIZE` bytes mounted on *where* for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def big_package(tmp_path: Path) -> Path:
    """A valid package holding a file twice the size of the small disk (random: it does not compress)."""
    files = {
        "metadata.yaml": b'pyapp: "1.0"\nname: bulky\nversion: "1.0.0"\n',
        "src/data.bin": os.urandom(2 * SIZE),
    }
    files["RECORD"] = render_record(files).encode()
    path = tmp_path / "bulky-1.0.0.pyapp"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_an_upload_to_a_full_disk(make_api: Callable[..., Any], tmp_path: Path) -> None:
    api = make_api()
    uploads = api.services.settings.upload_dir
    package = big_package(tmp_path)
    with small_disk(uploads):
        response = api.upload("/api/v1/apps", package)
        assert response.status_int == 507, response.text
        error = response.json["error"]
        assert error["code"] == "disk-full"
        assert error["message"].startswith(
            "the disk is full: the server has no space left to store the upload"
        )
        assert str(uploads) not in error["message"]  # a deployer is not told the server's paths
        assert list(uploads.iterdir()) == []
        admin = api.upload("/api/v1/apps", package, role="admin")
        assert admin.status_int == 507 and str(uploads) in admin.json["error"]["message"]
        assert list(uploads.iterdir()) == []


def test_an_install_onto_a_full_disk(make_api: Callable[..., Any], tmp_path: Path) -> None:
    api = make_api()
    apps = api.data_dir / "apps"
    with small_disk(apps):
        response = api.upload("/api/v1/apps", big_package(tmp_path))
        assert response.status_int == 202, response.text
        job = api.wait(response.json)
        assert job["state"] == "failed"
        assert (job["error"]["status"], job["error"]["code"]) == (507, "disk-full"), job
        assert job["error"]["message"].startswith(f"the disk is full: no space left for {apps}")
        assert "nothing was installed" in job["error"]["message"]
        assert [p.name for p in apps.iterdir() if not p.name.endswith(".lock")] == []
        assert api.get("/api/v1/apps").json["apps"] == []
