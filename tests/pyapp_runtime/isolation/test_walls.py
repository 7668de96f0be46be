"""Walls between apps, end to end as root: a hostile app's WSGI daemon, hook, task and command try to
read the management server's token, another app's configuration, service values and data, and to write
into their own release; each attempt is refused, they run as a user of their own, and in the sandbox
the other app's directory does not exist (docs/trust-model.md)."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from testkit import request, wait_until

from apppackage.record import render_record
from apppackage.sources import DirectorySource

# The apps' users are the machine's, named after the apps: tests that may run at once (on two workers) give
# their apps names of their own.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="apps get users of their own only on a root host")

PROBE = r"""
import json, os, resource


def attempt(kind, path):
    try:
        if kind == "read":
            with open(path, "rb") as f:
                f.read(1)
        elif kind == "list":
            os.listdir(path)
        elif kind == "write":
            with open(path, "w") as f:
                f.write("x")
        elif kind == "write-release":
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pwned"), "w") as f:
                f.write("x")
        elif kind == "exists":
            return "exists" if os.path.lexists(path) else "absent"
        return "allowed"
    except OSError as exc:
        return type(exc).__name__


def probe(targets):
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "results": {name: attempt(kind, path) for name, (kind, path) in targets.items()},
    }


def application(environ, start_response):
    from urllib.parse import parse_qs

    if environ["PATH_INFO"] == "/health":
        body = b"ok"
    else:
        body = json.dumps(probe(json.loads(parse_qs(environ["QUERY_STRING"])["t"][0]))).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def _write(context, name):
    # Whole or not at all: the test may read it while the next run of the task writes it.
    path = os.path.join(context["data_path"], name)
    with open(path + ".tmp", "w") as f:
        json.dump(probe(json.loads(context["config"]["targets"])), f)
    os.replace(path + ".tmp", path)


def install(context):
    _write(context, "hook-probe.json")


def backup(context):
    with open(os.path.join(context["backup_path"], "probe.json"), "w") as f:
        json.dump(probe(json.loads(context["config"]["targets"])), f)


def task(context):
    _write(context, "task-probe.json")


def command(argv):
    print(json.dumps(probe(json.loads(argv[0]))))
