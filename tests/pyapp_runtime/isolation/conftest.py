"""Hosts whose apps get users of their own: an interpreter those users can run, a home they can reach.

A user of its own needs the interpreter, the runtime's code and the home's parent to be
reachable by other users. The test session's interpreter may live where they cannot go
(``/root/.pyenv``): then a virtual environment of the system's ``python3`` of the same
version, reading this interpreter's site-packages, stands in for it (the host's commands
run with it, so supervisord and every program do too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyapp_runtime.isolation.identity import closed_paths

ROOT = os.geteuid() == 0
MAIN = "import sys; from pyapp_tools.cli import main; sys.argv[0] = 'pyapp'; main()"


def _reachable(python: str) -> bool:
    import pyapp_runtime

    import apppackage

    paths = [python, str(Path(pyapp_runtime.__file__).parent), str(Path(apppackage.__file__).parent)]
    return not closed_paths(paths)


@pytest.fixture(scope="session")
def shared_python() -> Iterator[str]:
    """An interpreter with this session's packages that other users can run (skip when there is none)."""
    if _reachable(sys.executable):
        yield sys.executable
        return
    system = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if system is None or not _reachable(system):
        pytest.skip("no interpreter other users can run: the apps' users could not start")
    found = subprocess.run(
        [system, "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if found != version:
        pytest.skip(f"{system} is Python {found}, not {version}: no interpreter other users can run")
    base = Path(tempfile.mkdtemp(prefix="pyapp-py-", dir="/tmp"))
    base.chmod(0o755)
    venv = base / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{version}" / "site-packages"
    own = sysconfig.get_paths()["purelib"]
    (site / "_pyapp_session.pth").write_text(f"import site; site.addsitedir({own!r})\n")
    python = str(venv / "bin" / "python")
    if not _reachable(python):  # pragma: no cover - the venv links to the system's interpreter
        pytest.skip(f"{python} is not reachable by other users")
    try:
        yield python
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A host directory under a directory other users can pass (``/tmp/pyapp-w-*/home``); its
    supervisord is stopped afterwards."""
    from testkit import stop_supervisord

    base = Path(tempfile.mkdtemp(prefix="pyapp-w-", dir="/tmp"))
    base.chmod(0o755)
    home = base / "home"
    try:
        yield home
    finally:
        stop_supervisord(home / "supervisor")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pyapp(shared_python: str, open_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``pyapp(*args)``: the ``pyapp`` command line, run by the shared interpreter on *open_home*."""

    def run(
        *args: str | Path, check: bool = True, web_server: str | None = None, home: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYAPP_")}
        env.update(
            PYAPP_HOME=str(home or open_home),
            PYAPP_DAEMONS="1",
            PYTHONDONTWRITEBYTECODE="1",
            PIP_NO_INDEX="1",
        )
        if web_server:
            env["PYAPP_WEB_SERVER"] = web_server
        argv = [
            shared_python,
            "-c",
            "import sys; from pyapp_tools.cli import main; sys.argv[0] = 'pyapp'; main()",
        ]
        proc = subprocess.run(
            [*argv, *map(str, args)], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"pyapp {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run
