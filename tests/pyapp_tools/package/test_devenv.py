"""A checkout runs with its declared dependencies only, as its package will: ``pyapp run DIR``,
``pyapp command DIR``, the environment cached by what it resolved to, built offline from local wheels."""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

METADATA = """\
pyapp: "1.0"
name: isolated
version: "0.1.0"
wsgi:
  app: isolated.app:application
commands:
  show: isolated.app:show
  lazy: isolated.lazy:show
"""

# Imports PyYAML (the distribution) as yaml (the module): the tools' environment has it.
UNDECLARED = """\
import yaml


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [yaml.safe_dump({"ok": True}).encode()]


def show(argv):
    print(yaml.__file__)
"""

DECLARED = """\
import json
import sys

import markupsafe


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(markupsafe.escape("<b>")).encode()]


def show(argv):
    print(json.dumps({"markupsafe": markupsafe.__file__, "escaped": str(markupsafe.escape("<b>")),
                      "sys_path": sys.path}))
"""

HINT = (
    "module 'yaml' is not among the app's declared dependencies; the surrounding environment has it "
    "from distribution 'PyYAML': add 'PyYAML' to the dependencies"
)


def project(write_project: Callable[..., Path], metadata: str, code: str) -> Path:
    return write_project(
        {
            "metadata.yaml": metadata,
            "src/isolated/__init__.py": "",
            "src/isolated/app.py": code,
            "src/isolated/lazy.py": "def show(argv):\n    import yaml\n",
        }
    )


@pytest.fixture
def offline_env(cli_env: dict[str, str]) -> dict[str, str]:
    """No package index, no wheel folder but those a test names, no pip configuration of this machine."""
    return dict(cli_env, PIP_NO_INDEX="1", PIP_FIND_LINKS="", PIP_CONFIG_FILE=os.devnull)


def test_an_undeclared_import_fails_from_a_checkout_naming_the_distribution(
    write_project: Callable[..., Path], cli, offline_env: dict[str, str]
) -> None:
    # The tools' environment has PyYAML: it used to leak into a checkout and hide the missing declaration.
    root = project(write_project, METADATA, UNDECLARED)

    command = cli("pyapp", "command", root, "show", env=offline_env)
    assert command.returncode == 2
    assert "ModuleNotFoundError: No module named 'yaml'" in command.stderr
    assert HINT in command.stderr

    # Imported while the command runs: the traceback, then the same advice.
    lazy = cli("pyapp", "command", root, "lazy", env=offline_env)
    assert lazy.returncode == 1
    assert lazy.stderr.index("Traceback") < lazy.stderr.index(HINT)

    served = cli("pyapp", "run", root, "--port", "0", env=offline_env)
    assert served.returncode == 2, served.stdout + served.stderr
    assert f"web | pyapp: {HINT}" in served.stdout
    assert "web exited with status 2" in served.stderr
    assert "Serving" not in served.stdout


@pytest.mark.slow
def test_a_declared_dependency_runs_offline_and_a_second_run_resolves_nothing(
    write_project: Callable[..., Path],
    cli,
    offline_env: dict[str, str],
    wheelhouse: Path,
    serve_app: Callable[..., object],
) -> None:
    metadata = METADATA + "dependencies:\n  packages: [markupsafe]\n"
    root = project(write_project, metadata, DECLARED)
    cache = Path(offline_env["XDG_CACHE_HOME"]) / "pyapp"

    first = cli("pyapp", "command", "--find-links", wheelhouse, root, "show", env=offline_env)
    assert first.returncode == 0, first.stderr
    assert "Resolving markupsafe offline" in first.stderr
    data = json.loads(first.stdout)
    (entry,) = [p for p in (cache / "envs").iterdir() if not p.name.startswith(".")]
    assert Path(data["markupsafe"]).is_relative_to(entry / "site-packages")
    assert data["escaped"] == "&lt;b&gt;"
    assert "markupsafe==" in (entry / "requirements.txt").read_text()
    # Isolated: nothing of the environment pyapp runs in is on the app's sys.path.
    assert sysconfig.get_paths()["purelib"] not in data["sys_path"]
    assert sys.prefix != sys.base_prefix  # the tests run in a virtualenv, which the app must not see
    assert not [p for p in data["sys_path"] if p.startswith(sys.prefix + os.sep)]

    # The second run finds its environment by its declaration: with no wheel anywhere (pyapp's wheel
    # cache emptied, no --find-links, no index), a resolution could not succeed; none runs.
    declared = {p.name: p.stat().st_mtime_ns for p in (cache / "envs" / ".declared").iterdir()}
    installed = (entry / "site-packages").stat().st_mtime_ns
    shutil.rmtree(cache / "wheels")
    second = cli("pyapp", "command", root, "show", env=offline_env)
    assert second.returncode == 0, second.stderr
    assert "Resolving" not in second.stderr and "Installed" not in second.stderr
    assert json.loads(second.stdout)["markupsafe"] == data["markupsafe"]
    assert {p.name: p.stat().st_mtime_ns for p in (cache / "envs" / ".declared").iterdir()} == declared
    assert (entry / "site-packages").stat().st_mtime_ns == installed

    # pyapp run serves from the same environment.
    with serve_app(root, env=offline_env) as server:
        assert server.get("/") == (200, "&lt;b&gt;")
    assert not [p for p in (cache / "envs").iterdir() if not p.name.startswith(".") and p != entry]


def test_dependencies_no_wheel_provides_are_refused_saying_what_to_do(
    write_project: Callable[..., Path], cli, offline_env: dict[str, str], tmp_path: Path
) -> None:
    metadata = METADATA + "dependencies:\n  packages: [no-such-dist-for-pyapp-tests]\n"
    root = project(write_project, metadata, "")
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    proc = cli("pyapp", "command", "--find-links", empty, root, "show", env=offline_env)
    assert proc.returncode == 1
    assert (
        "cannot get wheels for the dependencies isolated declares (no-such-dist-for-pyapp-tests)"
        in proc.stderr
    )
    assert f"looked in: {empty}" in proc.stderr
    assert "--find-links DIR" in proc.stderr
    declared = Path(offline_env["XDG_CACHE_HOME"]) / "pyapp" / "envs" / ".declared"
    assert [p.suffix for p in declared.iterdir()] == [".lock"]  # nothing recorded as resolved
