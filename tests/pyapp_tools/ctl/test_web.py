"""``pyapp-ctl vhosts`` and ``pyapp-ctl apps mount|unmount`` against a real local pyapp-server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def hello(out: Path, name: str) -> Path:
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / name
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(re.sub(r"(?m)^name: .*$", f"name: {name}", meta.read_text()))
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


def test_vhosts_and_mounts_with_pyapp_ctl(
    local_server: None, server_env: dict[str, str], tmp_path: Path
) -> None:
    def ctl(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "pyapp-ctl"), *map(str, args)],
            env=server_env,
            capture_output=True,
            text=True,
            timeout=240,
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
