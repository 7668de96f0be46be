"""``pyapp-ctl``: install with services, show, set and unset them on a real ``pyapp-server`` (masked)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"
PASSWORD = "ctl-s3cret"
SERVICES = """\
services:
  db:
    type: postgresql
  mail:
    type: smtp
    required: false
"""


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


@pytest.fixture
def package(tmp_path: Path) -> Path:
    from pyapp_tools.building.builder import BuildOptions, build

    source = tmp_path / "src" / "hello"
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(meta.read_text() + SERVICES)
    return build(source, BuildOptions(out_dir=tmp_path / "dist", offline=True)).path


def ctl(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("pyapp-ctl"), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_services_show_set_unset_never_print_a_password(
    local_server: None, server_env: dict[str, str], package: Path
) -> None:
    env = server_env
    db = f"postgresql://hello:{PASSWORD}@db.example:5432/hello"
    missing = ctl(env, "apps", "install", package)
    assert missing.returncode == 1 and "db: the required postgresql service has no value" in missing.stderr
    assert "--service NAME=VALUE" in missing.stderr
    installed = ok(ctl(env, "apps", "install", package, "--service", f"db={db}"))
    shown = ok(ctl(env, "services", "show", "hello"))
    assert "db (postgresql, required, PYAPP_SERVICE_DB) = postgresql://hello:****@db.example:5432/hello" in (
        shown.stdout
    )
    assert "mail (smtp, optional, PYAPP_SERVICE_MAIL) = - (not provided)" in shown.stdout

    changed = ok(ctl(env, "services", "set", "hello", f"mail=smtp://bot:{PASSWORD}@mail.example:25"))
    assert "changed: mail" in changed.stdout and "smtp://bot:****@mail.example:25" in changed.stdout
    refused = ctl(env, "services", "set", "hello", "db=sqlite:///tmp/x.db")
    assert refused.returncode == 1 and "expected a postgresql URL" in refused.stderr
    assert ctl(env, "services", "unset", "hello", "db").returncode == 1
    unset = ok(ctl(env, "services", "unset", "hello", "mail", "--json"))
    assert json.loads(unset.stdout)["changed"] == ["mail"]
    for proc in (installed, shown, changed, refused, unset):
        assert PASSWORD not in proc.stdout + proc.stderr
