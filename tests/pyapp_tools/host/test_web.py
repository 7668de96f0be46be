"""``pyapp vhost``, ``pyapp mount``, ``pyapp unmount``, ``pyapp web`` as a user runs them: real commands,
a real web server on a loopback port (each test once with nginx, Apache and lighttpd), apps running under
the runtime's own supervised daemons.

The app is examples/hello built with :mod:`pyapp_tools.building.builder`, with a static directory
added whose file names the version, so the static files' release can be seen too; ASGI apps
(examples/asgi-echo and a Starlette app, tests/support/asgiapps.py) are mounted too, their WebSockets
passed through.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiapps import build_asgi_echo, build_starnotes
from pyapp_runtime.webservers import find_installation
from testkit import free_port, processes_under, stop_process
from wsclient import talk

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

KINDS = ("nginx", "apache", "lighttpd")
"""The web servers every test runs with (the ``web_server`` setting)."""
PID_FILES = {"nginx": "nginx.pid", "apache": "httpd.pid", "lighttpd": "lighttpd.pid"}
"""Where each kind keeps its main process id, under ``webservers/<kind>/run/``."""
AFTER_UPDATE = 50
"""Requests the load sends once the update has returned."""


def get(port: int, path: str, host: str = "localhost") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def build_hello(out: Path, version: str, *, health_start: float | None = None) -> Path:
    """examples/hello as *version*, with ``/static`` serving ``version.txt``; 1.0.1 adds ``/media``.
    *health_start*: its ``health.start`` (how long a host waits for it to answer healthily)."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / f"hello-{version}"
    shutil.copytree(EXAMPLES / "hello", source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    text = re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text())
    if health_start is not None:
        text, found = re.subn(r"(?m)^health:\n", f"health:\n  start: {health_start:g}\n", text)
        assert found == 1, "examples/hello has no health section to add to"
    static = "static:\n  /static: site\n"
    (source / "site").mkdir()
    (source / "site" / "version.txt").write_text(version)
    if version == "1.0.1":
        static += "  /media: media\n"
        (source / "media").mkdir()
        (source / "media" / "new.txt").write_text("new in 1.0.1")
    meta.write_text(text + static)
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


def build_docs(out: Path) -> Path:
    """A static-only app: files and no WSGI application."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / "docs"
    (source / "site").mkdir(parents=True)
    (source / "site" / "index.html").write_text("<h1>the docs</h1>")
    (source / "metadata.yaml").write_text(
        'pyapp: "1.0"\nname: docs\nversion: "1.0"\npaths: []\nstatic:\n  /: site\n'
    )
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path


class Host:
    """One host directory under a short path, served by the web server *kind*; its commands; and its
    processes stopped afterwards."""

    def __init__(self, base: Path, kind: str) -> None:
        self.base = base
        self.kind = kind
        self.home = base / "home"
        self.home.mkdir()
        low = random.randrange(30000, 39000)
        (self.home / "host.yaml").write_text(f"web_server: {kind}\nports: {low}-{low + 40}\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
        self.env.update(PYAPP_HOME=str(self.home), PYAPP_DAEMONS="1")

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "pyapp"), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if ok:
            assert done.returncode == 0, f"pyapp {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def json(self, *args: str, ok: bool = True) -> Any:
        return json.loads(self.run(*args, "--json", ok=ok).stdout)

    def close(self) -> None:
        """Stop this host's web server (whichever kind ran) and supervisord (so its apps), and wait."""
        self.env.pop("PYAPP_WEB_SERVER", None)
        with contextlib.suppress(Exception):
            self.run("web", "stop", ok=False)
        for pid_file in (
            self.home / "webservers" / self.kind / "run" / PID_FILES[self.kind],
            self.home / "supervisor" / "supervisord.pid",
        ):
            with contextlib.suppress(OSError, ValueError):
                stop_process(int(pid_file.read_text()))
        # Whatever else runs on this host's files (a server whose pid file went missing, say).
        for pid in processes_under(self.base):
            stop_process(pid)


