"""A disk that fills up during an update: a clear error naming the place, nothing half-installed left,
the previous release still serving, and the space given back.

The host's home is a small tmpfs (mounting one takes root: the tests are skipped otherwise).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import DiskFull, Host
from pyapp_runtime.settings import HostSettings

pytestmark = pytest.mark.slow

SIZE = 8 * 1024 * 1024
"""The tmpfs: room for a small release, its supervisord and logs, not for the big one."""
DAEMONS_ON = {"PYAPP_DAEMONS": "1"}


@pytest.fixture
def small_home(home: Path, helpers: Any) -> Iterator[Path]:
    """*home* on a tmpfs of :data:`SIZE` bytes, unmounted (its supervisord stopped first) afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(home)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield home
    finally:
        helpers.stop_supervisord(home / "supervisor")
        if subprocess.run(["umount", str(home)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(home)], check=False)


def free(path: Path) -> int:
    return shutil.disk_usage(path).free


def big_webprobe(packages: Any, version: str) -> Path:
    """webprobe with a module half again as large as the disk (random, so it does not compress)."""
    blob = base64.b64encode(os.urandom(SIZE * 3 // 4 * 3 // 2)).decode()
    return Path(packages.webprobe(version, extra=f"\nBLOB = {blob!r}\n"))


def test_an_update_that_fills_the_disk(small_home, packages, helpers, pyapp_cli):
    home = small_home
    helpers.write_host_yaml(home)
    host = Host(home, settings=HostSettings.load(home).with_environment(DAEMONS_ON))
    old = host.install(packages.webprobe("1.0.0"))
    app = home / "apps" / "webprobe"
    (app / "data" / "keep.txt").write_text("precious")
    before = free(home)
    big = big_webprobe(packages, "2.0.0")

    with pytest.raises(DiskFull) as info:
        host.install(big)
    message = str(info.value)
    assert message.startswith("the disk is full: no space left for ")
    assert info.value.path.startswith(str(app / "releases")), info.value.path
    assert "webprobe 1.0.0 is still the current release" in message
    assert "free some space" in message

    # Nothing of the new release is left, the space is back, the old release serves.
    assert [p.name for p in (app / "releases").iterdir()] == [old.release]
    assert not (home / "apps" / "webprobe.journal").exists()
    assert free(home) >= before - 64 * 1024
    assert helpers.request(helpers.stable_socket(home, "webprobe")) == (200, "webprobe 1.0.0")
    assert {p.release for p in host.status("webprobe")} == {old.release}
    assert (app / "data" / "keep.txt").read_text() == "precious"

    # The command line says the same, in one message and no traceback.
    proc = pyapp_cli("install", big, home=home, env=DAEMONS_ON)
    assert proc.returncode == 1
    assert "the disk is full: no space left for " + str(app / "releases") in proc.stderr
    assert "Traceback" not in proc.stderr
    shown = json.loads(pyapp_cli("show", "webprobe", "--json", home=home, env=DAEMONS_ON).stdout)
    assert shown["version"] == "1.0.0" and shown["recovered"] is None
    assert free(home) >= before - 64 * 1024


def test_a_first_install_that_fills_the_disk(small_home, packages, pyapp_cli):
    home = small_home
    before = free(home)
    proc = pyapp_cli("install", big_webprobe(packages, "1.0.0"), home=home)
    assert proc.returncode == 1
    assert "the disk is full: no space left for " in proc.stderr and "Traceback" not in proc.stderr
    assert "nothing was installed: webprobe is not on this host" in proc.stderr
    assert not (home / "apps" / "webprobe").exists()
    assert json.loads(pyapp_cli("list", "--json", home=home).stdout) == []
    assert free(home) >= before - 64 * 1024
