"""``AppPackage``: a directory or a ``.pyapp`` zip, read and validated (spec sections 2-4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import apppackage
from apppackage import AppPackage, AppPackageError, InvalidDescription, InvalidPackage


def test_a_directory_and_its_zip_read_the_same(demo_dir: Path, demo_zip: Path) -> None:
    directory, archive = AppPackage(demo_dir), AppPackage(demo_zip)
    assert not directory.is_archive and archive.is_archive
    assert (directory.root, archive.root) == (demo_dir, demo_zip)
    assert directory.description == archive.description
    assert (archive.name, archive.version) == ("demo", "2.1.0")
    assert directory.config_spec == archive.config_spec
    assert directory.files() == archive.files()
    assert "src/demo/web.py" in archive.files() and "RECORD" in archive.files()
    assert archive.read_bytes("static/style.css") == (demo_dir / "static" / "style.css").read_bytes()
    assert directory.validate() == archive.validate() == []
    assert directory.check() == archive.check() == directory.description
    assert repr(archive) == f"AppPackage({str(demo_zip)!r})"
    archive.close()


def test_reading_a_zip_extracts_nothing(
    tmp_path: Path, demo_zip: Path, snapshot: Callable[[Path], set[str]]
) -> None:
    before = snapshot(tmp_path)
    with AppPackage(demo_zip) as pkg:
        pkg.description  # noqa: B018
        assert [f.name for f in pkg.config_spec] == ["title", "secret_key", "mode"]
        assert pkg.validate() == [] and pkg.verify() == []
        for name in pkg.files():
            pkg.read_bytes(name)
    assert snapshot(tmp_path) == before
    with AppPackage(demo_zip) as pkg, pytest.raises(FileNotFoundError, match=r"nothing\.txt is not in demo-"):
        pkg.read_bytes("nothing.txt")


def test_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AppPackageError, match=r"not a package: there is no metadata\.yaml at its root"):
        AppPackage(tmp_path / "empty")
    with pytest.raises(AppPackageError, match="no such file or directory"):
        AppPackage(tmp_path / "nothing")
    (tmp_path / "file.txt").write_text("hello")
    with pytest.raises(AppPackageError, match="not a package"):
        AppPackage(tmp_path / "file.txt")


def test_an_invalid_description_lists_every_problem(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["version"] = "two"
    demo_metadata["wsgi"] = {"app": "demo.web"}
    demo_metadata["hooks"]["install"] = 3
    pkg = AppPackage(package_factory(tmp_path / "p", demo_metadata))
    expected = ["metadata.yaml:/hooks/install", "metadata.yaml:/version", "metadata.yaml:/wsgi/app"]
    assert [f"{p.file}:{p.path}" for p in pkg.validate()] == expected
    with pytest.raises(InvalidDescription) as info:
        pkg.description  # noqa: B018
    assert [f"{p.file}:{p.path}" for p in info.value.problems] == expected
    with pytest.raises(InvalidPackage, match="is not a valid package"):
        pkg.check()


# -- layout (section 2.1) ------------------------------------------------------------------


LAYOUT_PROBLEMS = [
    "metadata.yaml:/config: settings.yaml does not exist in the package",
    "metadata.yaml:/dependencies/requirements: deps/requirements.txt does not exist in the package",
    "metadata.yaml:/paths/1: lib does not exist in the package (expected a directory)",
    "metadata.yaml:/static/~1assets: web/assets does not exist in the package (expected a directory)",
]


def broken_layout(tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]) -> Path:
    demo_metadata["paths"] = ["src", "lib"]
    demo_metadata["config"] = "settings.yaml"
    demo_metadata["static"] = {"/static": "static", "/assets": "web/assets"}
    return package_factory(tmp_path / "broken", demo_metadata, remove=("deps",))  # type: ignore[no-any-return]


def test_validate_finds_every_missing_part_of_the_layout(
    tmp_path: Path, package_factory: Any, zip_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    root = broken_layout(tmp_path, package_factory, demo_metadata)
    assert sorted(str(p) for p in AppPackage(root).validate()) == LAYOUT_PROBLEMS
    with AppPackage(zip_factory(root, tmp_path / "broken.pyapp")) as archive:
        assert sorted(str(p) for p in archive.validate()) == LAYOUT_PROBLEMS


def test_a_path_that_is_a_file_is_not_a_directory(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["paths"] = ["src", "lib"]
    root = package_factory(tmp_path / "p", demo_metadata, files={"lib": "not a directory\n"})
    assert [str(p) for p in AppPackage(root).validate()] == [
        "metadata.yaml:/paths/1: lib does not exist in the package (expected a directory)"
    ]


def test_a_directory_where_a_file_belongs(
    tmp_path: Path, package_factory: Any, zip_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["config"] = "conf"
    demo_metadata["dependencies"] = {"requirements": "deps"}
    root = package_factory(tmp_path / "p", demo_metadata, files={"conf/settings.yaml": "fields: {}\n"})
    expected = [
        "metadata.yaml:/config: conf does not exist in the package (expected a file, found a directory)",
        "metadata.yaml:/dependencies/requirements: deps does not exist in the package "
        "(expected a file, found a directory)",
    ]
    for path in (root, zip_factory(root, tmp_path / "p.pyapp")):
        with AppPackage(path) as pkg:
            assert [str(p) for p in pkg.validate()] == expected
            with pytest.raises(InvalidPackage, match="expected a file, found a directory"):
                pkg.config_spec  # noqa: B018


def test_a_missing_named_config_spec(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["config"] = "nowhere.yaml"
    pkg = AppPackage(package_factory(tmp_path / "p", demo_metadata))
    with pytest.raises(InvalidPackage, match=r"metadata\.yaml:/config: nowhere\.yaml does not exist"):
        pkg.config_spec  # noqa: B018


def test_without_a_config_spec_there_are_no_settings(tmp_path: Path, package_factory: Any) -> None:
    pkg = AppPackage(package_factory(tmp_path / "p", remove=("configuration.yaml",)))
    assert pkg.validate() == []
    assert list(pkg.config_spec) == []


# -- the version configuration.yaml is read by (sections 3.1 and 4) --------------------------------

FUTURE_CONFIGURATION: dict[str, Any] = {
    "groups": [{"name": "looks"}],
    "fields": {"title": {"type": "string", "default": "Demo", "placeholder": "Your title"}},
}


def test_a_newer_configuration_spec_than_the_description_warns_and_is_valid(
    tmp_path: Path, package_factory: Any, zip_factory: Any
) -> None:
    root = package_factory(tmp_path / "p", configuration={"pyapp": "1.2", **FUTURE_CONFIGURATION})
    for path in (root, zip_factory(root, tmp_path / "p.pyapp")):
        with AppPackage(path) as pkg:
            assert pkg.description.pyapp == "1.0"
            assert pkg.validate() == []
            assert [str(w) for w in pkg.warnings] == [
                "configuration.yaml:/fields/title/placeholder: unknown key 'placeholder' ignored",
                "configuration.yaml:/groups: unknown key 'groups' ignored",
            ]
            assert pkg.config_spec.fill() == {"title": "Demo"}


def test_a_configuration_spec_without_pyapp_is_read_by_the_description_version(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["pyapp"] = "1.2"
    demo_metadata["sandbox"] = True
    pkg = AppPackage(package_factory(tmp_path / "p", demo_metadata, configuration=FUTURE_CONFIGURATION))
    assert pkg.validate() == []
    assert [str(w) for w in pkg.warnings] == [
        "metadata.yaml:/sandbox: unknown key 'sandbox' ignored",
        "configuration.yaml:/fields/title/placeholder: unknown key 'placeholder' ignored",
        "configuration.yaml:/groups: unknown key 'groups' ignored",
    ]
    assert [f.name for f in pkg.config_spec] == ["title"]


def test_a_configuration_spec_is_read_by_its_own_version_not_the_description(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["pyapp"] = "1.2"
    pkg = AppPackage(
        package_factory(tmp_path / "p", demo_metadata, configuration={"pyapp": "1.0", **FUTURE_CONFIGURATION})
    )
    assert [p.path for p in pkg.validate()] == ["/fields/title/placeholder", "/groups"]
    assert pkg.warnings == []
    with pytest.raises(InvalidPackage, match=r"configuration\.yaml:/groups: unknown key 'groups'"):
        pkg.config_spec  # noqa: B018


def test_a_configuration_spec_of_another_major_version_is_one_problem(
    tmp_path: Path, package_factory: Any
) -> None:
    pkg = AppPackage(package_factory(tmp_path / "p", configuration={"pyapp": "2.0", **FUTURE_CONFIGURATION}))
    assert [str(p) for p in pkg.validate()] == [
        "configuration.yaml:/pyapp: specification version 2.0 is not supported; this implementation reads "
        '1.x (upgrade apppackage, or declare pyapp: "1.1")'
    ]
    assert pkg.warnings == []


def test_configuration_warnings_wait_for_a_valid_description(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    # Which configuration file to read, and by which version, is known only from a valid description.
    demo_metadata["pyapp"] = "1.2"
    demo_metadata["version"] = 3
    pkg = AppPackage(package_factory(tmp_path / "p", demo_metadata, configuration=FUTURE_CONFIGURATION))
    assert [p.path for p in pkg.validate()] == ["/version"]
    assert pkg.warnings == []


# -- which files belong to a checkout (section 2.1) -------------------------------------------------


def test_a_checkout_leaves_out_vcs_caches_virtualenvs_and_build_output(demo_dir: Path) -> None:
    extra = {
        ".git/config": "",
        ".hg/store": "",
        "src/demo/__pycache__/web.cpython-311.pyc": "",
        "src/demo/old.pyc": "",
        ".venv/pyvenv.cfg": "",
        "venv/bin/python": "",
        "env-with-any-name/pyvenv.cfg": "",
        "dist/demo-2.1.0.pyapp": "",
        "build/lib/x.py": "",
        ".eggs/x": "",
        "src/demo.egg-info/PKG-INFO": "",
        ".mypy_cache/x": "",
        ".pytest_cache/x": "",
        # The application's own packages may have those names deeper down.
        "src/demo/build/__init__.py": "",
        "src/demo/dist/tools.py": "",
        "src/demo/venv/__init__.py": "",
    }
    for name, text in extra.items():
        path = demo_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink(demo_dir / "static" / "style.css", demo_dir / "static" / "link.css")
    files = AppPackage(demo_dir).files()
    assert [f for f in files if f in extra] == [
        "src/demo/build/__init__.py",
        "src/demo/dist/tools.py",
        "src/demo/venv/__init__.py",
    ]
    assert "static/link.css" not in files


# -- importing stays cheap --------------------------------------------------------------------------


def test_import_apppackage_imports_nothing_heavy() -> None:
    code = (
        "import sys, json, apppackage\n"
        "print(json.dumps([m for m in ('yaml', 'jsonschema', 'packaging', 'zipfile') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_public_names_are_all_there() -> None:
    for name in apppackage.__all__:
        assert getattr(apppackage, name) is not None, name
    assert sorted(dir(apppackage)) == sorted(apppackage.__all__)
    with pytest.raises(AttributeError):
        apppackage.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_a_copied_package_is_the_same_package(tmp_path: Path, demo_dir: Path) -> None:
    copy = shutil.copytree(demo_dir, tmp_path / "copy")
    assert AppPackage(copy).description == AppPackage(demo_dir).description
    assert AppPackage(copy).verify() == []


def test_the_package_root_as_a_code_path(
    tmp_path: Path, package_factory: Any, zip_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["paths"] = ["."]
    root = package_factory(tmp_path / "p", demo_metadata, files={"rootmod.py": "WHERE = 'root'\n"})
    for path in (root, zip_factory(root, tmp_path / "p.pyapp")):
        with AppPackage(path) as pkg:
            assert pkg.validate() == []
            with pkg.activate() as env:
                # The root, a directory: a .pyapp's is where it was extracted (section 5.1).
                root_dir = Path(env.variables["PYAPP_ROOT"])
                assert env.sys_path[0] == str(root_dir) and (root_dir / "rootmod.py").is_file()
                assert root_dir == path if path.is_dir() else root_dir != path
                assert pkg.load_object("rootmod:WHERE") == "root"


def test_a_trusted_package_reads_and_checks_nothing_again(tmp_path: Path, demo_dir: Path) -> None:
    checked = AppPackage(demo_dir)
    from apppackage.safeyaml import load_yaml

    spec = load_yaml((demo_dir / checked.description.config_file).read_bytes(), "configuration.yaml")
    config = checked.config_spec.fill(generate_secrets=True)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(checked.config_spec.render(config))
    stored = json.dumps({"description": dict(checked.description.to_dict()), "config_spec": spec})
    # As a host starts a package it checked at install: its paths, the configuration it filled in.
    script = f"""
import json, sys
from apppackage import AppPackage, HostPaths
stored = json.loads({stored!r})
package = AppPackage.trusted({str(demo_dir)!r}, stored["description"], stored["config_spec"])
host = HostPaths.under({str(demo_dir)!r}, {str(tmp_path)!r}, config_file={str(config_file)!r})
with package.activate(host, config=json.loads({json.dumps(config)!r})):
    app = package.wsgi_app()
print(json.dumps({{
    "name": package.name,
    "fields": [f.name for f in package.config_spec],
    "wsgi": package.description.wsgi.app,
    "app": callable(app),
    "loaded": sorted(
        m for m in ("jsonschema", "yaml", "packaging", "zipfile", "subprocess", "csv") if m in sys.modules
    ),
}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["name"] == checked.name
    assert seen["fields"] == [f.name for f in checked.config_spec]
    assert seen["wsgi"] == checked.description.wsgi.app
    assert seen["app"] is True
    # Nothing a host does not need to serve: no YAML parser or JSON Schema library, no zip reader,
    # no process launcher, no RECORD reader.
    assert seen["loaded"] == []