@pytest.fixture(params=KINDS)
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    kind = request.param
    if find_installation(kind) is None:
        pytest.skip(f"{kind} is not installed (./dev test installs it), so it cannot serve the routes")
    # Unix socket paths are short; the web server's workers (another user when run as root) traverse it.
    base = Path(tempfile.mkdtemp(prefix="pyapp-wc-", dir="/tmp"))
    base.chmod(0o711)
    made = Host(base, kind)
    try:
        yield made
    finally:
        made.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("web-packages")
    return {"1.0.0": build_hello(out, "1.0.0"), "1.0.1": build_hello(out, "1.0.1"), "docs": build_docs(out)}


def env_of(port: int) -> dict[str, Any]:
    status, body = get(port, "/hello/env")
    assert status == 200, body
    return dict(json.loads(body))


def test_a_mounted_app_is_served_through_the_web_server_across_updates_and_rollbacks(
    host: Host, built: dict[str, Path]
) -> None:
    host.run("install", str(built["1.0.0"]))
    port = free_port()
    added = host.json("vhost", "add", "main", "--port", str(port), "--server-name", "localhost")
    assert added["vhost"]["url"] == f"http://localhost:{port}/"
    assert added["server"]["kind"] == host.kind and added["server"]["running"]

    mounted = host.json("mount", "hello", "main", "/hello")
    assert mounted["mount"]["upstream"].endswith("/web.sock")
    assert mounted["mount"]["static"] == [
        {"url": "/static", "directory": str(host.home / "apps/hello/current/site")}
    ]
    seen = env_of(port)
    assert seen["script_name"] == "/hello" and seen["path_info"] == "/env"
    assert seen["variables"]["PYAPP_VERSION"] == "1.0.0"
    assert get(port, "/hello/static/version.txt") == (200, b"1.0.0")
    assert get(port, "/elsewhere")[0] == 404
    page = get(port, "/hello/")[1].decode()
    assert 'href="/hello/env"' in page  # links the app makes carry its mount path

    # An update behind the web server under steady requests: none is lost. They go on until the
    # update has returned, however long it takes, then AFTER_UPDATE more.
    failures: list[str] = []
    served: list[str] = []
    answered = threading.Event()
    done = threading.Event()

    def hammer() -> None:
        after = 0
        while after < AFTER_UPDATE:
            if done.is_set():
                after += 1
            try:
                status, body = get(port, "/hello/env")
            except OSError as exc:
                failures.append(repr(exc))
                continue
            if status != 200:
                failures.append(f"{status} {body[:200]!r}")
            else:
                served.append(json.loads(body)["variables"]["PYAPP_VERSION"])
                answered.set()

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        assert answered.wait(120), f"no answer through {host.kind} in 120 s: {failures[:5]}"
        host.run("install", str(built["1.0.1"]))
    finally:
        done.set()
        thread.join(600)
    assert not thread.is_alive(), "the load is still running 600 s after the update"
    assert not failures, failures[:5]
    assert served[0] == "1.0.0" and served[-1] == "1.0.1"

    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.1"
    assert env_of(port)["script_name"] == "/hello"
    assert get(port, "/hello/static/version.txt") == (200, b"1.0.1")
    assert get(port, "/hello/media/new.txt") == (200, b"new in 1.0.1"), "a new static path is served"
    listed = host.json("vhost", "list")
    assert [(m["app"], m["vhost"], m["prefix"]) for m in listed["mounts"]] == [("hello", "main", "/hello")]

    host.run("rollback", "hello")
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.0"
    assert get(port, "/hello/static/version.txt") == (200, b"1.0.0")
    assert get(port, "/hello/media/new.txt")[0] == 404, "the rolled-back release has no /media"
    assert host.json("web", "status")["mounts"][0]["prefix"] == "/hello"

    # Stopped by the operator, the server stays stopped through `web apply`; `web start` brings it back.
    stopped = host.json("web", "stop")["server"]
    assert (stopped["kind"], stopped["running"]) == (host.kind, False)
    with pytest.raises(OSError):
        get(port, "/hello/env")
    applied = host.json("web", "apply")["server"]
    assert (applied["kind"], applied["running"]) == (host.kind, False)
    with pytest.raises(OSError):
        get(port, "/hello/env")
    started = host.json("web", "start")["server"]
    assert (started["kind"], started["running"]) == (host.kind, True)
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.0"
    assert get(port, "/hello/static/version.txt") == (200, b"1.0.0")
    # Applied while it runs, the same routes are reloaded and go on being served.
    applied = host.json("web", "apply")["server"]
    assert (applied["running"], applied["pid"]) == (True, started["pid"])
    assert env_of(port)["script_name"] == "/hello"

    # Unmounted, the app is gone from the web server and serves at its root again.
    unmounted = host.json("unmount", "hello")
    assert unmounted["restarted"] is True
    assert get(port, "/hello/env")[0] == 404
    socket_path = mounted["mount"]["upstream"].removeprefix("unix:")
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(socket_path)
        raw.sendall(b"GET /env HTTP/1.0\r\nHost: localhost\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(65536), b""))
    assert b'"script_name": ""' in answer

    host.run("web", "stop")
    assert host.json("web", "status")["server"]["running"] is False
    with pytest.raises(OSError):
        get(port, "/")


def test_conflicts_static_apps_and_removal(host: Host, built: dict[str, Path]) -> None:
    host.run("install", str(built["1.0.0"]))
    host.run("install", str(built["docs"]))
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port))
    host.run("mount", "hello", "main", "/hello")

    refused = host.run("mount", "docs", "main", "/hello", "--json", ok=False)
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert error["type"] == "MountConflict"
    assert "'hello' is already mounted at /hello" in error["message"]
    refused = host.run("mount", "docs", "main", "/hello/docs", ok=False)
    assert "lies inside /hello" in refused.stderr
    assert host.json("vhost", "list")["vhosts"][0]["mounts"] == ["hello"]

    # A static-only app: the web server serves its files, no daemon; the mount is verified by one of them.
    change = host.json("mount", "docs", "main", "/docs")
    docs = change["mount"]
    assert docs["upstream"] is None
    assert [(c["url"], c["verified"]) for c in change["checks"]] == [
        (f"http://127.0.0.1:{port}/docs/index.html", True)
    ]
    assert get(port, "/docs/index.html") == (200, b"<h1>the docs</h1>")
    assert env_of(port)["script_name"] == "/hello"

    refused = host.run("vhost", "remove", "main", ok=False)
    assert "still serves docs, hello" in refused.stderr

    host.run("remove", "docs")
    assert [m["app"] for m in host.json("vhost", "list")["mounts"]] == ["hello"]
    assert get(port, "/docs/index.html")[0] == 404

    # A second virtual host by name on the same port.
    host.run("vhost", "add", "other", "--port", str(port), "--server-name", "other.test")
    host.run("mount", "hello", "other", "/")
    status, body = get(port, "/env", host="other.test")
    assert status == 200 and json.loads(body)["script_name"] == ""
    assert get(port, "/hello/env")[0] == 404

    # With web_server: none the routes are stored but nothing serves them.
    host.run("web", "stop")
    host.env["PYAPP_WEB_SERVER"] = "none"
    status = host.json("web", "status")
    assert (
        status["server"]["kind"] is None and "no web server serves the routes" in status["server"]["message"]
    )
    host.run("unmount", "hello")
    host.run("vhost", "remove", "other")
    assert [v["name"] for v in host.json("vhost", "list")["vhosts"]] == ["main"]


