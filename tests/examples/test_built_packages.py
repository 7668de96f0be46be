"""Every example built with ``pyapp-build``: reproducible, valid, exactly the files it should hold.

The built packages themselves are installed with ``pyapp install`` by every other test of
this directory (see conftest.py); these tests check the archives.
"""

from __future__ import annotations

import compileall
import hashlib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.tags import parse_tag, sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from apppackage import AppPackage

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ("hello", "pyramid-notes", "deps-report", "worker")

pytestmark = pytest.mark.parametrize("example", NAMES)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


FILES = {
    "hello": [
        "RECORD",
        "configuration.yaml",
        "metadata.yaml",
        "src/hello/__init__.py",
        "src/hello/app.py",
        "src/hello/commands.py",
        "src/hello/settings.py",
    ],
    "pyramid-notes": [
        "RECORD",
        "configuration.yaml",
        "deps/PasteDeploy-3.1.0-py3-none-any.whl",
        "deps/WebOb-1.8.9-py2.py3-none-any.whl",
        "deps/hupper-1.12.1-py3-none-any.whl",
        "deps/plaster-1.1.2-py2.py3-none-any.whl",
        "deps/plaster_pastedeploy-1.0.1-py2.py3-none-any.whl",
        "deps/pyramid-2.1-py3-none-any.whl",
        "deps/requirements.txt",
        "deps/setuptools-80.9.0-py3-none-any.whl",
        "deps/translationstring-1.4-py2.py3-none-any.whl",
        "deps/venusian-3.1.1-py3-none-any.whl",
        "deps/zope.deprecation-5.1-py3-none-any.whl",
        "deps/zope_interface-8.0.1-{tags}.whl",
        "metadata.yaml",
        "src/notes/__init__.py",
        "src/notes/app.py",
        "src/notes/commands.py",
        "src/notes/lifecycle.py",
        "src/notes/pages.py",
        "src/notes/routes.py",
        "src/notes/sessions.py",
        "src/notes/settings.py",
        "src/notes/store.py",
        "src/notes/views.py",
        "static/notes.css",
    ],
    "deps-report": [
        "RECORD",
        "deps/markupsafe-3.0.3-{tags}.whl",
        "deps/requirements.txt",
        "deps/translationstring-1.4-py2.py3-none-any.whl",
        "metadata.yaml",
        "src/report/__init__.py",
        "src/report/app.py",
        "src/report/findings.py",
    ],
    "worker": [
        "RECORD",
        "metadata.yaml",
        "src/worker/__init__.py",
        "src/worker/api.py",
        "src/worker/commands.py",
        "src/worker/jobs.py",
        "src/worker/queue.py",
        "src/worker/web.py",
    ],
}
"""What each example's package holds: its description, configuration spec, code, static files, the
wheels of its dependencies (tests/wheelhouse.txt) with their lock, and RECORD. A compiled wheel's
tags, which depend on the interpreter and platform, are written ``{tags}``."""


def fold_compiled_tags(names: list[str]) -> list[str]:
    """*names* with the tags of each compiled wheel replaced by ``{tags}``, once they are seen to be
    tags this interpreter installs (a wheel built for another would not import)."""
    folded = []
    for name in names:
        stem, is_wheel, _ = name.partition(".whl")
        parts = stem.split("-")
        if is_wheel and parts[-2] != "none":
            wheel_tags = set(parse_tag("-".join(parts[-3:])))
            assert not wheel_tags.isdisjoint(sys_tags()), f"{name} is not for this interpreter"
            name = "-".join(parts[:-3]) + "-{tags}.whl"
        folded.append(name)
    return folded


def test_building_twice_gives_the_same_bytes(
    example: str,
    pyapp_for: Callable[[str], BuildResult],
    build_into: Callable[[str, Path], BuildResult],
    tmp_path: Path,
) -> None:
    first = pyapp_for(example)
    # Byte code written next to the sources (as running the checkout does) changes nothing.
    compileall.compile_dir(EXAMPLES / example, quiet=2)
    second = build_into(example, tmp_path)
    assert second.path != first.path
    assert second.path.name == first.path.name == f"{first.name}-{first.version}.pyapp"
    assert second.sha256 == first.sha256 == sha256(first.path) == sha256(second.path)
    assert second.path.read_bytes() == first.path.read_bytes()


def test_the_package_is_valid_and_matches_its_record(
    example: str, pyapp_for: Callable[[str], BuildResult]
) -> None:
    with AppPackage(pyapp_for(example).path) as package:
        assert package.is_archive
        assert package.validate() == []
        assert package.verify() == []
        assert package.warnings == []


def test_the_package_holds_exactly_the_expected_files(
    example: str, pyapp_for: Callable[[str], BuildResult], tmp_path: Path
) -> None:
    with AppPackage(pyapp_for(example).path) as package:
        listed = package.files()
        package.extract(tmp_path / "release")
    with zipfile.ZipFile(package.path) as zf:
        assert zf.namelist()[-1] == "RECORD"
    release = tmp_path / "release"
    assert sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()) == listed
    assert sorted(fold_compiled_tags(listed)) == FILES[example]
    assert not [n for n in listed if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in f"/{n}"]


def test_the_lock_pins_exactly_the_bundled_wheels(
    example: str, pyapp_for: Callable[[str], BuildResult]
) -> None:
    with AppPackage(pyapp_for(example).path) as package:
        names = package.files()
        wheels = {n.removeprefix("deps/"): package.read_bytes(n) for n in names if n.endswith(".whl")}
        has_lock = "deps/requirements.txt" in names
        lock = package.read_bytes("deps/requirements.txt").decode() if has_lock else ""
        dependencies = package.description.dependencies.packages
    assert has_lock == bool(dependencies) == bool(wheels)
    bundled = []
    for name, data in wheels.items():
        dist, version, _, _ = parse_wheel_filename(name)
        bundled.append((dist, str(version), hashlib.sha256(data).hexdigest()))
    pinned = []
    for line in lock.splitlines():
        if line and not line.startswith("#"):
            requirement, _, digest = line.partition(" --hash=sha256:")
            dist, _, version = requirement.partition("==")
            pinned.append((canonicalize_name(dist), version, digest))
    assert sorted(pinned) == sorted(bundled)


def test_the_checkout_and_its_package_have_the_same_description(
    example: str, pyapp_for: Callable[[str], BuildResult]
) -> None:
    with AppPackage(EXAMPLES / example) as checkout, AppPackage(pyapp_for(example).path) as built:
        assert built.description == checkout.description
        assert built.description.to_dict() == checkout.description.to_dict()
        assert built.config_spec == checkout.config_spec
