"""``pyapp-ctl host``, ``web``, ``tokens`` and ``apps reload|releases|backups|restore|log`` against a real
local pyapp-server (running no apps' processes)."""

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


def hello(out: Path) -> Path:
    """examples/hello with an install hook (its output goes to the app's hooks log), built."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / "hello"
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(meta.read_text() + "hooks:\n  install: hello.commands:greet\n")
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


@pytest.fixture
def ctl(local_server: None, server_env: dict[str, str]):
    def run(*args: str | Path, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "pyapp-ctl"), *map(str, args)],
            env=server_env, input=stdin, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    return run


def test_the_host_its_settings_and_its_web_server(ctl, tmp_path: Path) -> None:
    status = ctl("host", "status").stdout
    assert "supervisord: disabled" in status and "apps: 0" in status
    assert "web server: no web server serves the routes" in status
    assert json.loads(ctl("host", "status", "--json").stdout)["disk"]["free"] > 0

    table = ctl("host", "settings").stdout.splitlines()
    assert table[0].split() == ["SETTING", "VALUE", "FROM", "DEFAULT"]
    assert ["threads", "4", "default", "4"] in [line.split() for line in table]

    changed = ctl("host", "settings", "--set", "threads=8", "--set", "limits.memory=1G").stdout
    assert "host.yaml: changed threads, limits" in changed
    assert ["threads", "8", "host.yaml", "4"] in [
        line.split() for line in ctl("host", "settings").stdout.splitlines()
    ]
    assert "threads: 8" in (tmp_path / "data" / "host.yaml").read_text()

    refused = ctl("host", "settings", "--set", "threads=0", "--set", "listen=tcp", "--json", ok=False)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "invalid-settings"
    assert "  threads: 0 must be a whole number from 1 to 256" in refused.stderr
    assert "  listen: 'tcp' must be unix or port" in refused.stderr
    assert "threads: 8" in (tmp_path / "data" / "host.yaml").read_text(), "nothing was written"
    assert "host.yaml: changed threads" in ctl("host", "settings", "--unset", "threads").stdout

    web = ctl("web", "status").stdout
    assert "setting: none" in web and "0 virtual host(s), 0 mount(s)" in web
    assert "no web server serves the routes" in ctl("web", "apply").stdout
    start = ctl("web", "start", ok=False)
    assert start.returncode == 1 and "the setting is none" in start.stderr


def test_an_apps_releases_backups_restore_output_and_reload(ctl, tmp_path: Path) -> None:
    ctl("apps", "install", hello(tmp_path / "src"))
    releases = ctl("apps", "releases", "hello").stdout.splitlines()
    assert releases[0].split()[:4] == ["RELEASE", "VERSION", "INSTALLED", "SIZE"]
    assert "hello-1.0.0.pyapp (sha256 " in releases[1] and releases[1].rstrip().endswith("current")

    assert "hello has no backups" in ctl("apps", "backups", "hello").stdout
    ctl("config", "set", "hello", "greeting=Before")
    ctl("apps", "backup", "hello")
    ctl("config", "set", "hello", "greeting=After")
    (backup,) = json.loads(ctl("apps", "backups", "hello", "--json").stdout)["backups"]
    assert backup["name"] in ctl("apps", "backups", "hello").stdout

    kept = ctl("apps", "restore", "hello", backup["name"], stdin="n\n", ok=False)
    assert kept.returncode == 1 and "Aborted" in kept.stderr
    assert "After" in ctl("config", "show", "hello").stdout
    restored = ctl("apps", "restore", "hello", backup["name"], "--yes").stdout
    assert f"hello restored from {backup['name']} (made by 1.0.0)" in restored
    assert "'Before'" in ctl("config", "show", "hello").stdout
    missing = ctl("apps", "restore", "hello", "nope.tar.gz", "--yes", ok=False)
    assert missing.returncode == 1 and f"its backups: {backup['name']}" in missing.stderr

    output = ctl("apps", "log", "hello", "hooks", "-n", "3").stdout.splitlines()
    assert 0 < len(output) <= 3
    unknown = ctl("apps", "log", "hello", "queue#0", ok=False)
    assert (
        unknown.returncode == 1
        and "hello has no process 'queue#0' with a log (known: hooks)" in unknown.stderr
    )

    reload = ctl("apps", "reload", "hello", ok=False)
    assert reload.returncode == 1 and "cannot reload app processes" in reload.stderr


def test_tokens_are_made_listed_and_revoked(ctl, server_env: dict[str, str]) -> None:
    made = ctl("tokens", "create", "--role", "viewer", "--name", "ci")
    secret = made.stdout.strip()
    assert secret.startswith("pyapp_") and "the secret above is shown only once" in made.stderr
    listed = ctl("tokens", "list").stdout
    assert " viewer " in listed and " ci " in listed and secret not in listed
    (token,) = [t for t in json.loads(ctl("tokens", "list", "--json").stdout)["tokens"] if t["name"] == "ci"]

    as_viewer = subprocess.run(
        [str(BIN / "pyapp-ctl"), "--token", secret, "tokens", "list"],
        env=server_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert as_viewer.returncode == 1 and "has the role viewer" in as_viewer.stderr
    assert f"revoked token {token['id']} (viewer) of ci" in ctl("tokens", "revoke", token["id"]).stdout
    gone = ctl("tokens", "revoke", token["id"], ok=False)
    assert gone.returncode == 1 and f"no token has the id {token['id']!r}" in gone.stderr