def test_an_app_on_a_port_keeps_its_upstream_through_updates_and_rollbacks(
    host: Host, built: dict[str, Path]
) -> None:
    settings = host.home / "host.yaml"
    settings.write_text(settings.read_text() + "listen: port\n")
    host.run("install", str(built["1.0.0"]))
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port))
    first = host.json("mount", "hello", "main", "/hello")["mount"]["upstream"]
    assert first.startswith("127.0.0.1:")
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.0"
    live = Path(host.json("web", "status")["server"]["config"]).parent  # the live generation's files

    def served() -> str:
        return "".join(p.read_text() for p in sorted(live.resolve().iterdir()) if p.is_file())

    def names(text: str, upstream: str) -> bool:
        """Whether the configuration *text* proxies to *upstream*'s port (lighttpd writes the
        host and the port apart)."""
        return re.search(rf"(?<!\d){upstream.rpartition(':')[2]}(?!\d)", text) is not None

    text = served()
    assert names(text, first)

    # The new release takes over the app's port, which the web server keeps proxying to.
    host.run("install", str(built["1.0.1"]))
    (mount,) = host.json("vhost", "list")["mounts"]
    assert mount["upstream"] == first
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.1"
    text = served()
    assert names(text, first)

    # With the setting at none the runtime does not drive the web server; a rollback keeps the
    # port too, so the server, left as it was, serves the rolled-back release.
    host.env["PYAPP_WEB_SERVER"] = "none"
    host.run("rollback", "hello")
    (mount,) = host.json("vhost", "list")["mounts"]
    assert mount["upstream"] == first
    assert served() == text
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.0"

    # Back on the configured server, `web apply` finds nothing to move.
    del host.env["PYAPP_WEB_SERVER"]
    applied = host.json("web", "apply")["server"]
    assert (applied["kind"], applied["running"]) == (host.kind, True)
    assert names(served(), first)
    assert env_of(port)["variables"]["PYAPP_VERSION"] == "1.0.0"


