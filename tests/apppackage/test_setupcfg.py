"""A checkout's description draws on setup.cfg and a literal setup.py for what the others leave out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, InvalidDescription
from apppackage._setupcfg import from_setup_cfg, from_setup_py
from apppackage.checkout import checkout_keys

SETUP_CFG = """\
[metadata]
name = My_App
version = attr: my_app.__version__
description = Set up the old way

[options]
package_dir =
    = src
python_requires = >=3.9
install_requires =
    markupsafe>=2
    translationstring; python_version >= "3"
"""


def checkout(
    tmp_path: Path,
    package_factory: Any,
    demo_metadata: dict[str, Any],
    files: dict[str, str],
    *drop: str,
) -> Path:
    """The demo as a checkout with *files* added and the keys *drop* left out of its metadata.yaml."""
    for key in drop:
        demo_metadata.pop(key, None)
    root: Path = package_factory(tmp_path / "checkout", demo_metadata, files=files, record=False)
    return root


def test_setup_cfg_gives_name_version_summary_and_requirements(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(SETUP_CFG)
    (tmp_path / "src/my_app").mkdir(parents=True)
    (tmp_path / "src/my_app/__init__.py").write_text('__version__ = "2.1.0"\n')
    assert from_setup_cfg(tmp_path) == {
        "name": "my-app",
        "version": "2.1.0",
        "summary": "Set up the old way",
        "requires": {"python": ">=3.9"},
        "dependencies": {"packages": ["markupsafe>=2", 'translationstring; python_version >= "3"']},
    }


def test_setup_cfg_version_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\nversion = file: VERSION\n")
    (tmp_path / "VERSION").write_text("3.0\n")
    assert from_setup_cfg(tmp_path) == {"name": "x", "version": "3.0"}


def test_literal_setup_py_is_read_and_anything_else_ignored(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='tiny', version='0.3', install_requires=['waitress'],\n"
        "      long_description=open('x').read())\n"
    )
    assert from_setup_py(tmp_path) == {
        "name": "tiny",
        "version": "0.3",
        "dependencies": {"packages": ["waitress"]},
    }
    (tmp_path / "setup.py").write_text("import setuptools\nsetuptools.setup(**computed())\n")
    assert from_setup_py(tmp_path) == {}
    (tmp_path / "setup.py").write_text("this is not python(")
    assert from_setup_py(tmp_path) == {}


def test_checkout_merges_metadata_pyproject_then_setup_cfg(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["requires"] = {"os": ["linux"]}
    files = {
        "pyproject.toml": '[project]\nname = "from-pyproject"\n',
        "setup.cfg": SETUP_CFG.replace("attr: my_app.__version__", "1.5"),
        "setup.py": "from setuptools import setup\nsetup(name='from-setup-py', description='Not this one')\n",
    }
    root = checkout(tmp_path, package_factory, demo_metadata, files, "name", "version", "summary")
    package = AppPackage(root)
    assert package.validate() == []
    d = package.description
    assert (d.name, d.version, d.summary) == ("from-pyproject", "1.5", "Set up the old way")
    assert d.requires.python == ">=3.9"
    assert d.requires.os == ("linux",)
    assert d.dependencies.packages[0] == "markupsafe>=2"
    assert d.dependencies.requirements == "deps/requirements.txt", "merged with what metadata.yaml says"


def test_setup_py_fills_what_setup_cfg_leaves_out(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    files = {
        "setup.cfg": "[metadata]\nname = from-setup-cfg\n",
        "setup.py": "from setuptools import setup\nsetup(name='not-this', version='0.7')\n",
    }
    d = AppPackage(checkout(tmp_path, package_factory, demo_metadata, files, "name", "version")).description
    assert (d.name, d.version) == ("from-setup-cfg", "0.7")


def test_without_setup_files_nothing_is_added(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    root = checkout(tmp_path, package_factory, demo_metadata, {}, "summary")
    assert checkout_keys(root) == []
    package = AppPackage(root)
    assert package.validate() == []
    assert (package.name, package.version, package.description.summary) == ("demo", "2.1.0", "")


def test_invalid_values_from_setup_cfg_are_reported_there(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    setup_cfg = (
        "[metadata]\nname = Demo\nversion = four\n\n"
        "[options]\npython_requires = 3.10+\ninstall_requires =\n    ok\n    bad dep ==\n"
    )
    del demo_metadata["requires"]
    root = checkout(tmp_path, package_factory, demo_metadata, {"setup.cfg": setup_cfg}, "version")
    package = AppPackage(root)
    problems = package.validate()
    assert [f"{p.file}:{p.path}" for p in problems] == [
        "setup.cfg:/options/install_requires/1",
        "setup.cfg:/options/python_requires",
        "setup.cfg:/metadata/version",
    ]
    assert problems[2].message == "'four' is not a PEP 440 version (e.g. 1.0.2)"
    with pytest.raises(InvalidDescription, match=r"setup\.cfg:/metadata/version"):
        package.description  # noqa: B018


def test_each_problem_is_reported_in_the_file_whose_value_won(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "four"\n',
        "setup.cfg": "[metadata]\nversion = 1.0\n\n[options]\npython_requires = 3.10+\n",
        "setup.py": "from setuptools import setup\nsetup(install_requires=['bad dep =='])\n",
    }
    demo_metadata["summary"] = "x" * 600  # too long, and metadata.yaml's own
    del demo_metadata["requires"]
    root = checkout(tmp_path, package_factory, demo_metadata, files, "version")
    assert [f"{p.file}:{p.path}" for p in AppPackage(root).validate()] == [
        "setup.py:/install_requires/0",
        "setup.cfg:/options/python_requires",
        "metadata.yaml:/summary",
        "pyproject.toml:/project/version",
    ]


def test_a_built_package_does_not_read_setup_files(
    tmp_path: Path, package_factory: Any, zip_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    root = checkout(
        tmp_path, package_factory, demo_metadata, {"setup.cfg": "[metadata]\nversion = 4.5\n"}, "version"
    )
    assert AppPackage(root).version == "4.5"
    with AppPackage(zip_factory(root, tmp_path / "built.pyapp")) as archive:
        assert [str(p) for p in archive.validate()] == ["metadata.yaml:/version: is required but missing"]
