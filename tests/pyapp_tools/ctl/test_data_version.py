"""``pyapp-ctl`` and the data version (spec section 3.19), against a real local pyapp-server: a rollback below
it refused naming the backup and the ``pyapp-ctl`` commands that restore it and roll back, which then work;
``--force``; the data version and update policy in ``apps show``, ``releases`` and ``backups``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def hello(out: Path, version: str, data_version: int) -> Path:
    """examples/hello at *version*, keeping its data in *data_version* (a version 1.1 description), built."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / version / "hello"
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    text = re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text())
    text = re.sub(r"(?m)^pyapp: .*$", 'pyapp: "1.1"', text)
    meta.write_text(text + f"data_version: {data_version}\n")
    return build(source, BuildOptions(out_dir=out / version / "dist", offline=True)).path


@pytest.fixture
def ctl(local_server: None, server_env: dict[str, str]):
    def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "pyapp-ctl"), *map(str, args)], env=server_env, capture_output=True, text=True,
            timeout=240,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    return run


def test_a_refused_rollback_is_restored_then_rolled_back_with_the_commands_it_names(
    ctl, tmp_path: Path
) -> None:
    ctl("apps", "install", hello(tmp_path, "1.0.0", 1))
    ctl("apps", "update", "hello", hello(tmp_path, "2.0.0", 2))
    shown = ctl("apps", "show", "hello").stdout
    assert "  data version: 2 (since the update to hello 2.0.0)" in shown
    assert "  updates: strategy always-latest, start beside" in shown
    releases = ctl("apps", "releases", "hello").stdout.splitlines()
    assert releases[0].split()[:5] == ["RELEASE", "VERSION", "INSTALLED", "SIZE", "DATA"]
    backups = ctl("apps", "backups", "hello").stdout.splitlines()
    assert backups[0].split() == ["BACKUP", "CREATED", "SIZE", "VERSION", "DATA", "REASON"]
    assert backups[1].split()[-5:] == ["1.0.0", "1", "pre-update", "(to", "2.0.0)"]
    backup = backups[1].split()[0]

    refused = ctl("apps", "rollback", "hello", ok=False)

    assert refused.returncode == 1
    assert f"(pyapp-ctl apps restore hello {backup})" in refused.stderr
    assert "(pyapp-ctl apps rollback hello)" in refused.stderr
    assert "(pyapp-ctl apps rollback hello --force) does it on the data as it is" in refused.stderr
    restored = ctl("apps", "restore", "hello", backup, "--yes")
    assert "roll back to the release that made the backup" in restored.stderr
    assert "hello rolled back from 2.0.0 to 1.0.0" in ctl("apps", "rollback", "hello").stdout
    assert "  data version: 1 (since the restore of " in ctl("apps", "show", "hello").stdout
    # Forward, then back again with --force: on the data as it is, and said so.
    ctl("apps", "rollback", "hello")
    ctl("apps", "update", "hello", hello(tmp_path, "3.0.0", 3))
    forced = ctl("apps", "rollback", "hello", "--to", "1.0.0", "--force")
    assert "hello rolled back from 3.0.0 to 1.0.0" in forced.stdout
    assert "the data stays in data version 3" in forced.stderr