"""

VICTIM = r"""
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"victim"]
"""

COMMAND = """
import sys
from pyapp_runtime import Host
result = Host(sys.argv[1]).run_command("hostile", "probe", [sys.argv[2]], capture=True)
print(result.output)
"""
SECRET = "s3cret-of-the-victim"
DATABASE = "postgresql://victim:hunter2@db.example/victim"


def build(root: Path, name: str, metadata: dict[str, Any], files: dict[str, str]) -> Path:
    src = root / f"{name}-src"
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    (src / "metadata.yaml").write_text(
        yaml.safe_dump({"pyapp": "1.0", "name": name, "version": "1.0.0", **metadata})
    )
    contents = {n: (src / n).read_bytes() for n in DirectorySource(src).names() if n != "RECORD"}
    contents["RECORD"] = render_record(contents).encode()
    out = root / f"{name}.pyapp"
    with zipfile.ZipFile(out, "w") as zf:
        for rel in sorted(contents):
            zf.writestr(rel, contents[rel])
    return out


def hostile(root: Path) -> Path:
    metadata = {
        "wsgi": {"app": "hostile:application"},
        "health": {"path": "/health"},
        "hooks": {"install": "hostile:install", "backup": "hostile:backup"},
        "tasks": {"probe": {"call": "hostile:task", "every": 1, "timeout": 30}},
        "commands": {"probe": "hostile:command"},
    }
    files = {
        "src/hostile/__init__.py": PROBE,
        "configuration.yaml": yaml.safe_dump({"fields": {"targets": {"type": "string", "default": "{}"}}}),
    }
    return build(root, "hostile", metadata, files)


def victim(root: Path, name: str = "victim") -> Path:
    metadata = {
        "wsgi": {"app": "victim:application"},
        "services": {"db": {"type": "postgresql"}},
    }
    files = {
        "src/victim/__init__.py": VICTIM,
        "configuration.yaml": yaml.safe_dump({"fields": {"secret": {"type": "string", "default": ""}}}),
    }
    return build(root, name, metadata, files)


def targets(home: Path) -> dict[str, tuple[str, str]]:
    other = home / "apps" / "victim"
    return {
        "server token": ("read", str(home / "server" / "local-token")),
        "host settings": ("read", str(home / "host.yaml")),
        "other config": ("read", str(other / "config.yaml")),
        "other services": ("read", str(other / "services.yaml")),
        "other rendered config": ("read", str(other / "app-config.yaml")),
        "other data": ("list", str(other / "data")),
        "other data file": ("read", str(other / "data" / "private.txt")),
        "other app dir": ("exists", str(other)),
        "own release": ("write-release", ""),
        "host's log of it": ("write", str(home / "apps" / "hostile" / "output" / "planted.log")),
        "own data": ("write", str(home / "apps" / "hostile" / "data" / "written-by-me")),
    }


def refused(results: dict[str, str], *, sandboxed: bool) -> None:
    for name in ("server token", "host settings", "other config", "other services", "other rendered config",
                 "other data", "other data file", "own release", "host's log of it"):  # fmt: skip
        assert results[name] != "allowed", f"{name}: {results[name]}"
    assert results["own data"] == "allowed"  # the probe itself works: its own data it may write
    if sandboxed:
        assert results["other app dir"] == "absent"
        assert results["server token"] == "FileNotFoundError"  # not even there


def test_a_hostile_app_is_refused_everything_that_is_not_its_own(
    pyapp: Callable[..., subprocess.CompletedProcess[str]],
    open_home: Path,
    tmp_path: Path,
    shared_python: str,
) -> None:
    home = open_home
    home.mkdir(parents=True)
    (home / "host.yaml").write_text(yaml.safe_dump({"ports": "27100-27140", "limits": {"nofile": 321}}))
    # The management server's token, as pyapp-server keeps it.
    (home / "server").mkdir(mode=0o700)
    token = home / "server" / "local-token"
    token.write_text("admin-token\n")
    token.chmod(0o600)
    pyapp("install", victim(tmp_path), "--set", f"secret={SECRET}", "--service", f"db={DATABASE}")
    (home / "apps" / "victim" / "data" / "private.txt").write_text("the victim's own\n")
    wanted = json.dumps(targets(home))
    pyapp("install", hostile(tmp_path), "--set", f"targets={wanted}")

    shown = json.loads(pyapp("show", "hostile", "--json").stdout)
    user = pwd.getpwnam("pyapp-hostile")
    assert shown["identity"] == {
        "user": "pyapp-hostile", "group": "pyapp-hostile", "uid": user.pw_uid, "gid": user.pw_gid,
        "isolated": True, "reason": "",
    }  # fmt: skip
    sandboxed = shown["confinement"]["kind"] == "bubblewrap"
    assert sandboxed, shown["confinement"]  # bubblewrap is installed where these tests run
    assert shown["limits"]["nofile"] == 321
    text = pyapp("show", "hostile").stdout
    assert f"runs as: pyapp-hostile (uid {user.pw_uid})" in text
    assert "confinement: bubblewrap" in text and "limits: nofile 321" in text

    # The WSGI daemon.
    socket = home / "apps" / "hostile" / "sockets" / "web.sock"
    status, body = request(str(socket), "/probe?t=" + quote(wanted))
    assert status == 200, body
    seen = json.loads(body)
    assert seen["uid"] == user.pw_uid != 0
    assert seen["groups"] in ([], [user.pw_gid])  # none of root's
    assert seen["nofile"] == 321
    refused(seen["results"], sandboxed=sandboxed)

    # The install hook, then the task (the scheduler runs it every second).
    data = home / "apps" / "hostile" / "data"
    wait_until((data / "task-probe.json").exists, "a run of the task")
    for report in ("hook-probe.json", "task-probe.json"):
        seen = json.loads((data / report).read_text())
        assert seen["uid"] == user.pw_uid, report
        assert seen["nofile"] == 321, report
        refused(seen["results"], sandboxed=sandboxed)

    # A command, run by the host.
    ran = subprocess.run(
        [shared_python, "-c", COMMAND, str(home), wanted],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert seen["uid"] == user.pw_uid and seen["nofile"] == 321
    assert seen["groups"] in ([], [user.pw_gid])
    refused(seen["results"], sandboxed=sandboxed)

    # The backup hook writes where the host archives from (backups/ itself is closed to the app).
    archive = json.loads(pyapp("backup", "hostile", "--json").stdout)["archive"]
    with tarfile.open(archive) as tar:
        extracted = tar.extractfile("hook/probe.json")
        assert extracted is not None
        seen = json.loads(extracted.read())
    assert seen["uid"] == user.pw_uid
    refused(seen["results"], sandboxed=sandboxed)

    # Its socket is no one else's: 0660, the web server's workers' group, in a directory of that group.
    info = socket.resolve().stat()
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_uid == user.pw_uid
    assert info.st_gid == socket.parent.stat().st_gid
    assert not stat.S_IMODE(socket.parent.stat().st_mode) & 0o007

    # The victim's secrets stayed where they were, and its user cannot be the hostile one's.
    assert pwd.getpwnam("pyapp-victim").pw_uid != user.pw_uid
    config = home / "apps" / "victim" / "config.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640 and SECRET in config.read_text()

    # Removing an app removes its user and group.
    pyapp("remove", "hostile")
    pyapp("remove", "victim")
    for name in ("pyapp-hostile", "pyapp-victim"):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


@pytest.mark.parametrize("kind", ["nginx", "apache", "lighttpd"])
def test_the_web_server_reaches_an_app_with_a_user_of_its_own(
    kind: str, pyapp: Callable[..., subprocess.CompletedProcess[str]], open_home: Path, tmp_path: Path
) -> None:
    """Its socket (0660, the workers' group) and its static files (in its release) are served; nobody
    else's user could connect to it."""
    from pyapp_runtime.webservers import find_installation
    from testkit import free_port

    if find_installation(kind) is None:
        pytest.skip(f"{kind} is not installed (./dev test installs it)")
    app = f"walled-{kind}"  # users are the machine's: parallel runs of the kinds need names of their own
    package = build(
        tmp_path, app,
        {"wsgi": {"app": "walled:application"}, "health": {"path": "/"}, "static": {"/static": "site"}},
        {"src/walled/__init__.py": VICTIM, "site/hello.txt": "static hello"},
    )  # fmt: skip
    pyapp("install", package)
    port = free_port()
    try:
        pyapp("vhost", "add", "main", "--port", str(port), "--server-name", "localhost", web_server=kind)
        pyapp("mount", app, "main", "/w", web_server=kind)  # verified through the web server itself
        assert fetch(port, "/w/") == (200, "victim")
        assert fetch(port, "/w/static/hello.txt") == (200, "static hello")
    finally:
        pyapp("web", "stop", check=False, web_server=kind)
    socket = open_home / "apps" / app / "sockets" / "web.sock"
    assert stat.S_IMODE(socket.resolve().stat().st_mode) == 0o660
    pyapp("remove", app)


def fetch(port: int, path: str) -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


STEADY = r"""
import os, time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"steady {os.environ['PYAPP_VERSION']}".encode()]
"""


def test_an_update_of_a_sandboxed_app_loses_no_request(
    pyapp: Callable[..., subprocess.CompletedProcess[str]], open_home: Path, tmp_path: Path
) -> None:
    """Its old daemon, in its sandbox, gets the stop signal through bubblewrap and finishes its requests."""
    from testkit import Load

    def steady(version: str) -> Path:
        meta = {"version": version, "wsgi": {"app": "steady:application"}, "health": {"path": "/"}}
        return build(tmp_path / version, "steady", meta, {"src/steady/__init__.py": STEADY})

    pyapp("install", steady("1.0.0"))
    shown = json.loads(pyapp("show", "steady", "--json").stdout)
    assert shown["identity"]["isolated"] and shown["confinement"]["kind"] == "bubblewrap", shown
    load = Load(open_home / "apps" / "steady" / "sockets" / "web.sock")

    load.run(lambda: pyapp("install", steady("1.1.0")))

    assert load.failures() == []
    assert load.versions() == ["steady 1.0.0", "steady 1.1.0"]
    assert len(load.slow) >= 2  # requests were in progress while the old release stopped
    pyapp("remove", "steady")


SETTLED = r"""
import os, time


def _label():
    with open(os.environ["PYAPP_CONFIG_FILE"]) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "label":
                return value.strip().strip("'\"")
    return ""


LABEL = _label()


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"settled {os.environ['PYAPP_VERSION']} {LABEL}".strip().encode()]
"""


@pytest.mark.parametrize("kind", ["nginx", "apache", "lighttpd"])
def test_update_rollback_and_config_change_through_the_web_server_lose_no_request_with_walls_up(
    kind: str, pyapp: Callable[..., subprocess.CompletedProcess[str]], open_home: Path, tmp_path: Path
) -> None:
    """An app with a user of its own, in its sandbox, behind each web server: clients of the web server
    see every switch (at least 2,000 requests each) without one failed request."""
    from pyapp_runtime.webservers import find_installation
    from testkit import Load, free_port

    if find_installation(kind) is None:
        pytest.skip(f"{kind} is not installed (./dev test installs it)")

    app = f"settled-{kind}"  # users are the machine's: parallel runs of the kinds need names of their own

    def settled(version: str) -> Path:
        meta = {
            "version": version,
            "wsgi": {"app": "settled:application"},
            "health": {"path": "/", "start": 10, "timeout": 5},
        }
        files = {
            "src/settled/__init__.py": SETTLED,
            "configuration.yaml": yaml.safe_dump({"fields": {"label": {"type": "string", "default": ""}}}),
        }
        return build(tmp_path / version, app, meta, files)

    pyapp("install", settled("1.0.0"), web_server=kind)
    shown = json.loads(pyapp("show", app, "--json").stdout)
    assert shown["identity"]["isolated"] and shown["confinement"]["kind"] == "bubblewrap", shown
    port = free_port()
    try:
        pyapp("vhost", "add", "main", "--port", str(port), web_server=kind)
        pyapp("mount", app, "main", "/", web_server=kind)
        steps = [
            (lambda: pyapp("install", settled("1.1.0"), web_server=kind), ["settled 1.0.0", "settled 1.1.0"]),
            (lambda: pyapp("rollback", app, web_server=kind), ["settled 1.0.0", "settled 1.1.0"]),
            (
                lambda: pyapp("config", app, "set", "label=blue", web_server=kind),
                ["settled 1.0.0", "settled 1.0.0 blue"],
            ),
        ]
        for action, versions in steps:
            load = Load(port, quick=2, at_least=2000)
            load.run(action)
            assert load.failures() == [], (kind, versions)
            assert len(load.results) >= 2000
            assert sorted(set(load.versions())) == versions
    finally:
        pyapp("web", "stop", check=False, web_server=kind)
    pyapp("remove", app)


def test_without_users_of_their_own_the_sandbox_alone_hides_the_others(
    pyapp: Callable[..., subprocess.CompletedProcess[str]], open_home: Path, tmp_path: Path
) -> None:
    """``app_users: false`` and the default confinement: the apps run as root, as on a host not run as
    root they would run as its user; the sandbox is then the one wall, and it holds."""
    home = open_home
    home.mkdir(parents=True)
    settings = {"ports": "27150-27190", "app_users": False}
    (home / "host.yaml").write_text(yaml.safe_dump(settings))
    (home / "server").mkdir(mode=0o700)
    (home / "server" / "local-token").write_text("admin-token\n")
    pyapp("install", victim(tmp_path), "--set", f"secret={SECRET}", "--service", f"db={DATABASE}")
    wanted = json.dumps(targets(home))
    pyapp("install", hostile(tmp_path), "--set", f"targets={wanted}")
    shown = json.loads(pyapp("show", "hostile", "--json").stdout)
    assert shown["identity"]["isolated"] is False and "app_users" in shown["identity"]["reason"]
    assert "not a user of its own: app_users is off" in pyapp("show", "hostile").stdout
    assert shown["confinement"]["kind"] == "bubblewrap"
    with pytest.raises(KeyError):
        pwd.getpwnam("pyapp-hostile")

    status, body = request(str(home / "apps" / "hostile" / "run" / "web.sock"), "/probe?t=" + quote(wanted))
    assert status == 200, body
    seen = json.loads(body)
    refused(seen["results"], sandboxed=True)
    assert (
        json.loads((home / "apps" / "hostile" / "data" / "hook-probe.json").read_text())["results"]
        == seen["results"]
    )
    pyapp("remove", "hostile")
    pyapp("remove", "victim")


def test_an_app_of_a_home_too_long_for_unix_sockets_binds_in_a_short_directory_of_its_own(
    pyapp: Callable[..., subprocess.CompletedProcess[str]], open_home: Path, tmp_path: Path
) -> None:
    home = open_home.parent / ("a-long-directory-name-" * 4) / "home"
    home.parent.mkdir()
    home.parent.chmod(0o755)
    try:
        pyapp("install", victim(tmp_path, "victim-long"), "--service", f"db={DATABASE}", home=home)
        shown = json.loads(pyapp("status", "victim-long", "--json", home=home).stdout)
        (web,) = (
            [p for p in shown if p["process"] == "web"] if isinstance(shown, list) else shown["processes"]
        )
        socket = Path(web["socket"])
        assert home not in socket.parents  # the short directory (its paths fit a unix socket)
        user = pwd.getpwnam("pyapp-victim-long")
        assert socket.stat().st_uid == user.pw_uid and stat.S_IMODE(socket.stat().st_mode) == 0o660
        assert request(str(socket), "/") == (200, "victim")
    finally:
        pyapp("remove", "victim-long", home=home, check=False)
        from testkit import stop_supervisord

        stop_supervisord(home / "supervisor")
