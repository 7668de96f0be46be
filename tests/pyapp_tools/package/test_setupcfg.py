"""``pyapp validate`` judges a setup.cfg checkout as :class:`apppackage.AppPackage` does.

The reading of setup.cfg itself is tested with apppackage (tests/apppackage/test_setupcfg.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyapp_tools.cli import main

from apppackage import AppPackage

MINIMAL_METADATA = 'pyapp: "1.0"\nwsgi:\n  app: my_app:application\n'
SETUP_CFG = "[metadata]\nname = My_App\nversion = {version}\n"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return CliRunner()


def validate(runner: CliRunner, root: Path) -> tuple[int, dict[str, object]]:
    result = runner.invoke(main, ["validate", str(root), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_setup_cfg_only_checkout_is_valid_for_both(
    runner: CliRunner, write_project: Callable[..., Path]
) -> None:
    root = write_project(
        {
            "metadata.yaml": MINIMAL_METADATA,
            "setup.cfg": SETUP_CFG.format(version="1.5"),
            "src/my_app/__init__.py": "",
        }
    )
    with AppPackage(root) as package:
        assert package.validate() == []
        assert (package.name, package.version) == ("my-app", "1.5")
    code, data = validate(runner, root)
    assert (code, data["valid"], data["release"], data["problems"]) == (0, True, "my-app 1.5", [])


def test_a_bad_value_from_setup_cfg_is_reported_against_it_by_both(
    runner: CliRunner, write_project: Callable[..., Path]
) -> None:
    root = write_project(
        {
            "metadata.yaml": MINIMAL_METADATA,
            "setup.cfg": SETUP_CFG.format(version="four"),
            "src/my_app/__init__.py": "",
        }
    )
    expected = {
        "file": "setup.cfg",
        "path": "/metadata/version",
        "message": "'four' is not a PEP 440 version (e.g. 1.0.2)",
    }
    with AppPackage(root) as package:
        assert [p.to_dict() for p in package.validate()] == [expected]
    code, data = validate(runner, root)
    assert (code, data["valid"], data["problems"]) == (1, False, [expected])
    result = runner.invoke(main, ["validate", str(root)])
    assert "setup.cfg:/metadata/version: 'four' is not a PEP 440 version" in result.output
