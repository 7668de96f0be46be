"""The real server: pyapp-server under waitress on a loopback port, in a subprocess."""

from __future__ import annotations

import json
import shutil
import stat
import tempfile
import time
import xmlrpc.client
from pathlib import Path

import pytest
from pyapp_server.serve import ServeError, check_bind
from pyapp_server.services import Services
from pyapp_server.settings import ServerSettings

pytestmark = pytest.mark.slow


def checked(openapi, server, method, path, **kw):
    status, headers, body = server.request(method, path, **kw)
    openapi.check(method, path.split("?")[0], status, headers.get("Content-Type", ""), body)
    return status, headers, json.loads(body) if body and "json" in headers.get("Content-Type", "") else body


def get_from_app(process: dict) -> bytes:
    """GET / from an app's web process, on its unix socket or port, as the web server would."""
    import http.client
    import socket as sockets

    if process.get("socket"):

        class UnixConnection(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
                self.sock.settimeout(10)
                self.sock.connect(process["socket"])

        conn: http.client.HTTPConnection = UnixConnection("localhost")
    else:
        conn = http.client.HTTPConnection("127.0.0.1", process["port"], timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        conn.close()


def wait_job(openapi, server, job_id, token):
    for _ in range(30):
        _, _, job = checked(openapi, server, "GET", f"/api/v1/jobs/{job_id}?wait=10", token=token)
        if job["state"] in ("succeeded", "failed"):
            return job
    raise AssertionError(f"job {job_id} did not end")


def test_serves_the_api_writes_its_endpoint_and_token_and_keeps_secrets_out_of_its_log(
    live_server, openapi, packages, server_env
) -> None:
    server = live_server(env={**server_env, "PYAPP_SERVER_DROP_INTERVAL": "0.1"})
    state = server.data_dir / "server"
    endpoint = json.loads((state / "endpoint.json").read_text())
    assert endpoint["url"] == server.url and endpoint["url"].startswith("http://127.0.0.1:")
    assert stat.S_IMODE((state / "local-token").stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    token = server.token

    status, headers, info = checked(openapi, server, "GET", "/api/v1/info")
    assert status == 200 and headers["X-Pyapp-Min-Client-Version"] == info["min_client_version"]
    assert checked(openapi, server, "GET", "/api/v1/apps")[0] == 401
    status, _, job = checked(
        openapi,
        server,
        "POST",
        "/api/v1/apps?filename=hello.pyapp&set=greeting=Hey",
        token=token,
        body=packages.hello().read_bytes(),
        content_type="application/octet-stream",
    )
    assert status == 202
    assert wait_job(openapi, server, job["id"], token)["state"] == "succeeded"

    secret_fields = "  password:\n    type: secret\n    required: false\n"
    secret = "pyapp-config-secret-91c2"
    body = json.dumps(
        {
            "path": server.on_server(packages.hello("1.1.0", fields=secret_fields)),
            "settings": [f"password={secret}"],
        }
    )
    status, _, job = checked(
        openapi,
        server,
        "POST",
        "/api/v1/apps",
        token=token,
        body=body.encode(),
        content_type="application/json",
    )
    assert wait_job(openapi, server, job["id"], token)["state"] == "succeeded"
    status, _, new = checked(
        openapi,
        server,
        "POST",
        "/api/v1/tokens",
        token=token,
        content_type="application/json",
        body=json.dumps({"role": "viewer", "name": "watcher"}).encode(),
    )
    assert status == 201
    assert (
        checked(openapi, server, "GET", "/api/v1/apps/hello/config", token=new["secret"])[2]["values"][
            "password"
        ]
        == "********"
    )
    assert checked(openapi, server, "GET", "/api/v1/apps", token="pyapp_wrong-token-value-123456")[0] == 401

    rpc_url = server.url.replace("http://", f"http://rpc:{new['secret']}@") + "/RPC2"
    with xmlrpc.client.ServerProxy(rpc_url) as proxy:
        assert [a["name"] for a in proxy.apps.list()] == ["hello"]

    dropped = server.data_dir / "drop" / "hello-1.2.0.pyapp"
    dropped.parent.mkdir(exist_ok=True)
    dropped.write_bytes(packages.hello("1.2.0").read_bytes())
    done = server.data_dir / "drop" / "done" / dropped.name
    for _ in range(600):
        if (
            done.exists()
            and checked(openapi, server, "GET", "/api/v1/apps/hello", token=token)[2]["version"] == "1.2.0"
        ):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the dropped package was not installed")

    code, err = server.stop()
    assert code == 0, err
    assert not (state / "endpoint.json").exists()
    log = (state / "server.log").read_text()
    assert "GET /api/v1/apps 401" in log and "POST /api/v1/apps 202" in log
    for value in (token, new["secret"], secret):
        assert value not in log
        assert value not in err


def test_installed_apps_their_data_and_the_local_token_survive_a_restart(
    live_server, openapi, packages
) -> None:
    server = live_server()
    token = server.token
    _, _, job = checked(
        openapi,
        server,
        "POST",
        "/api/v1/apps?filename=hello.pyapp",
        token=token,
        body=packages.hello().read_bytes(),
        content_type="application/octet-stream",
    )
    wait_job(openapi, server, job["id"], token)
    checked(
        openapi,
        server,
        "PATCH",
        "/api/v1/apps/hello/config",
        token=token,
        content_type="application/json",
        body=json.dumps({"values": {"greeting": "Again"}}).encode(),
    )
    _, _, shown = checked(openapi, server, "GET", "/api/v1/apps/hello", token=token)
    web = next(p for p in shown["processes"] if p["role"] == "web")
    assert web["state"] == "running", "the server starts what it installs"
    pid = web["pid"]
    counters = server.data_dir / "apps" / "hello" / "data" / "counters" / "visits"
    counters.write_text("40")
    server.stop()
    assert b"Visit number 41" in get_from_app(web), "the app serves while the server is down"

    again = live_server(data_dir=server.data_dir)
    assert again.token == token, "the local token stays valid across restarts"
    _, _, show = checked(openapi, again, "GET", "/api/v1/apps/hello", token=token)
    assert show["version"] == "1.0.0"
    assert checked(openapi, again, "GET", "/api/v1/apps/hello/config", token=token)[2]["values"] == {
        "greeting": "Again"
    }
    assert counters.read_text() == "41"
    _, _, shown = checked(openapi, again, "GET", "/api/v1/apps/hello", token=token)
    web = next(p for p in shown["processes"] if p["role"] == "web")
    assert (web["state"], web["pid"]) == ("running", pid), "the same process, never restarted"
    assert b"Visit number 42" in get_from_app(web)
    kinds = [e["kind"] for e in checked(openapi, again, "GET", "/api/v1/events", token=token)[2]["events"]]
    assert kinds[:3] == ["server", "server", "config"], "started, stopped, then what happened before"


def test_a_non_loopback_address_needs_authentication(tmp_path: Path, server_env, run_tool) -> None:
    refused = run_tool(
        "pyapp-server",
        "run",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--data-dir",
        tmp_path / "d",
        env=server_env,
    )
    assert refused.returncode == 1
    assert "refusing to listen on 0.0.0.0" in refused.stderr
    assert "pyapp-server token create" in refused.stderr
    # Accepting is checked without binding (tests only listen on loopback).
    settings = ServerSettings.from_mapping(
        {"host": "0.0.0.0", "data_dir": tmp_path / "d", "drop_interval": 0}
    )
    services = Services.create(settings)
    try:
        with pytest.raises(ServeError):
            check_bind(settings, services)
        services.tokens.create("admin", "remote-admin")
        check_bind(settings, services)
    finally:
        services.close()


def test_listening_on_a_unix_socket(live_server, packages) -> None:
    from pyapp_tools.ctl.client import Client, Endpoint

    short = Path(tempfile.mkdtemp(prefix="pyapp-sock-"))  # a socket path is limited to 107 bytes
    try:
        server = live_server("--unix-socket", str(short / "api.sock"))
        assert server.url.startswith("http+unix://")
        assert stat.S_IMODE((short / "api.sock").stat().st_mode) == 0o600
        client = Client(Endpoint(url=server.url, token=server.token, source="test"))
        assert client.call("GET", "/api/v1/info")["name"] == "pyapp-server"
        job = client.upload("/api/v1/apps", packages.hello())
        assert client.call("GET", f"/api/v1/jobs/{job['id']}", query={"wait": 30})["state"] == "succeeded"
        server.stop()
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_run_demo_installs_the_example_and_says_how_to_reach_everything(live_server, openapi) -> None:
    server = live_server("--demo")
    assert server.proc is not None and server.proc.stdout is not None
    lines = [server.proc.stdout.readline() for _ in range(4)]
    assert any("local-token" in line for line in lines)
    assert any(line.strip().startswith("hello 1.0.0:") for line in lines)
    _, _, apps = checked(openapi, server, "GET", "/api/v1/apps", token=server.token)
    assert [a["name"] for a in apps["apps"]] == ["hello"]
    server.stop()
    again = live_server("--demo", data_dir=server.data_dir)
    _, _, show = checked(openapi, again, "GET", "/api/v1/apps/hello", token=again.token)
    assert len(show["releases"]) == 1, "an installed example is left as it is"
    assert show["releases"][0]["installed_at"] == apps["apps"][0]["installed_at"]


def test_a_second_server_on_the_same_data_dir_is_refused(live_server, server_env, run_tool) -> None:
    server = live_server()
    second = run_tool("pyapp-server", "run", "--port", "0", "--data-dir", server.data_dir, env=server_env)
    assert second.returncode == 1
    assert f"in use by another pyapp-server (pid {server.proc.pid})" in second.stderr
    assert json.loads((server.data_dir / "server" / "endpoint.json").read_text())["url"] == server.url
    assert server.request("GET", "/api/v1/info")[0] == 200


def test_the_log_names_each_client_and_is_rotated_by_size(live_server, server_env) -> None:
    env = {**server_env, "PYAPP_SERVER_LOG_MAX_SIZE": "2K", "PYAPP_SERVER_LOG_BACKUPS": "2"}
    server = live_server(env=env)
    secret = "pyapp_query-secret-0123456789abcdef"
    for n in range(80):
        server.request("GET", f"/api/v1/apps?token={secret}&n={n}")
    server.request("GET", "/api/v1/no%0A127.0.0.1%20GET%20/forged%20200")
    code, err = server.stop()
    assert code == 0, err
    state = server.data_dir / "server"
    logs = sorted(p.name for p in state.glob("server.log*"))
    assert logs == ["server.log", "server.log.1", "server.log.2"], "two rotated logs kept, no more"
    for name in logs:
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600
        assert (state / name).stat().st_size <= 2048
    text = "".join((state / name).read_text() for name in logs)
    assert "127.0.0.1 GET /api/v1/apps 401 - " in text, "each request with its client's address"
    assert secret not in text and "n=79" not in text, "no query string"
    assert "\n127.0.0.1 GET /forged" not in text, "a path cannot forge a line"
    assert "GET /api/v1/no%0A127.0.0.1%20GET%20/forged%20200 404" in text