def workers_user() -> str:
    """The user the web servers' workers run as when started as root (see ``ServerSettings.worker_user``)."""
    import pwd

    try:
        pwd.getpwnam("www-data")
    except KeyError:
        return "nobody"
    return "www-data"


def served(host: Host) -> tuple[int | None, str | None, list[Any], list[Any]]:
    """What the host serves: the web server's pid, its live configuration's generation, the mounts, and
    the apps listed on each virtual host."""
    status = host.json("web", "status")
    live = status["server"]["config"]
    listed = host.json("vhost", "list")
    return (
        status["server"]["pid"],
        None if live is None else str(Path(live).resolve().parent),
        status["mounts"],
        [v["mounts"] for v in listed["vhosts"]],
    )


def test_a_mount_the_workers_cannot_reach_is_refused_and_undone_until_they_can(
    host: Host, built: dict[str, Path]
) -> None:
    if os.geteuid() != 0:
        pytest.skip(
            "runs as root only: the web server's workers then switch to another user (www-data, nobody),"
            " whom a 0700 directory keeps out; run as anyone else they are the directory's owner"
        )
    user = workers_user()
    host.base.chmod(0o700)  # the directory above the home, as mktemp -d makes it (or /root is)
    host.run("install", str(built["1.0.0"]))
    port = free_port()
    vhost = ("vhost", "add", "main", "--port", str(port), "--server-name", "localhost")
    if host.kind == "lighttpd":
        # lighttpd opens its own files as the workers' user: even a virtual host is refused, saying why.
        refused = host.run(*vhost, ok=False)
        assert refused.returncode == 1
        assert f"as its workers' user {user}, who cannot traverse {host.base} (mode 0700)" in refused.stderr
        assert f"chmod o+x {host.base}" in refused.stderr
        assert host.json("vhost", "list")["vhosts"] == []
        host.base.chmod(0o711)
        host.run(*vhost)
        host.base.chmod(0o700)
    else:
        host.run(*vhost)
    before = served(host)
    answer = get(port, "/hello/health")

    refused = host.run("mount", "hello", "main", "/hello", "--json", ok=False)
    assert refused.returncode == 1
    message = json.loads(refused.stdout)["error"]["message"]
    assert f"{user}, who cannot traverse {host.base} (mode 0700)" in message, message
    assert f"chmod o+x {host.base}" in message and "PYAPP_HOME" in message
    if host.kind != "lighttpd":  # verified through the server, which says why in its log
        assert "while its daemon answers directly" in message and "Permission denied" in message
        assert "The change was undone" in message
    # Nothing changed: no mount, the same configuration served by the same server, the same answer,
    # the directory left as it was, and the app serving at its root again.
    assert served(host) == before and before[2] == [] and before[3] == [[]]
    assert get(port, "/hello/health") == answer
    assert host.base.stat().st_mode & 0o777 == 0o700
    assert env_over_socket(host)["script_name"] == ""

    # A virtual host that moves a mounted app is verified too: mounted while they could reach it,
    # then shut out again, a new name for its virtual host is refused and undone.
    host.base.chmod(0o711)
    host.run("mount", "hello", "main", "/hello")
    host.base.chmod(0o700)
    before = served(host)
    refused = host.run("vhost", "add", "main", "--port", str(port), "--server-name", "other.test", ok=False)
    assert refused.returncode == 1 and f"chmod o+x {host.base}" in refused.stderr
    assert served(host) == before
    assert host.json("vhost", "list")["vhosts"][0]["server_names"] == ["localhost"]

    # Once they may traverse it, the same mount is made and served through the web server.
    host.base.chmod(0o711)
    host.run("unmount", "hello")
    mounted = host.json("mount", "hello", "main", "/hello")
    assert [(c["app"], c["verified"]) for c in mounted["checks"]] == [("hello", True)]
    assert mounted["checks"][0]["url"] == f"http://localhost:{port}/hello/health"
    assert get(port, "/hello/health")[0] == 200
    assert env_of(port)["script_name"] == "/hello"


