"""``pyapp install --service`` and ``pyapp services``: the real command line on a host in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pyapp_tools.building.builder import BuildOptions, build

PYAPP = str(Path(sys.executable).with_name("pyapp"))
PASSWORD = "pw-not-to-show"
DB = f"postgresql://app:{PASSWORD}@db.example:5432/app"

CODE = """\
import json, os


def env(argv):
    print(json.dumps({k: v for k, v in os.environ.items() if k.startswith("PYAPP_SERVICE_")}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small app with a required postgresql service, a sqlite one and an optional one."""
    root = tmp_path_factory.mktemp("svc")
    source = root / "svc"
    (source / "src" / "svc").mkdir(parents=True)
    (source / "src" / "svc" / "__init__.py").write_text(CODE)
    metadata = {
        "pyapp": "1.0",
        "name": "svc",
        "version": "1.0.0",
        "commands": {"env": "svc:env"},
        "services": {
            "db": {"type": "postgresql", "summary": "where the posts live"},
            "cache": {"type": "sqlite"},
            "mail": {"type": "smtp", "required": False},
        },
    }
    (source / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    return build(source, BuildOptions(out_dir=root / "dist", offline=True)).path


def pyapp(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYAPP_HOME": str(home), "PYAPP_DAEMONS": "0"}
    return subprocess.run(
        [PYAPP, *map(str, args)], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_install_without_a_required_service_says_which_and_how_to_give_it(
    package: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    refused = pyapp("install", package, home=home)
    assert refused.returncode == 1
    assert (
        "services.yaml:/db: the required postgresql service has no value (where the posts live)"
        in refused.stderr
    )
    assert "--service NAME=VALUE" in refused.stderr
    assert pyapp("list", home=home).stdout.strip() == "no apps installed"


def test_services_are_given_at_install_and_shown_masked_then_set_and_unset(
    package: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    installed = pyapp("install", package, "--service", f"db={DB}", home=home)
    assert installed.returncode == 0, installed.stderr
    cache = f"sqlite://{home / 'apps' / 'svc' / 'data' / 'cache.sqlite3'}"
    assert f"provisioned the service cache: {cache}" in installed.stderr

    table = pyapp("services", "svc", home=home)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split() == ["SERVICE", "TYPE", "VARIABLE", "REQUIRED", "VALUE", "SUMMARY"]
    assert "postgresql://app:****@db.example:5432/app" in table.stdout
    assert f"{cache} (provisioned)" in table.stdout
    assert "- (not provided)" in table.stdout
    shown = json.loads(pyapp("services", "svc", "--json", home=home).stdout)
    assert [(s["name"], s["provided"]) for s in shown["services"]] == [
        ("db", True),
        ("cache", True),
        ("mail", False),
    ]

    changed = pyapp("services", "svc", "set", "mail=smtp://mailer:hunter2@mail.example:25", home=home)
    assert changed.returncode == 0, changed.stderr
    assert "changed mail" in changed.stdout and "smtp://mailer:****@mail.example:25" in changed.stdout
    refused = pyapp("services", "svc", "set", f"db=mysql://app:{PASSWORD}@db/app", home=home)
    assert refused.returncode == 1 and "expected a postgresql URL" in refused.stderr
    assert pyapp("services", "svc", "unset", "db", home=home).returncode == 1
    unset = pyapp("services", "svc", "unset", "mail", "--json", home=home)
    assert json.loads(unset.stdout)["changed"] == ["mail"]
    everything = [installed, table, changed, refused, unset]
    for proc in everything:
        assert PASSWORD not in proc.stdout + proc.stderr and "hunter2" not in proc.stdout + proc.stderr
    stored = yaml.safe_load((home / "apps" / "svc" / "services.yaml").read_text())
    assert stored == {"db": DB, "cache": cache}
