"""A checkout's description draws on setup.cfg and a literal setup.py for what the others leave out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyapp_tools._setupcfg import from_setup_cfg, from_setup_py
from pyapp_tools.project import Checkout, open_package

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

MINIMAL_METADATA = 'pyapp: "1.0"\nwsgi:\n  app: my_app:application\n'


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
    write_project: Callable[..., Path],
) -> None:
    root = write_project(
        {
            "metadata.yaml": MINIMAL_METADATA + "requires:\n  os: [linux]\n",
            "pyproject.toml": '[project]\nname = "from-pyproject"\n',
            "setup.cfg": SETUP_CFG.replace("attr: my_app.__version__", "1.5"),
            "src/my_app/__init__.py": "",
        }
    )
    package = open_package(root)
    assert isinstance(package, Checkout)
    assert package.validate() == []
    d = package.description
    assert (d.name, d.version, d.summary) == ("from-pyproject", "1.5", "Set up the old way")
    assert d.requires.python == ">=3.9"
    assert d.requires.os == ("linux",)
    assert d.dependencies.packages[0] == "markupsafe>=2"


def test_without_setup_files_a_plain_package_is_opened(write_project: Callable[..., Path]) -> None:
    root = write_project({"metadata.yaml": MINIMAL_METADATA + "name: a\nversion: '1'\n"})
    assert not isinstance(open_package(root), Checkout)