def env_over_socket(host: Host) -> dict[str, Any]:
    """What hello's daemon says of ``GET /env`` asked on its own socket (no web server between)."""
    from pyapp_runtime.layout import HostLayout
    from pyapp_runtime.processes.programs import socket_dir

    # run/, or sockets/ when hello has a user of its own (this home is reachable: docs/trust-model.md).
    stable = socket_dir(HostLayout(host.home).app("hello")) / "web.sock"
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(stable))
        raw.sendall(b"GET /env HTTP/1.0\r\nHost: localhost\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(65536), b""))
    return dict(json.loads(answer.split(b"\r\n\r\n", 1)[1]))


def get_tls(port: int, path: str, host: str) -> tuple[int, bytes]:
    """One HTTPS request for *host* (SNI and Host), the certificate not checked."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), 30), server_hostname=host) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def test_a_stopped_app_is_mounted_with_a_note_that_it_could_not_be_verified(
    host: Host, built: dict[str, Path]
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (./dev test installs it): the virtual host serves TLS")
    cert, key = host.base / "cert.pem", host.base / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=own.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    key.chmod(0o644)
    host.run("install", str(built["1.0.0"]))
    host.run("stop", "hello")
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port), "--server-name", "own.test",
             "--tls-cert", str(cert), "--tls-key", str(key))  # fmt: skip

    mounted = host.run("mount", "hello", "main", "/hello")
    assert f"mounted hello at https://own.test:{port}/hello/" in mounted.stdout
    assert "not verified, as hello could not be asked: hello is stopped (pyapp start hello" in mounted.stdout
    assert "  verified:" not in mounted.stdout
    assert [m["prefix"] for m in host.json("vhost", "list")["mounts"]] == ["/hello"]

    # Started, it is served there; mounted again, the same route is verified over TLS.
    host.run("start", "hello")
    assert get_tls(port, "/hello/health", "own.test")[0] == 200
    (check,) = host.json("mount", "hello", "main", "/hello")["checks"]
    assert (check["verified"], check["url"]) == (True, f"https://own.test:{port}/hello/health")
    assert check["detail"].endswith(f"answered 200 OK through {host.kind}")


@pytest.mark.parametrize("host", ["nginx"], indirect=True)
def test_a_route_the_web_server_does_not_pass_on_is_refused_once_the_apps_health_start_is_over(
    host: Host, tmp_path: Path
) -> None:
    """Whoever runs it: the web server answers 403 for the virtual host (an operator's directive), so
    the mount is asked for until hello's health.start is over, then undone."""
    from dataclasses import replace

    from pyapp_runtime import Host as RuntimeHost

    host.run("install", str(build_hello(tmp_path, "1.0.0", health_start=4)))
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port), "--server-name", "localhost")
    store = RuntimeHost(host.home, web_server=host.kind).web.store
    store.update(lambda r: r.add_vhost(replace(r.vhosts["main"], directives={"nginx": "return 403;"})))
    host.run("web", "apply")
    before = served(host)
    assert get(port, "/hello/health")[0] == 403

    refused = host.run("mount", "hello", "main", "/hello", ok=False)
    assert refused.returncode == 1
    assert (
        f"hello is not served through nginx: GET http://localhost:{port}/hello/health answered 403 Forbidden,"
        " while its daemon answers directly (GET /hello/health answered 200 OK), for 4 s."
    ) in refused.stderr
    assert "The change was undone: the routes and nginx's configuration are as they were." in refused.stderr
    assert "mounted" not in refused.stdout
    assert served(host) == before
    assert env_over_socket(host)["script_name"] == ""


