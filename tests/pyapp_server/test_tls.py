"""HTTPS: the server with a certificate and key of its own (made here with openssl), reached by a real
HTTPS client on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from pyapp_server.settings import ServerSettings, SettingsError

pytestmark = pytest.mark.slow


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def https(server, cert: Path) -> http.client.HTTPSConnection:
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(cert))
    return http.client.HTTPSConnection(host, int(port), context=context, timeout=30)


def call(connection, method: str, path: str, *, token: str | None = None, **kw):
    headers = {**kw.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    connection.request(method, path, headers=headers, **kw)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_a_certificate_and_key_make_the_server_speak_https(live_server, server_env, certificate, packages):
    cert, key = certificate
    server = live_server(
        env={**server_env, "PYAPP_SERVER_TLS_CERT": str(cert), "PYAPP_SERVER_TLS_KEY": str(key)}
    )
    assert server.url.startswith("https://127.0.0.1:")
    endpoint = json.loads((server.data_dir / "server" / "endpoint.json").read_text())
    assert endpoint["url"] == server.url

    connection = https(server, cert)
    status, info = call(connection, "GET", "/api/v1/info")
    assert status == 200 and info["name"] == "pyapp-server"
    assert call(connection, "GET", "/api/v1/apps")[0] == 401
    status, job = call(
        connection,
        "POST",
        "/api/v1/apps?filename=hello.pyapp",
        token=server.token,
        body=packages.hello().read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 202, job
    status, job = call(connection, "GET", f"/api/v1/jobs/{job['id']}?wait=30", token=server.token)
    assert job["state"] == "succeeded", job
    assert [a["name"] for a in call(connection, "GET", "/api/v1/apps", token=server.token)[1]["apps"]] == [
        "hello"
    ]
    connection.close()

    # The body gate holds over TLS: a refused upload is answered from its headers.
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection((host, int(port)), timeout=10)
    with context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(
            b"POST /api/v1/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 20971520\r\n\r\n" + b"x" * 65536
        )
        started = time.monotonic()
        answer = tls.recv(65536)
        assert answer.startswith(b"HTTP/1.1 401 ") and time.monotonic() - started < 5, answer
        assert b"connection: close" in answer.lower()
    status, _ = call(conn := https(server, cert), "PUT", "/api/v1/apps/hello/config", token=server.token,
                     body=b"[" * 2_000_000, headers={"Content-Type": "application/json"})  # fmt: skip
    conn.close()
    assert status == 413

    # Plain HTTP is not answered on the TLS port.
    plain = http.client.HTTPConnection(host, int(port), timeout=10)
    with pytest.raises((http.client.HTTPException, OSError)):
        plain.request("GET", "/api/v1/info")
        plain.getresponse().read()
    plain.close()
    code, err = server.stop()
    assert code == 0, err
    assert "127.0.0.1 POST /api/v1/apps 401" in (server.data_dir / "server" / "server.log").read_text()


def test_a_key_that_does_not_fit_is_refused_at_start(tmp_path: Path, server_env, run_tool, certificate):
    cert, _key = certificate
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True)
    refused = run_tool(
        "pyapp-server", "run", "--port", "0", "--data-dir", tmp_path / "d",
        "--tls-cert", cert, "--tls-key", other, env=server_env,
    )  # fmt: skip
    assert refused.returncode == 1
    assert f"cannot use the certificate {cert} with the key {other}" in refused.stderr
    with pytest.raises(SettingsError, match="tls_cert and tls_key go together"):
        ServerSettings.from_mapping({"tls_cert": str(cert), "data_dir": tmp_path})
