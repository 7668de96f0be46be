"""The host commands of the real `pyapp` command line, run as a subprocess with --home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PYAPP = str(Path(sys.executable).with_name("pyapp"))
COMMANDS = ("install", "list", "show", "rollback", "remove", "config", "backup", "restore")
PYRAMID = ("pyramid", "webob", "zope", "venusian", "translationstring", "hupper", "plaster", "pastedeploy",
           "setuptools")  # fmt: skip


def pyapp(*args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYAPP_HOME"}
    proc = subprocess.run([PYAPP, *map(str, args)], env=env, capture_output=True, text=True, timeout=240)
    if check:
        assert proc.returncode == 0, f"pyapp {args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def as_json(*args: object) -> object:
    return json.loads(pyapp(*args, "--json").stdout)


@pytest.fixture(scope="module")
def packages(module_factory, repo_root):
    meta = {"dependencies": {"packages": ["pyramid"]}, "wsgi": {"app": "probe:probe"}}
    return {
        "hello-1": module_factory.hello(repo_root),
        "hello-2": module_factory.hello(repo_root, "2.0.0"),
        "web": module_factory.probe(
            "1.0.0", name="web", metadata=meta, wheels=module_factory.wheels(*PYRAMID)
        ),
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_every_host_command_has_an_example_in_its_help(command):
    out = pyapp(command, "--help").stdout
    assert "Example:" in out and f"pyapp {command}" in out
    assert "--json" in out and "--home" in out


def test_install_update_rollback_remove_hello_from_the_command_line(tmp_path, packages):
    home = tmp_path / "home"
    first = as_json("install", packages["hello-1"], "--home", home, "--set", "greeting=Hey")
    assert (first["action"], first["version"]) == ("installed", "1.0.0")
    listed = as_json("list", "--home", home)
    assert [(a["name"], a["version"], a["release"], a["busy"]) for a in listed] == [
        ("hello", "1.0.0", first["release"], None)
    ]
    assert as_json("config", "hello", "--home", home)["values"] == {"greeting": "Hey"}

    second = as_json("install", packages["hello-2"], "--home", home)
    assert (second["action"], second["previous_version"]) == ("updated", "1.0.0")
    assert second["backup"]["archive"].endswith("-pre-update.tar.gz")
    refused = pyapp("install", packages["hello-1"], "--home", home, check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    shown = as_json("show", "hello", "--home", home)
    assert [(r["version"], r["current"]) for r in shown["releases"]] == [("2.0.0", True), ("1.0.0", False)]

    back = as_json("rollback", "hello", "--home", home)
    assert (back["from_version"], back["version"]) == ("2.0.0", "1.0.0")
    text = pyapp("show", "hello", "--home", home).stdout
    assert "hello 1.0.0" in text and "previous" in text and "current" in text

    removed = as_json("remove", "hello", "--home", home)
    assert sorted(removed["removed_releases"]) == sorted([first["release"], second["release"]])
    assert as_json("list", "--home", home) == []
    assert "no apps installed" in pyapp("list", "--home", home).stdout


def test_an_app_with_pyramid_from_the_command_line(tmp_path, packages):
    home = tmp_path / "home"
    out = pyapp("install", packages["web"], "--home", home)
    assert "web 1.0.0 installed" in out.stdout and "shared" in out.stdout
    assert "==> installing dependencies" in out.stderr
    info = as_json("show", "web", "--home", home)
    assert info["wsgi"] == "probe:probe" and info["disk"]["shared"] > 0
    assert (home / "server-packages" / "pyramid-2.1" / "pyramid" / "__init__.py").is_file()


def test_errors_name_the_app_and_are_json_with_json(tmp_path):
    home = tmp_path / "home"
    proc = pyapp("show", "nope", "--home", home, check=False)
    assert proc.returncode == 1 and "no app named 'nope' is installed" in proc.stderr
    proc = pyapp("rollback", "nope", "--home", home, "--json", check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["type"] == "NoSuchApp"


def test_config_set_show_and_secrets(tmp_path, factory):
    home = tmp_path / "home"
    fields = {"greeting": {"type": "string", "default": "Hello"}, "token": {"type": "secret"}}
    pyapp("install", factory.probe(fields=fields), "--home", home)
    shown = pyapp("config", "probe", "--home", home).stdout
    assert 'greeting: "Hello"' in shown and '"********"' in shown
    secret = as_json("config", "probe", "show", "--show-secrets", "--home", home)["values"]["token"]
    assert secret != "********" and len(secret) == 32
    changed = as_json("config", "probe", "set", "greeting=Hi", "--home", home)
    assert changed["changed"] == ["greeting"] and changed["values"]["token"] == "********"
    bad = pyapp("config", "probe", "set", "nope=1", "--home", home, check=False)
    assert bad.returncode == 1 and "/nope: unknown setting" in bad.stderr


def test_backup_and_restore(tmp_path, factory):
    home = tmp_path / "home"
    pyapp("install", factory.probe(), "--home", home)
    files = home / "apps" / "probe" / "data" / "files"
    (files / "a.txt").write_text("first")
    archive = Path(as_json("backup", "probe", "--home", home)["archive"])
    with tarfile.open(archive) as tar:
        assert "data/files/a.txt" in tar.getnames() and "hook/dump.txt" in tar.getnames()
    (files / "a.txt").write_text("second")
    (files / "b.txt").write_text("new")
    pyapp("config", "probe", "set", "greeting=Changed", "--home", home)
    restored = as_json("restore", "probe", archive, "--home", home)
    assert restored["backup_version"] == "1.0.0"
    assert (files / "a.txt").read_text() == "first" and not (files / "b.txt").exists()
    assert "greeting" not in as_json("config", "probe", "--home", home)["values"]  # unset again: its default
    assert (Path(restored["hook_files"]) / "dump.txt").read_text() == "dump of 1.0.0"
    assert not [p for p in os.listdir(home / "apps" / "probe") if p.startswith(".")]


def test_restore_refuses_another_apps_backup(tmp_path, factory):
    home = tmp_path / "home"
    pyapp("install", factory.probe(), "--home", home)
    pyapp("install", factory.probe(name="other"), "--home", home)
    archive = as_json("backup", "other", "--home", home)["archive"]
    proc = pyapp("restore", "probe", archive, "--home", home, check=False)
    assert proc.returncode == 1 and "is a backup of 'other', not of 'probe'" in proc.stderr


# What installing a usual package without hooks needs none of: the schema checker for a valid
# description, packaging's parsers for pins and requirements (its specifiers check requires.python),
# supervisord's and the health check's HTTP clients, the walls (for hooks), backups (for updates),
# the web part, boot and the scheduler.
NOT_FOR_A_FIRST_INSTALL = (
    "jsonschema", "packaging.requirements", "packaging.markers", "email.parser",
    "xmlrpc.client", "http.client", "pyapp_runtime.isolation.walls", "pyapp_runtime.lifecycle.backup",
    "pyapp_runtime.web.hostweb", "pyapp_runtime.boot", "pyapp_runtime.scheduler",
)  # fmt: skip


def test_pyapp_install_loads_only_what_installing_needs(tmp_path, module_factory):
    """The command's start-up is mostly imports (benchmarks/bench_install.py times it): a regression
    that loads a part an install without hooks never uses shows here, by name."""
    import hashlib

    wheels = module_factory.wheels(*PYRAMID)
    lock = "".join(
        f"{'=='.join(w.name.split('-')[:2])} --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n"
        for w in wheels
    )
    meta = {"dependencies": {"packages": ["pyramid>=2.0,<3"]}, "requires": {"python": ">=3.10"}, "hooks": {}}
    package = module_factory.probe(
        "1.0.0", name="lean", metadata=meta, wheels=wheels, extra={"deps/requirements.txt": lock.encode()}
    )
    seen = tmp_path / "modules.json"
    script = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(seen)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = ['pyapp', 'install', {str(package)!r}, '--home', {str(tmp_path / 'home')!r}]\n"
        "sys.argv.append('--no-start')\n"
        "from pyapp_tools.console import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lean 1.0.0 installed" in proc.stdout
    loaded = set(json.loads(seen.read_text()))
    assert "pyapp_runtime.lifecycle.install" in loaded
    assert sorted(loaded.intersection(NOT_FOR_A_FIRST_INSTALL)) == []
    shown = as_json("show", "lean", "--home", tmp_path / "home")
    assert shown["version"] == "1.0.0"
