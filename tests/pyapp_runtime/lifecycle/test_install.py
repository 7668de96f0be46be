"""Installing, updating, rolling back and removing apps through the library (pyapp_runtime.Host)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from pyapp_runtime import Host, LaunchSpec, NoSuchApp, NoSuchRelease, NotAnUpgrade

from apppackage.description import Command, Health, Wsgi


@pytest.fixture(scope="module")
def hello_packages(module_factory, repo_root):
    return {
        "1.0.0": module_factory.hello(repo_root),
        "1.1.0": module_factory.hello(repo_root, "1.1.0"),
        "1.2.0": module_factory.hello(repo_root, "1.2.0"),
        "1.3.0": module_factory.hello(repo_root, "1.3.0"),
    }


def test_first_install_of_hello_builds_a_release_and_activates_it(home, hello_packages):
    host = Host(home)
    result = host.install(hello_packages["1.0.0"])
    assert result.action == "installed"
    assert result.version == "1.0.0"
    app = home / "apps" / "hello"
    sha = __import__("hashlib").sha256(hello_packages["1.0.0"].read_bytes()).hexdigest()
    assert result.release == f"1.0.0-{sha[:12]}"
    assert os.readlink(app / "current") == f"releases/{result.release}"
    release = app / "releases" / result.release
    assert (release / "metadata.yaml").is_file() and (release / "src" / "hello" / "app.py").is_file()
    for sub in ("data/counters", "tmp", "logs", "run"):
        assert (app / sub).is_dir()
    # The operator set nothing: the app reads the spec's defaults, rendered.
    assert "greeting" not in (app / "config.yaml").read_text()
    assert stat.S_IMODE((app / "config.yaml").stat().st_mode) == 0o600
    assert (app / "app-config.yaml").read_text() == "greeting: Hello\n"
    run = host.run_command("hello", "greet", ["World"], capture=True)
    assert run.returncode == 0 and run.output == "Hello, World!\n"


def test_launch_json_holds_what_a_process_needs(home, hello_packages):
    host = Host(home)
    result = host.install(hello_packages["1.0.0"])
    release = Path(result.path)
    raw = json.loads((release / ".pyapp" / "launch.json").read_text())
    launch = LaunchSpec.read(release)
    assert raw["root"] == str(release)
    assert launch.sys_path[0] == str(release / "src")
    # launch.json keeps its format-1 shape; it is read into the description's own parts.
    assert raw["wsgi"] == {"app": "hello.app:application", "factory": False}
    assert launch.wsgi == Wsgi(app="hello.app:application")
    assert raw["health"] == {"path": "/health", "timeout": 5.0, "start": 30.0}
    assert launch.health == Health(path="/health")
    assert LaunchSpec.from_dict(raw).to_dict() == raw
    assert launch.config_file == str(home / "apps" / "hello" / "app-config.yaml")
    variables = launch.variables
    assert variables["PYAPP_NAME"] == "hello" and variables["PYAPP_VERSION"] == "1.0.0"
    assert variables["PYAPP_ROOT"] == str(release)
    assert variables["PYAPP_DATA_PATH"] == str(home / "apps" / "hello" / "data")
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(home / "apps" / "hello" / "data" / "counters")
    assert variables["TMPDIR"] == variables["PYAPP_TMP_PATH"] == str(home / "apps" / "hello" / "tmp")
    assert raw["commands"] == {"greet": "hello.commands:greet"}
    assert launch.commands == (Command(name="greet", call="hello.commands:greet"),)
    env = launch.environment(process="web", port=8123, mount_path="/hello/")
    assert env.variables["PYAPP_PORT"] == "8123" and env.variables["SCRIPT_NAME"] == "/hello"
    # The release's own RECORD still matches (the runtime's additions live outside it).
    assert host.verify("hello") == []
    (release / "src" / "hello" / "app.py").write_text("tampered")
    assert [p.file for p in host.verify("hello")] == ["src/hello/app.py"]


def test_update_rollback_and_remove(home, hello_packages):
    host = Host(home)
    first = host.install(hello_packages["1.0.0"])
    counters = home / "apps" / "hello" / "data" / "counters"
    (counters / "visits").write_text("41")
    (home / "apps" / "hello" / "tmp" / "scratch").write_text("x")
    host.set_config("hello", ["greeting=Howdy"])

    second = host.install(hello_packages["1.1.0"])
    assert (second.action, second.previous_version) == ("updated", "1.0.0")
    app = home / "apps" / "hello"
    assert os.readlink(app / "current") == f"releases/{second.release}"
    assert os.readlink(app / "previous") == f"releases/{first.release}"
    assert (counters / "visits").read_text() == "41"  # data survives the update
    assert not (app / "tmp" / "scratch").exists()  # tmp/ is cleared on update
    assert "greeting: Howdy" in (app / "config.yaml").read_text()  # values are kept
    assert host.run_command("hello", "greet", ["x"], capture=True).output == "Howdy, x!\n"

    back = host.rollback("hello")
    assert (back.from_version, back.version) == ("1.1.0", "1.0.0")
    assert os.readlink(app / "current") == f"releases/{first.release}"
    assert os.readlink(app / "previous") == f"releases/{second.release}"
    assert (counters / "visits").read_text() == "41"
    forward = host.rollback("hello", to="1.1.0")
    assert forward.release == second.release

    removed = host.remove("hello")
    assert set(removed.removed_releases) == {first.release, second.release}
    assert not app.exists()
    with pytest.raises(NoSuchApp):
        host.show("hello")


def test_same_version_is_unchanged_and_downgrade_needs_force(home, hello_packages):
    host = Host(home)
    host.install(hello_packages["1.1.0"])
    assert host.install(hello_packages["1.1.0"]).action == "unchanged"
    with pytest.raises(
        NotAnUpgrade, match=r"hello 1.1.0 is installed .* 1.0.0, an older version; pass --force"
    ):
        host.install(hello_packages["1.0.0"])
    assert host.release("hello").version == "1.1.0"
    forced = host.install(hello_packages["1.0.0"], force=True)
    assert (forced.action, host.release("hello").version) == ("downgraded", "1.0.0")


def test_old_releases_are_pruned_but_never_current_or_previous(home, hello_packages):
    host = Host(home, keep_releases=2)
    ids = [host.install(hello_packages[v]).release for v in ("1.0.0", "1.1.0", "1.2.0")]
    releases = sorted(os.listdir(home / "apps" / "hello" / "releases"))
    assert releases == sorted(ids[1:])
    host.rollback("hello")  # current 1.1.0, previous 1.2.0
    result = host.install(hello_packages["1.3.0"], keep=1)
    # keep=1 keeps the newest; 1.1.0 (previous now) stays too.
    assert set(result.removed_releases) == {ids[2]}
    assert sorted(os.listdir(home / "apps" / "hello" / "releases")) == sorted([ids[1], result.release])


def test_show_lists_releases_with_sizes(home, hello_packages):
    host = Host(home)
    host.install(hello_packages["1.0.0"])
    host.install(hello_packages["1.1.0"])
    info = host.show("hello")
    assert [r.release.version for r in info.releases] == ["1.1.0", "1.0.0"]
    assert [(r.current, r.previous) for r in info.releases] == [(True, False), (False, True)]
    assert all(r.size > 0 for r in info.releases)
    assert info.disk["total"] >= info.disk["releases"] > 0
    assert info.to_dict()["releases"][0]["size"] == info.releases[0].size
    assert [a.name for a in host.apps()] == ["hello"]


def test_rollback_without_a_previous_release_says_so(home, hello_packages):
    host = Host(home)
    host.install(hello_packages["1.0.0"])
    with pytest.raises(NoSuchRelease, match="no previous release"):
        host.rollback("hello")
    with pytest.raises(NoSuchRelease, match=r"no release '9\.9'"):
        host.rollback("hello", to="9.9")


def test_remove_keep_data_keeps_data_and_config_for_a_reinstall(home, hello_packages):
    host = Host(home)
    host.install(hello_packages["1.0.0"])
    host.set_config("hello", ["greeting=Salut"])
    (home / "apps" / "hello" / "data" / "counters" / "visits").write_text("7")
    result = host.remove("hello", keep_data=True)
    app = home / "apps" / "hello"
    assert str(app / "data") in result.kept
    assert not (app / "releases").exists() and not (app / "current").exists()
    assert [a.name for a in host.apps()] == []
    again = host.install(hello_packages["1.0.0"])
    assert again.action == "installed"
    assert (app / "data" / "counters" / "visits").read_text() == "7"
    assert "greeting: Salut" in (app / "config.yaml").read_text()


def test_a_package_directory_with_a_record_installs_too(home, factory, tmp_path):
    import zipfile

    package = factory.probe("1.0.0")
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(package).extractall(unpacked)
    result = Host(home).install(unpacked)
    assert result.action == "installed"
    assert (Path(result.path) / "src" / "probe" / "__init__.py").is_file()