@pytest.fixture(scope="module")
def asgi_built(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("asgi-packages")
    return {"asgi-echo": build_asgi_echo(out), "starnotes": build_starnotes(out, wheelhouse)}


def test_asgi_apps_behind_the_web_server_see_their_mount_path_and_their_websockets_pass_through(
    host: Host, asgi_built: dict[str, Path]
) -> None:
    settings = host.home / "host.yaml"
    settings.write_text(settings.read_text() + "apps:\n  starnotes: {listen: port}\n")
    host.run("install", str(asgi_built["asgi-echo"]))
    host.run("install", str(asgi_built["starnotes"]))
    port = free_port()
    host.run("vhost", "add", "main", "--port", str(port), "--server-name", "localhost")
    # Each mount is verified through the web server: the app's health path, under its mount path.
    for app, prefix, upstream in (("asgi-echo", "/echo", "/web.sock"), ("starnotes", "/notes", None)):
        change = host.json("mount", app, "main", prefix)
        assert [check["verified"] for check in change["checks"]] == [True], change
        assert (
            change["mount"]["upstream"].endswith(upstream) if upstream else ":" in change["mount"]["upstream"]
        )

    status, body = get(port, "/echo/env", host=f"localhost:{port}")
    echo = json.loads(body)
    assert status == 200, body
    assert (echo["root_path"], echo["path"], echo["scheme"]) == ("/echo", "/echo/env", "http")
    assert echo["client"] == "127.0.0.1" and echo["host"] == f"localhost:{port}"
    assert get(port, "/echo/static/echo.css") == (200, (EXAMPLES / "asgi-echo/static/echo.css").read_bytes())
    status, body = get(port, "/notes/env", host=f"localhost:{port}")
    notes = json.loads(body)
    assert (notes["root_path"], notes["path"], notes["started"]) == ("/notes", "/notes/env", True)
    assert notes["env_url"] == f"http://localhost:{port}/notes/env"
    assert get(port, "/notes/static/notes.css") == (200, b"h1 { color: teal }\n")

    # A WebSocket through the web server, to the app's socket and to its port.
    where = ("127.0.0.1", port)
    assert talk(where, "/echo/ws", ["through", "the server"], host=f"localhost:{port}") == [
        "through",
        "the server",
    ]
    assert talk(where, "/notes/ws", ["hi"], host=f"localhost:{port}") == ["starnotes: hi"]
    assert json.loads(get(port, "/echo/env")[1])["echoed"] == 2
