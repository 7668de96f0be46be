"""The body gate on a real server: a request refused for its token, role or size is answered from its
headers, before its body is read, and nothing of the body is kept."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

pytestmark = pytest.mark.slow

BIG = 20 * 1024 * 1024


def port_of(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response from *sock*: status, headers (lower-case names), body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {data!r}"
        data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of the answer"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def send_rest(sock: socket.socket, size: int) -> int:
    """Send *size* more bytes of body (as far as the server takes them); how many went."""
    sent = 0
    block = b"x" * (1024 * 1024)
    try:
        while sent < size:
            sent += sock.send(block[: size - sent])
    except OSError:
        pass
    return sent


def uploads(server) -> list[str]:
    staging = server.data_dir / "server" / "uploads"
    return sorted(p.name for p in staging.rglob("*")) if staging.exists() else []


def test_an_unauthenticated_upload_is_answered_before_its_body_is_sent(live_server) -> None:
    server = live_server()
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {"Content-Type": "application/octet-stream", "Content-Length": str(BIG)}
        sock.sendall(head("POST", "/api/v1/apps?filename=big.pyapp", announce) + b"x" * 65536)
        started = time.monotonic()
        status, headers, body = read_response(sock)
        took = time.monotonic() - started
        # 64 KiB of 20 MiB sent: waitress alone would wait for the rest before calling the app.
        assert status == 401 and took < 5, (status, took)
        assert headers["content-type"].startswith("application/json")
        assert headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "unauthorized"
        assert "Authorization: Bearer" in json.loads(body)["error"]["message"]
        # The client may still send its body (it is read and thrown away), then the server closes.
        assert send_rest(sock, BIG - 65536) == BIG - 65536
        sock.settimeout(10)
        assert sock.recv(100) == b"", "the connection is closed once the body has passed"
    assert uploads(server) == [], "nothing of the body was staged"
    assert server.request("GET", "/api/v1/info")[0] == 200, "the server goes on serving"
    server.stop()
    log = (server.data_dir / "server" / "server.log").read_text()
    assert "127.0.0.1 POST /api/v1/apps 401 -" in log


def test_a_role_that_may_not_and_a_wrong_token_are_refused_the_same_way(live_server) -> None:
    server = live_server()
    status, _, made = server.request(
        "POST",
        "/api/v1/tokens",
        token=server.token,
        body=json.dumps({"role": "viewer", "name": "watcher"}).encode(),
        content_type="application/json",
    )
    viewer = json.loads(made)["secret"]
    for token, expected in ((viewer, 403), ("pyapp_not-a-token-0123456789", 401)):
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
            announce = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Content-Length": str(BIG),
            }
            sock.sendall(head("PUT", "/api/v1/apps/hello/config", announce))
            status, headers, body = read_response(sock)
            assert status == expected, body
            assert json.loads(body)["error"]["status"] == expected
            assert headers["connection"] == "close"


def test_a_client_that_sends_its_whole_body_before_reading_still_gets_the_answer(live_server) -> None:
    server = live_server()
    connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=60)
    try:
        connection.request(
            "POST", "/api/v1/apps", body=b"y" * BIG, headers={"Content-Type": "application/octet-stream"}
        )
        response = connection.getresponse()
        assert response.status == 401
        assert json.loads(response.read())["error"]["code"] == "unauthorized"
    finally:
        connection.close()
    assert uploads(server) == []
    # Stopped right after (while it may still be reading what the client sent): it stops at once.
    started = time.monotonic()
    code, err = server.stop()
    assert code == 0 and time.monotonic() - started < 15, err


def test_expect_100_continue_gets_the_refusal_instead_of_continue(live_server) -> None:
    server = live_server()
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(BIG),
            "Expect": "100-continue",
        }
        sock.sendall(head("POST", "/api/v1/apps", announce))
        status, _, body = read_response(sock)
        assert status == 401, "a final answer, not 100 Continue: the client never sends the body"
        assert json.loads(body)["error"]["code"] == "unauthorized"


def test_bodies_over_their_limit_get_the_api_413_before_they_are_read(
    live_server, server_env, packages
) -> None:
    server = live_server(env={**server_env, "PYAPP_SERVER_MAX_UPLOAD_SIZE": "1M"})
    auth = {"Authorization": f"Bearer {server.token}"}
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {**auth, "Content-Type": "application/octet-stream", "Content-Length": str(BIG)}
        sock.sendall(head("POST", "/api/v1/apps?filename=big.pyapp", announce))
        status, headers, body = read_response(sock)
    error = json.loads(body)["error"]
    assert (status, error["code"], error["limit"], error["setting"]) == (
        413,
        "payload-too-large",
        1024 * 1024,
        "max_upload_size",
    )
    assert "max_upload_size" in error["message"] and headers["connection"] == "close"

    # Past waitress's own ceiling (which answered in plain text): the same JSON.
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {**auth, "Content-Type": "application/octet-stream", "Content-Length": str(10**12)}
        sock.sendall(head("POST", "/api/v1/apps", announce))
        status, headers, body = read_response(sock)
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["setting"] == "max_upload_size"

    # JSON is held to 1 MiB, announced or chunked (counted as it arrives).
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {**auth, "Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)}
        sock.sendall(head("PATCH", "/api/v1/apps/hello/config", announce))
        status, _, body = read_response(sock)
    assert status == 413 and json.loads(body)["error"]["limit"] == 1024 * 1024
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        announce = {**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        sock.sendall(head("PATCH", "/api/v1/apps/hello/config", announce))
        chunk = b"[" * 100_000
        try:
            for _ in range(30):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server may close once it has answered
        status, _, body = read_response(sock)
    assert status == 413 and "1048576 bytes" in json.loads(body)["error"]["message"]

    assert uploads(server) == []

    # An upload under the limit, sent chunked, passes the gate and is installed as ever.
    package = packages.hello().read_bytes()
    assert len(package) < 1024 * 1024
    connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=60)
    try:
        connection.request(
            "POST",
            "/api/v1/apps?filename=hello.pyapp",
            body=iter([package[:1000], package[1000:]]),
            headers={**auth, "Content-Type": "application/octet-stream"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        job = json.loads(response.read())
        assert response.status == 202, job
    finally:
        connection.close()
    for _ in range(30):
        _, _, raw = server.request("GET", f"/api/v1/jobs/{job['id']}?wait=10", token=server.token)
        if json.loads(raw)["state"] in ("succeeded", "failed"):
            break
    assert json.loads(raw)["state"] == "succeeded", raw
