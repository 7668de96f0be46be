"""A source checkout: keys missing from metadata.yaml come from pyproject.toml (spec section 2.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, InvalidDescription
from apppackage._pyproject import from_pyproject
from apppackage.checkout import merge_keys

PYPROJECT = """
[build-system]
requires = ["setuptools"]

[project]
name = "My_Demo.App"
version = "4.5.6"
description = "The summary, from pyproject"
requires-python = ">=3.11"
dependencies = ["waitress>=3", "PyYAML"]
"""


def checkout(
    tmp_path: Path,
    package_factory: Any,
    demo_metadata: dict[str, Any],
    pyproject: str = PYPROJECT,
    *drop: str,
) -> Path:
    for key in drop:
        demo_metadata.pop(key, None)
    root: Path = package_factory(tmp_path / "checkout", demo_metadata, record=False)
    (root / "pyproject.toml").write_text(pyproject)
    return root


def test_missing_keys_come_from_the_project_table(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    del demo_metadata["requires"]
    root = checkout(tmp_path, package_factory, demo_metadata, PYPROJECT, "name", "version", "summary")
    pkg = AppPackage(root)
    assert pkg.validate() == []
    d = pkg.description
    assert (d.name, d.version, d.summary) == ("my-demo-app", "4.5.6", "The summary, from pyproject")
    assert d.requires.python == ">=3.11"
    assert d.dependencies.packages == ("waitress>=3", "PyYAML")
    assert d.dependencies.requirements == "deps/requirements.txt", "merged with what metadata.yaml says"
    assert d.wsgi is not None and d.wsgi.app == "demo.web:application"


def test_metadata_yaml_wins(tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]) -> None:
    demo_metadata["requires"] = {"python": ">=3.10", "deb": ["libpq5"]}
    demo_metadata["dependencies"] = {"packages": ["waitress==3.0.2"]}
    d = AppPackage(checkout(tmp_path, package_factory, demo_metadata)).description
    assert (d.name, d.version) == ("demo", "2.1.0")
    assert d.summary == "The application the tests of apppackage run."
    assert d.requires.python == ">=3.10" and d.requires.deb == ("libpq5",)
    assert d.dependencies.packages == ("waitress==3.0.2",)


def test_nested_keys_merge(tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]) -> None:
    demo_metadata["requires"] = {"deb": ["libpq5"]}
    d = AppPackage(checkout(tmp_path, package_factory, demo_metadata)).description
    assert d.requires.python == ">=3.11" and d.requires.deb == ("libpq5",)


def test_a_dynamic_version_must_be_in_metadata_yaml(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pyproject = '[project]\nname = "demo"\ndynamic = ["version"]\n'
    pkg = AppPackage(checkout(tmp_path, package_factory, demo_metadata, pyproject, "version"))
    assert [str(p) for p in pkg.validate()] == ["metadata.yaml:/version: is required but missing"]


def test_without_a_project_table_nothing_is_added(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pkg = AppPackage(checkout(tmp_path, package_factory, demo_metadata, "[tool.other]\nx = 1\n", "summary"))
    assert pkg.validate() == [] and pkg.description.summary == ""


def test_invalid_values_from_pyproject_are_reported_there(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pyproject = (
        '[project]\nname = "demo"\nversion = "four"\nrequires-python = "3.10+"\n'
        'dependencies = ["ok", "bad dep =="]\n'
    )
    del demo_metadata["requires"]
    pkg = AppPackage(checkout(tmp_path, package_factory, demo_metadata, pyproject, "version"))
    problems = pkg.validate()
    assert [f"{p.file}:{p.path}" for p in problems] == [
        "pyproject.toml:/project/dependencies/1",
        "pyproject.toml:/project/requires-python",
        "pyproject.toml:/project/version",
    ]
    assert problems[2].message == "'four' is not a PEP 440 version (e.g. 1.0.2)"
    with pytest.raises(InvalidDescription, match=r"pyproject\.toml:/project/version"):
        pkg.description  # noqa: B018


def test_invalid_toml_is_reported(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pkg = AppPackage(checkout(tmp_path, package_factory, demo_metadata, "[project\nname = 1\n"))
    problems = pkg.validate()
    assert [(p.file, p.path) for p in problems] == [("pyproject.toml", "")]
    assert problems[0].message.startswith("invalid TOML: ")


def test_a_built_package_does_not_read_pyproject(
    tmp_path: Path, package_factory: Any, zip_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    root = checkout(tmp_path, package_factory, demo_metadata, PYPROJECT, "version")
    assert AppPackage(root).version == "4.5.6"
    with AppPackage(zip_factory(root, tmp_path / "built.pyapp")) as archive:
        assert [str(p) for p in archive.validate()] == ["metadata.yaml:/version: is required but missing"]


def test_from_pyproject_and_merge() -> None:
    extra = from_pyproject(PYPROJECT)
    assert extra == {
        "name": "my-demo-app",
        "version": "4.5.6",
        "summary": "The summary, from pyproject",
        "requires": {"python": ">=3.11"},
        "dependencies": {"packages": ["waitress>=3", "PyYAML"]},
    }
    assert from_pyproject("[project]\nname = 3\ndependencies = []\n") == {}
    raw = {"name": "mine", "requires": {"deb": ["x"]}}
    assert merge_keys(raw, extra) == {
        "name": "mine",
        "requires": {"python": ">=3.11", "deb": ["x"]},
        "version": "4.5.6",
        "summary": "The summary, from pyproject",
        "dependencies": {"packages": ["waitress>=3", "PyYAML"]},
    }
    assert raw == {"name": "mine", "requires": {"deb": ["x"]}}
