"""Every example built with ``pyapp-build``: reproducible, valid, exactly the files it should hold.

The built packages themselves run through every other test of this directory (the
``built`` form, see conftest.py); these tests check the archives.
"""

from __future__ import annotations

import compileall
import hashlib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

from apppackage import AppPackage

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ("hello", "pyramid-notes", "deps-report", "worker")

pytestmark = pytest.mark.parametrize("example", NAMES)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(root: Path, pattern: str = "*") -> set[str]:
    """The files under *root* matching *pattern* (relative, POSIX), byte code caches left out."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }


def expected_files(example: str, wheels_for: Callable[[Sequence[str]], list[Path]]) -> list[str]:
    """What the package of *example* must hold: its description, configuration spec, code,
    static files, the wheels its dependencies resolve to with their lock, and RECORD."""
    root = EXAMPLES / example
    with AppPackage(root) as checkout:
        description = checkout.description
    names = {"metadata.yaml", "RECORD"}
    if (root / description.config_file).is_file():
        names.add(description.config_file)
    for top in description.paths:
        names |= {f"{top}/{name}" for name in files_under(root / top, "*.py")}
    for static in description.static:
        names |= {f"{static.dir}/{name}" for name in files_under(root / static.dir)}
    if description.dependencies.packages:
        wheels = wheels_for(description.dependencies.packages)
        names |= {f"deps/{w.name}" for w in wheels} | {"deps/requirements.txt"}
    return sorted(names)


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
    example: str,
    pyapp_for: Callable[[str], BuildResult],
    wheels_for: Callable[[Sequence[str]], list[Path]],
    tmp_path: Path,
) -> None:
    with AppPackage(pyapp_for(example).path) as package:
        listed = package.files()
        package.extract(tmp_path / "release")
    with zipfile.ZipFile(package.path) as zf:
        assert zf.namelist()[-1] == "RECORD"
    release = tmp_path / "release"
    assert sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()) == listed
    assert listed == expected_files(example, wheels_for)
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
