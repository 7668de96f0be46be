"""A dependency's .pth file is not processed (spec section 5.2): the install says so, naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyapp_runtime import Host


def test_an_install_warns_of_a_pth_file_that_could_matter_and_not_of_the_harmless_ones(
    home: Path, factory: Any, make_wheel: Any, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = make_wheel(
        wheels,
        {
            "extra_path.pth": b"extra_dir\n",
            "extra_dir/hidden_mod.py": b"VALUE = 1\n",
            "distutils-precedence.pth": b"import os\n",
            "demo-1.0-nspkg.pth": b"import sys\n",
            "demo/__init__.py": b"",
        },
    )
    package = factory.probe(metadata={"dependencies": {"packages": ["demo"]}}, wheels=[wheel])
    messages: list[str] = []
    result = Host(home, progress=messages.append).install(package)
    pth = [w for w in result.warnings if ".pth files are not processed" in w]
    assert len(pth) == 1 and pth[0].split(":")[0].endswith("/extra_path.pth")
    assert f"warning: {pth[0]}" in messages
    # What the warning is about: the path it would have added is not on the app's sys.path.
    probe = Host(home).run_command("probe", "probe", ["hidden_mod"], capture=True)
    assert json.loads(probe.output.strip().splitlines()[-1]).get("hidden_mod_error")
