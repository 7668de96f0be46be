"""The project's own distribution: its wheel, and the editable install ``./dev`` makes, built offline from a
copy of the tree (the setuptools of the tests' wheelhouse), with no warning from the build backend and with
every file that is not a module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREE = ("pyproject.toml", "README.md", "LICENSE", "apppackage", "runtime", "server", "tools")
# What a build backend says that pip shows whatever its verbosity: a warning of the backend, or of setuptools.
WARNED = re.compile(r"BuildBackendWarning|SetuptoolsDeprecationWarning|SetuptoolsWarning|absent from the")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's files as a checkout has them (no caches, no build output)."""
    target = tmp_path_factory.mktemp("project") / "src"
    target.mkdir()
    for name in TREE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, target / name)
    return target


def pip(*args: str | Path, wheelhouse: Path, env: dict[str, str] | None = None) -> str:
    """Run pip offline (the wheelhouse only, no configuration of this machine); its whole output."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    environ.update({"PIP_CONFIG_FILE": os.devnull, **(env or {})})
    command = [
        sys.executable,
        "-m",
        "pip",
        *map(str, args),
        "--no-deps",
        "--no-index",
        "--find-links",
        wheelhouse,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_the_wheel_builds_without_a_warning_and_holds_every_data_file(
    source: Path, tmp_path: Path, wheelhouse: Path
) -> None:
    output = pip("wheel", "-w", tmp_path, source, wheelhouse=wheelhouse)
    assert not WARNED.search(output), output
    (wheel,) = tmp_path.glob("apppackage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [
        *(f"apppackage/schemas/{p.name}" for p in (ROOT / "apppackage" / "schemas").glob("*.json")),
        "apppackage/py.typed",
        "pyapp_server/openapi.json",
    ]
    ui = ROOT / "server" / "pyapp_server" / "ui"
    for folder in ("templates", "static"):
        data += [str(p.relative_to(ui.parents[1])) for p in (ui / folder).rglob("*") if p.is_file()]
    assert len([n for n in data if n.startswith("apppackage/schemas/")]) >= 2
    assert not [n for n in data if n not in names]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_editable_install_of_dev_says_nothing_either(
    source: Path, tmp_path: Path, wheelhouse: Path
) -> None:
    notice = re.search(r'^EDITABLE_NOTICE="([^"]*)"$', (ROOT / "dev").read_text(), re.M)
    assert notice, "./dev names the notice it silences"
    # Into an environment of its own: never the one the tests run in.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    output = pip(
        "--python", venv / "bin" / "python", "install", "-e", source,
        wheelhouse=wheelhouse, env={"PYTHONWARNINGS": notice.group(1)},
    )  # fmt: skip
    assert not WARNED.search(output), output
    assert list((venv / "lib").glob("python*/site-packages/__editable__.apppackage-*.pth"))
