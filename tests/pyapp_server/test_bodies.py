"""Bodies within limits, in every view that reads JSON and in XML-RPC: too deep is a 400, too large a 413,
each naming its limit, never a 500; and nothing changes."""

from __future__ import annotations

import json
import xmlrpc.client

import pytest

DEEP = b"[" * 100_000 + b"]" * 100_000
# Every view that reads a JSON body: (method, path, role).
JSON_VIEWS = [
    ("POST", "/api/v1/apps", "deployer"),
    ("POST", "/api/v1/apps/hello/update", "deployer"),
    ("POST", "/api/v1/apps/hello/rollback", "deployer"),
    ("PUT", "/api/v1/apps/hello/config", "deployer"),
    ("PATCH", "/api/v1/apps/hello/config", "deployer"),
    ("PUT", "/api/v1/apps/hello/services", "deployer"),
    ("POST", "/api/v1/tokens", "admin"),
    ("POST", "/api/v1/vhosts", "admin"),
    ("PUT", "/api/v1/apps/hello/mount", "deployer"),
    ("POST", "/api/v1/apps/hello/restore", "admin"),
    ("PUT", "/api/v1/host/settings", "admin"),
]


def send(api, method: str, path: str, role: str, body: bytes):
    headers = {**api.headers(role), "Content-Type": "application/json"}
    return api.app.request(path, method=method, body=body, headers=headers, expect_errors=True)


def test_every_json_view_is_listed_here(api) -> None:
    from pyapp_server.api import openapi_document

    reading = {
        (method.upper(), path.replace("{name}", "hello"))
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    assert reading == {(m, p) for m, p, _ in JSON_VIEWS}


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("method", "path", "role"), JSON_VIEWS)
def test_a_body_nested_too_deep_is_a_400_naming_the_limit(api, method, path, role) -> None:
    # 100,000 lists (past Python's recursion limit: a RecursionError, a 500 before), and 70 in a body
    # that parses (past the server's limit).
    for body in (DEEP, json.dumps({"values": {"a": nested(70)}}).encode()):
        response = send(api, method, path, role, body)
        assert response.status_int == 400, response.text
        error = response.json["error"]
        assert (error["code"], error["limit"]) == ("too-deep", 64)
        assert "64 levels" in error["message"]


@pytest.mark.parametrize(("method", "path", "role"), JSON_VIEWS)
def test_a_body_over_a_mebibyte_is_a_413_naming_the_limit(api, method, path, role) -> None:
    body = json.dumps({"values": {"a": "x" * (1024 * 1024)}}).encode()
    response = send(api, method, path, role, body)
    assert response.status_int == 413, response.text
    error = response.json["error"]
    assert (error["code"], error["limit"]) == ("payload-too-large", 1024 * 1024)
    assert "max_upload_size" in error["message"], "it says where packages go instead"


def test_nothing_changes_when_a_body_is_refused(api, packages) -> None:
    api.install(packages.hello())
    before = api.get("/api/v1/apps/hello/config").json
    assert send(api, "PUT", "/api/v1/apps/hello/config", "deployer", DEEP).status_int == 400
    assert api.get("/api/v1/apps/hello/config").json == before
    assert [e["kind"] for e in api.get("/api/v1/events?app=hello").json["events"]] == ["install"]


def xmlrpc_call(api, body: bytes):
    response = api.app.post("/RPC2", body, headers={"Content-Type": "text/xml"}, expect_errors=True)
    assert response.status_int == 200 and response.content_type == "text/xml"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(response.body)
    return fault.value


def test_xmlrpc_calls_too_deep_or_too_large_are_faults_naming_the_limit(api) -> None:
    token = api.secrets["deployer"]
    structs = 15_000  # as deep as fits in 1 MiB
    nested_structs = (
        b"<?xml version='1.0'?><methodCall><methodName>config.set</methodName><params>"
        b"<param><value><string>" + token.encode() + b"</string></value></param>"
        b"<param><value><string>hello</string></value></param><param>"
        + b"<value><struct><member><name>a</name>" * structs
        + b"<value><int>1</int></value>"
        + b"</member></struct></value>" * structs
        + b"</param></params></methodCall>"
    )
    assert len(nested_structs) < 1024 * 1024
    fault = xmlrpc_call(api, nested_structs)
    assert fault.faultCode == 400 and "64 levels" in fault.faultString
    deeper = xmlrpc.client.dumps((token, "hello", {"a": nested(70)}), "config.set").encode()
    fault = xmlrpc_call(api, deeper)
    assert fault.faultCode == 400 and "64 levels" in fault.faultString
    large = xmlrpc.client.dumps((token, "hello", {"a": "x" * (1024 * 1024)}), "config.set").encode()
    fault = xmlrpc_call(api, large)
    assert fault.faultCode == 413 and "1048576 bytes" in fault.faultString
    fault = xmlrpc_call(api, xmlrpc.client.dumps((token, 42), "apps.show").encode())
    assert fault.faultCode == 400 and "name must be a string" in fault.faultString
    fault = xmlrpc_call(api, xmlrpc.client.dumps((token, {"limit": "many"}), "events.list").encode())
    assert fault.faultCode == 400 and "limit must be a number" in fault.faultString
