"""``pyapp-ctl vhosts`` and ``pyapp-ctl apps mount|unmount`` against a real local pyapp-server."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
    clean.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"),
        XDG_CACHE_HOME=str(home / ".cache"), PIP_NO_INDEX="1", PYAPP_HOME=str(tmp_path / "data"),
        PYAPP_DAEMONS="0",
    )  # fmt: skip
    return clean


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    proc = subprocess.Popen(
        [str(BIN / "pyapp-server"), "run", "--port", "0", "--data-dir", str(tmp_path / "data")],
        env=env, cwd=env["HOME"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert " on http://" in line, f"pyapp-server did not start: {line!r}"
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def hello(out: Path, name: str) -> Path:
    from pyapp_tools.building import BuildOptions, build

    source = out / name
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(re.sub(r"(?m)^name: .*$", f"name: {name}", meta.read_text()))
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


def test_vhosts_and_mounts_with_pyapp_ctl(server: None, env: dict[str, str], tmp_path: Path) -> None:
    def ctl(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "pyapp-ctl"), *map(str, args)], env=env, capture_output=True, text=True, timeout=240
        )
        if ok:
            assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    for name in ("hello", "world"):
        ctl("apps", "install", hello(tmp_path / "src", name))
    assert (
        "added virtual host main (http://127.0.0.1:18090/)"
        in ctl("vhosts", "add", "main", "--port", "18090").stdout
    )
    assert (
        "mounted hello at http://127.0.0.1:18090/hello/"
        in ctl("apps", "mount", "hello", "main", "/hello").stdout
    )

    refused = ctl("apps", "mount", "world", "main", "/hello", "--json", ok=False)
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert (error["code"], error["holder"]) == ("mount-conflict", "hello")
    assert "is already mounted at /hello" in refused.stderr

    listed = json.loads(ctl("vhosts", "list", "--json").stdout)
    assert [(m["app"], m["prefix"]) for m in listed["mounts"]] == [("hello", "/hello")]
    assert "no web server serves the routes" in ctl("vhosts", "list").stdout

    assert "unmounted hello from main /hello" in ctl("apps", "unmount", "hello").stdout
    assert "removed virtual host main" in ctl("vhosts", "remove", "main").stdout
    assert "no virtual hosts" in ctl("vhosts", "list").stdout
