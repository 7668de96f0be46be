"""``pyapp-build``: what a package holds, reproducibility, refusal of invalid projects, bundled wheels."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyapp_tools.building.builder import BuildOptions, build
from pyapp_tools.building.cli import main as build_main

from apppackage import AppPackage

HELLO_FILES = [
    "configuration.yaml",
    "metadata.yaml",
    "src/hello/__init__.py",
    "src/hello/app.py",
    "src/hello/commands.py",
    "src/hello/settings.py",
    "RECORD",
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_building_hello_twice_gives_the_same_bytes(repo_root: Path, tmp_path: Path, cli) -> None:
    first = cli("pyapp-build", repo_root / "examples/hello", "-o", tmp_path / "one", "--json", check=True)
    summary = json.loads(first.stdout)
    result = CliRunner().invoke(build_main, [str(repo_root / "examples/hello"), "-o", str(tmp_path / "two")])
    assert result.exit_code == 0, result.output
    second = tmp_path / "two" / "hello-1.0.0.pyapp"
    assert summary["path"] == str(tmp_path / "one" / "hello-1.0.0.pyapp")
    assert summary["sha256"] == sha256(second) == sha256(Path(summary["path"]))
    assert summary["size"] == second.stat().st_size
    assert summary["files"] == len(HELLO_FILES)
    assert summary["dependencies"] == []


def test_the_package_holds_exactly_the_expected_files(repo_root: Path, tmp_path: Path) -> None:
    result = build(repo_root / "examples/hello", BuildOptions(out_dir=tmp_path))
    with zipfile.ZipFile(result.path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == HELLO_FILES
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_a_checkout_and_its_package_have_the_same_description(repo_root: Path, tmp_path: Path) -> None:
    result = build(repo_root / "examples/hello", BuildOptions(out_dir=tmp_path))
    with AppPackage(result.path) as built, AppPackage(repo_root / "examples/hello") as checkout:
        assert built.description == checkout.description
        assert built.verify() == []
        assert built.validate() == []


def test_source_date_epoch_and_permissions(
    write_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: tool\nversion: "1"\ncommands:\n  go: tool:go\n',
            "src/tool/__init__.py": "def go(argv):\n    return 0\n",
            "src/tool/run.sh": "#!/bin/sh\necho hi\n",
        }
    )
    os.chmod(root / "src/tool/run.sh", 0o775)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = build(root, BuildOptions(out_dir=tmp_path / "out"))
    with zipfile.ZipFile(result.path) as zf:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
        dates = {i.date_time for i in zf.infolist()}
    assert modes["src/tool/run.sh"] == 0o755
    assert modes["src/tool/__init__.py"] == 0o644
    assert dates == {(2023, 11, 14, 22, 13, 20)}


def test_never_packs_caches_virtualenvs_build_output_or_ignored_files(
    write_project: Callable[..., Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: clean\nversion: "1"\nstatic:\n  /static: web\n',
            ".gitignore": "*.secret\n",
            "src/clean/__init__.py": "",
            "src/clean/__pycache__/x.cpython-311.pyc": "",
            "src/clean/token.secret": "",
            "src/.venv/pyvenv.cfg": "",
            "src/.venv/lib/site.py": "",
            "src/.git/HEAD": "",
            "src/clean/build/__init__.py": "",
            "src/out/clean-0.pyapp": "",
            "web/style.css": "",
            "README.md": "",
            "dist/old.pyapp": "",
        }
    )
    result = build(root, BuildOptions(out_dir=root / "src/out"))
    with zipfile.ZipFile(result.path) as zf:
        assert zf.namelist() == [
            "metadata.yaml",
            "src/clean/__init__.py",
            "src/clean/build/__init__.py",
            "web/style.css",
            "RECORD",
        ]


def test_symbolic_links_are_left_out_with_a_warning_and_a_declared_one_is_refused(
    write_project: Callable[..., Path], tmp_path: Path, cli
) -> None:
    """Spec section 2.1: a package holds no symbolic link, to a file or to a directory."""
    root = write_project(
        {"metadata.yaml": 'pyapp: "1.0"\nname: linked\nversion: "1"\n', "src/linked/__init__.py": "A = 1\n"}
    )
    (root / "src/linked/alias.py").symlink_to("__init__.py")
    (root / "src/linked/shared").symlink_to(tmp_path)
    proc = cli("pyapp-build", root, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "out" / "linked-1.pyapp") as zf:
        assert zf.namelist() == ["metadata.yaml", "src/linked/__init__.py", "RECORD"]
    assert "src/linked/alias.py: a symbolic link, left out of the package" in proc.stderr
    assert "src/linked/shared: a symbolic link, left out of the package" in proc.stderr

    (root / "code").mkdir()
    (root / "lib").symlink_to("code")
    (root / "metadata.yaml").write_text('pyapp: "1.0"\nname: linked\nversion: "2"\npaths: [src, lib]\n')
    proc = cli("pyapp-build", root, "-o", tmp_path / "out")
    assert proc.returncode != 0
    assert "lib is a symbolic link, which a package never holds" in proc.stderr
    assert not (tmp_path / "out" / "linked-2.pyapp").exists()


def test_an_invalid_project_is_refused_with_every_problem(
    write_project: Callable[..., Path], tmp_path: Path, cli
) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: Bad Name\nversion: "1"\nwsgi:\n  app: not-a-ref\n'
            "hooks:\n  install: x:y\n  deploy: x:y\n",
        }
    )
    proc = cli("pyapp-build", root, "-o", tmp_path / "out")
    assert proc.returncode != 0
    assert "metadata.yaml:/name" in proc.stderr
    assert "metadata.yaml:/wsgi/app" in proc.stderr
    assert "metadata.yaml:/hooks/deploy" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").glob("*.pyapp")) if (tmp_path / "out").exists() else True

    (root / "metadata.yaml").write_text('pyapp: "1.0"\nname: bad\nversion: "1"\npaths: [src, lib]\n')
    (root / "configuration.yaml").write_text("fields:\n  port:\n    type: port\n    default: 99999\n")
    proc = cli("pyapp-build", root, "-o", tmp_path / "out")
    assert proc.returncode != 0
    assert "metadata.yaml:/paths/0: src does not exist" in proc.stderr
    assert "metadata.yaml:/paths/1: lib does not exist" in proc.stderr
    assert "configuration.yaml:/fields/port/default" in proc.stderr


def test_offline_with_dependencies_needs_a_wheelhouse(deps_project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(build_main, [str(deps_project), "-o", str(tmp_path), "--offline"])
    assert result.exit_code == 1
    assert "--offline" in result.output and "--wheelhouse" in result.output
    assert not list(tmp_path.glob("*.pyapp"))


@pytest.mark.slow
def test_dependencies_are_bundled_as_pinned_wheels(
    deps_project: Path, tmp_path: Path, wheelhouse: Path, cli
) -> None:
    args = ["--wheelhouse", wheelhouse, "--offline", "--json"]
    first = json.loads(cli("pyapp-build", deps_project, "-o", tmp_path / "a", *args, check=True).stdout)
    second = json.loads(cli("pyapp-build", deps_project, "-o", tmp_path / "b", *args, check=True).stdout)
    assert first["sha256"] == second["sha256"]
    assert [(d["name"], d["version"]) for d in first["dependencies"]] == [
        ("markupsafe", "3.0.3"),
        ("translationstring", "1.4"),
    ]
    with zipfile.ZipFile(first["path"]) as zf:
        deps = sorted(n for n in zf.namelist() if n.startswith("deps/"))
        lock = zf.read("deps/requirements.txt").decode()
        wheels = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in deps if n.endswith(".whl")}
        stored = {i.filename: i.compress_type for i in zf.infolist()}
    assert len(wheels) == 2
    assert any(n.startswith("deps/markupsafe-3.0.3-cp") for n in wheels)
    assert "deps/translationstring-1.4-py2.py3-none-any.whl" in wheels
    assert all(stored[n] == zipfile.ZIP_STORED for n in wheels)
    pins = [line for line in lock.splitlines() if not line.startswith("#")]
    for dep in first["dependencies"]:
        assert f"{dep['name']}=={dep['version']} --hash=sha256:{dep['sha256']}" in pins
    assert sorted(d["sha256"] for d in first["dependencies"]) == sorted(wheels.values())
    assert cli("pyapp", "verify", first["path"]).returncode == 0


def test_no_deps_leaves_dependencies_to_the_host(deps_project: Path, tmp_path: Path) -> None:
    result = build(deps_project, BuildOptions(out_dir=tmp_path, no_deps=True, offline=True))
    with zipfile.ZipFile(result.path) as zf:
        assert not [n for n in zf.namelist() if n.startswith("deps/")]
    with AppPackage(result.path) as package:
        assert package.description.dependencies.packages == ("markupsafe", "translationstring>=1.3")


def test_setup_cfg_fills_in_the_name_and_version(write_project: Callable[..., Path], tmp_path: Path) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nwsgi:\n  app: legacy:application\n',
            "setup.cfg": "[metadata]\nname = Legacy.App\nversion = 4.2\n",
            "src/legacy.py": "def application(environ, start_response):\n    return []\n",
        }
    )
    result = build(root, BuildOptions(out_dir=tmp_path))
    assert result.path.name == "legacy-app-4.2.pyapp"
    with AppPackage(result.path) as package:
        assert (package.name, package.version) == ("legacy-app", "4.2")
        assert "setup.cfg" not in package.files()


def test_a_file_the_code_reads_outside_the_paths_is_named_by_the_build_and_by_validate(
    write_project: Callable[..., Path], cli
) -> None:
    """A template beside the code dir works from the checkout and is missing once built: both the build
    and ``pyapp validate`` of the checkout say so, the file the code names first; never the project's
    own files for its authors (tests, docs, README, packaging, dotfiles) nor what the package holds."""
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: reader\nversion: "1"\npaths: [src]\n',
            "src/reader/__init__.py": 'PAGE = os.path.join(HERE, "..", "..", "templates", "page.html")\n',
            "templates/page.html": "<p>hello</p>",
            "notes/todo.txt": "",
            "tests/test_reader.py": "",
            "docs/index.md": "",
            "README.md": "",
            "pyproject.toml": "",
            ".editorconfig": "",
        }
    )
    built = cli("pyapp-build", root, "-o", root / "out", check=True)
    warnings = [line for line in built.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: templates/page.html: left out of the package, though src/reader/__init__.py names it: add "
        "templates/** to `data` in metadata.yaml, or list it in .pyappignore if the app never reads it",
        "warning: notes/todo.txt: left out of the package (outside `paths`, `data`, the static dirs and the "
        "config spec): add notes/** to `data` in metadata.yaml, or list it in .pyappignore if the app never "
        "reads it",
    ]
    with zipfile.ZipFile(root / "out" / "reader-1.pyapp") as zf:
        assert "templates/page.html" not in zf.namelist()

    validated = cli("pyapp", "validate", root, "--json", check=True)
    assert [w["file"] for w in json.loads(validated.stdout)["warnings"]] == [
        "templates/page.html",
        "notes/todo.txt",
    ]
    # Declared, the template is packed and nothing is said of it; what .pyappignore names is never listed.
    (root / "metadata.yaml").write_text('pyapp: "1.1"\nname: reader\nversion: "1"\ndata: [templates]\n')
    (root / ".pyappignore").write_text("notes/\n")
    again = cli("pyapp-build", root, "-o", root / "out", check=True)
    assert "warning:" not in again.stderr
    with zipfile.ZipFile(root / "out" / "reader-1.pyapp") as zf:
        assert "templates/page.html" in zf.namelist()
    assert json.loads(cli("pyapp", "validate", root, "--json", check=True).stdout)["warnings"] == []


def test_data_files_are_packed_and_pyappignore_keeps_files_out(
    write_project: Callable[..., Path], cli
) -> None:
    """``data`` packs files outside the code ``paths``, listed in RECORD; ``.pyappignore`` keeps files out of
    the code, the static dirs and ``data`` alike (spec section 3.17)."""
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.1"\nname: site\nversion: "1"\nstatic:\n  /static: web\n'
            "data:\n  - templates\n  - translations/**/*.mo\n  - fixtures/*.json\n",
            ".pyappignore": "*.bak\ntemplates/drafts/\n",
            "src/site/__init__.py": "",
            "src/site/views.py.bak": "",
            "web/style.css": "",
            "web/style.css.bak": "",
            "templates/page.html": "<p>{{ title }}</p>",
            "templates/mail/digest.txt": "",
            "templates/drafts/next.html": "",
            "translations/de/LC_MESSAGES/site.mo": "",
            "translations/de/LC_MESSAGES/site.po": "",
        }
    )
    built = cli("pyapp-build", root, "-o", root / "out", check=True)
    package = root / "out" / "site-1.pyapp"
    with zipfile.ZipFile(package) as zf:
        assert zf.namelist() == [
            "metadata.yaml",
            "src/site/__init__.py",
            "templates/mail/digest.txt",
            "templates/page.html",
            "translations/de/LC_MESSAGES/site.mo",
            "web/style.css",
            "RECORD",
        ]
        record = zf.read("RECORD").decode()
    assert "templates/page.html,sha256=" in record and "translations/de/LC_MESSAGES/site.mo,sha256=" in record
    with AppPackage(package) as built_package, AppPackage(root) as checkout:
        assert built_package.verify() == [] and built_package.validate() == []
        assert built_package.description == checkout.description
        assert built_package.description.data == ("templates", "translations/**/*.mo", "fixtures/*.json")
    # The pattern that packs nothing, then the file the code could read that no pattern names.
    warnings = [line for line in built.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: metadata.yaml:/data/2: 'fixtures/*.json' matches no file the build packs: patterns are "
        "relative to the checkout's root, and what .gitignore or .pyappignore excludes is never packed",
        "warning: translations/de/LC_MESSAGES/site.po: left out of the package (outside `paths`, `data`, the "
        "static dirs and the config spec): add translations/** to `data` in metadata.yaml, or list it in "
        ".pyappignore if the app never reads it",
    ]
    validated = json.loads(cli("pyapp", "validate", root, "--json", check=True).stdout)
    assert [(w["file"], w["path"]) for w in validated["warnings"]] == [
        ("metadata.yaml", "/data/2"),
        ("translations/de/LC_MESSAGES/site.po", ""),
    ]


def test_a_1_0_description_with_data_is_refused_and_told_to_declare_1_1(
    write_project: Callable[..., Path], cli
) -> None:
    root = write_project(
        {"metadata.yaml": 'pyapp: "1.0"\nname: old\nversion: "1"\ndata: [templates]\n', "src/old.py": ""}
    )
    proc = cli("pyapp-build", root, "-o", root / "out")
    assert proc.returncode == 1
    assert (
        "metadata.yaml:/data: unknown key 'data' in a pyapp 1.0 document: it is new in 1.1 "
        '(declare pyapp: "1.1" to use it)'
    ) in proc.stderr
    assert not (root / "out").exists()
