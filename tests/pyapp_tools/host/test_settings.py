"""``pyapp settings``: the host's settings shown and changed by the real command line (a host in tmp_path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PYAPP = str(Path(sys.executable).with_name("pyapp"))


def pyapp(home: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYAPP_")}
    env.update(PYAPP_HOME=str(home), **variables)
    return subprocess.run([PYAPP, *args], env=env, capture_output=True, text=True, timeout=120)


def test_settings_are_shown_changed_and_refused_with_every_problem(tmp_path: Path) -> None:
    shown = pyapp(tmp_path, "settings")
    assert shown.returncode == 0, shown.stderr
    assert ["stop_wait", "30", "default", "30"] in [line.split() for line in shown.stdout.splitlines()]

    changed = pyapp(tmp_path, "settings", "--set", "stop_wait=10", "--set", "apps.blog.threads=2")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "host.yaml: changed stop_wait, apps"
    told = {s["key"]: s for s in json.loads(pyapp(tmp_path, "settings", "--json").stdout)["settings"]}
    assert (told["stop_wait"]["value"], told["stop_wait"]["source"]) == (10, "host.yaml")
    assert told["apps"]["value"]["blog"]["threads"] == 2

    before = (tmp_path / "host.yaml").read_bytes()
    refused = pyapp(tmp_path, "settings", "--set", "stop_wait=0", "--set", "confinement=chroot")
    assert refused.returncode == 1
    assert "/stop_wait: 0 must be a whole number from 1 to 3600" in refused.stderr
    assert "/confinement: 'chroot' must be one of auto, bubblewrap, none" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert (tmp_path / "host.yaml").read_bytes() == before

    back = pyapp(tmp_path, "settings", "--unset", "stop_wait", "--unset", "apps.blog")
    assert back.stdout.strip() == "host.yaml: changed stop_wait, apps"
    left = [line for line in (tmp_path / "host.yaml").read_text().splitlines() if not line.startswith("#")]
    assert left == [], "every setting is its default again"

    overridden = pyapp(tmp_path, "settings", "--set", "daemons=false", PYAPP_DAEMONS="1")
    assert "note: $PYAPP_DAEMONS overrides daemons: the host keeps running by it" in overridden.stderr
