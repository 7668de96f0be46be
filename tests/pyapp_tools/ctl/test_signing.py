"""``pyapp-ctl apps install|update --trust-key`` against a real local pyapp-server: an update signed by
another key is refused with the server's message, and goes through once the operator re-pins the app
(spec section 2.6)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from signkit import make_key

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def hello(out: Path, version: str, key: Path | None) -> Path:
    """examples/hello at *version*, built and signed with *key* (``None``: unsigned)."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / f"hello-{version}-{key.stem if key else 'unsigned'}"
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text()))
    return build(source, BuildOptions(out_dir=source / "dist", offline=True, sign=key)).path


def test_update_refused_for_a_foreign_key_then_re_pinned_with_trust_key(
    local_server: None, server_env: dict[str, str], tmp_path: Path
) -> None:
    def ctl(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pyapp-ctl"), *map(str, args)], env=server_env, capture_output=True, text=True,
            timeout=240,
        )  # fmt: skip

    author, author_fp = make_key(tmp_path / "keys", "author.key")
    other, other_fp = make_key(tmp_path / "keys", "other.key")
    installed = ctl("apps", "install", hello(tmp_path, "1.0.0", author))
    assert installed.returncode == 0, installed.stderr
    assert f"signed by: {author_fp}" in installed.stdout
    assert f"signing key: {author_fp}" in ctl("apps", "show", "hello").stdout

    foreign = hello(tmp_path, "1.1.0", other)
    refused = ctl("apps", "update", "hello", foreign)
    assert refused.returncode == 1
    assert f"is signed by {other_fp}, but hello is pinned to the key {author_fp}" in refused.stderr
    assert "--trust-key" in refused.stderr
    assert json.loads(ctl("apps", "show", "hello", "--json").stdout)["version"] == "1.0.0"

    updated = ctl("apps", "update", "hello", foreign, "--trust-key", other_fp)
    assert updated.returncode == 0, updated.stderr
    assert f"pinned to {other_fp} now (was {author_fp})" in updated.stdout

    # From a server path (JSON) too: an unsigned package, accepted as such.
    unsigned = hello(tmp_path, "1.2.0", None)
    drop = tmp_path / "data" / "drop" / "incoming"
    drop.mkdir(parents=True, exist_ok=True)
    on_server = shutil.copy(unsigned, drop / unsigned.name)
    refused_path = ctl("apps", "update", "hello", on_server, "--server-path")
    assert refused_path.returncode == 1 and "is not signed" in refused_path.stderr
    done = ctl("apps", "update", "hello", on_server, "--server-path", "--trust-key", "unsigned", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    assert (result["signer"], result["repinned_from"]) == (None, other_fp)
