"""``pyapp-server run --demo``: the examples staged as package directories the runtime installs.

Installing and starting them through the real server is tested in test_server.py.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest
from pyapp_runtime import Host
from pyapp_server.demo import DEMO_APPS, examples_dir, prepare_demo, stage_package
from testkit import stop_supervisord

from apppackage import AppPackage, AppPackageError


def test_the_demo_apps_are_examples_of_the_checkout() -> None:
    assert all((examples_dir() / name / "metadata.yaml").is_file() for name in DEMO_APPS)


def test_an_example_is_staged_with_its_record_and_without_caches_or_build_output(tmp_path: Path) -> None:
    example = tmp_path / "hello"
    shutil.copytree(examples_dir() / "hello", example, ignore=shutil.ignore_patterns("__pycache__"))
    for leftover in ("dist/hello-1.0.0.pyapp", "src/hello/__pycache__/app.cpython-311.pyc", ".env", "RECORD"):
        (example / leftover).parent.mkdir(parents=True, exist_ok=True)
        (example / leftover).write_text("not for the package")
    (example / "src" / "build").mkdir()
    (example / "src" / "build" / "keep.py").write_text("")  # only the top-level build/ is build output

    staged = stage_package(example, tmp_path / "staged")
    with AppPackage(staged) as package:
        assert package.validate() == []
        assert package.verify() == []
        files = package.files()
    assert "src/hello/app.py" in files and "src/build/keep.py" in files
    assert not [f for f in files if f.startswith(("dist/", ".")) or "__pycache__" in f]


def test_the_demo_needs_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(AppPackageError, match="--demo runs from a checkout"):
        prepare_demo(tmp_path / "data", echo=print, examples=tmp_path / "nowhere")


@pytest.mark.slow
def test_the_url_the_demo_prints_stays_valid_through_a_configuration_change_and_an_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYAPP_DAEMONS", "1")
    data = Path(tempfile.mkdtemp(prefix="pyapp-demo-", dir="/tmp")) / "data"
    try:
        (line,) = prepare_demo(data, echo=lambda _: None)
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url is not None, line

        def page() -> str:
            with urllib.request.urlopen(url[0], timeout=30) as response:
                return str(response.read().decode())

        assert "Hello from hello 1.0.0" in page()
        host = Host(data)
        host.set_config("hello", ["greeting=Howdy"])
        assert "Howdy from hello 1.0.0" in page()
        example = data.parent / "hello"
        shutil.copytree(examples_dir() / "hello", example, ignore=shutil.ignore_patterns("__pycache__"))
        meta = example / "metadata.yaml"
        meta.write_text(meta.read_text().replace('version: "1.0.0"', 'version: "1.1.0"'))
        host.install(stage_package(example, data.parent / "staged"))
        assert "Howdy from hello 1.1.0" in page()
    finally:
        stop_supervisord(data / "supervisor")
        shutil.rmtree(data.parent, ignore_errors=True)
