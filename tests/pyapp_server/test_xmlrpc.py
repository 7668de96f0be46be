"""XML-RPC at /RPC2: the same operations and the same tokens as the JSON API."""

from __future__ import annotations

import base64
import json
import xmlrpc.client

import pytest


def basic(token: str) -> dict[str, str]:
    """The ``Authorization`` header xmlrpc.client sends for ``http://any:TOKEN@host/RPC2``."""
    return {"Authorization": "Basic " + base64.b64encode(f"any:{token}".encode()).decode()}


@pytest.fixture
def rpc(api):
    def call(method: str, *params, headers=None):
        body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
        response = api.app.post("/RPC2", body, headers={"Content-Type": "text/xml", **(headers or {})})
        assert response.content_type == "text/xml"
        (result,), _ = xmlrpc.client.loads(response.body, use_builtin_types=True)
        return result

    return call


def test_the_core_operations_with_the_token_as_first_parameter(api, rpc, packages) -> None:
    deployer, viewer = api.secrets["deployer"], api.secrets["viewer"]
    assert "apps.install" in rpc("system.listMethods")
    job = rpc("apps.install", deployer, api.on_server(packages.hello()))
    assert rpc("jobs.get", viewer, job["id"], 30)["state"] == "succeeded"
    assert [a["name"] for a in rpc("apps.list", viewer)] == ["hello"]
    show = rpc("apps.show", viewer, "hello")
    assert show["version"] == "1.0.0"
    assert isinstance(show["disk"]["total"], (int, float))

    assert rpc("config.set", deployer, "hello", {"greeting": "Ahoy"})["changed"] == ["greeting"]
    assert rpc("config.get", viewer, "hello")["values"] == {"greeting": "Ahoy"}
    update = rpc("apps.update", deployer, "hello", api.on_server(packages.hello("1.1.0")))
    assert rpc("jobs.get", viewer, update["id"], 30)["result"]["action"] == "updated"
    back = rpc("apps.rollback", deployer, "hello", None)
    assert rpc("jobs.get", viewer, back["id"], 30)["result"]["version"] == "1.0.0"
    gone = rpc("apps.remove", api.secrets["admin"], "hello", {"keep_data": False})
    assert rpc("jobs.get", viewer, gone["id"], 30)["state"] == "succeeded"
    kinds = [e["kind"] for e in rpc("events.list", viewer, {"app": "hello"})]
    assert kinds == ["remove", "rollback", "update", "config", "install"]


def test_the_authorization_header_and_faults(api, rpc, packages) -> None:
    bearer = {"Authorization": f"Bearer {api.secrets['viewer']}"}
    assert rpc("apps.list", headers=bearer) == []
    assert rpc("apps.list", headers=basic(api.secrets["viewer"])) == [], "the token as Basic's password"
    with pytest.raises(xmlrpc.client.Fault) as basic_forbidden:
        rpc("apps.install", api.on_server(packages.hello()), headers=basic(api.secrets["viewer"]))
    assert basic_forbidden.value.faultCode == 403
    with pytest.raises(xmlrpc.client.Fault) as basic_wrong:
        rpc("apps.list", headers=basic("pyapp_not-a-token"))
    assert basic_wrong.value.faultCode == 401
    with pytest.raises(xmlrpc.client.Fault) as unauthorized:
        rpc("apps.list", "pyapp_not-a-token")
    assert unauthorized.value.faultCode == 401
    with pytest.raises(xmlrpc.client.Fault) as forbidden:
        rpc("apps.install", api.secrets["viewer"], api.on_server(packages.hello()))
    assert forbidden.value.faultCode == 403
    with pytest.raises(xmlrpc.client.Fault) as missing:
        rpc("apps.show", api.secrets["viewer"], "nothing-here")
    assert missing.value.faultCode == 404
    with pytest.raises(xmlrpc.client.Fault) as hostile:
        rpc("apps.install", api.secrets["deployer"], api.on_server(packages.hostile()))
    assert hostile.value.faultCode == 422
    assert "'..'" in hostile.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as unknown:
        rpc("apps.explode", api.secrets["admin"])
    assert unknown.value.faultCode == 404
    with pytest.raises(xmlrpc.client.Fault) as arity:
        rpc("apps.show", api.secrets["viewer"])
    assert arity.value.faultCode == 400
    response = api.app.post("/RPC2", b"<not-xml", headers={"Content-Type": "text/xml"})
    with pytest.raises(xmlrpc.client.Fault) as malformed:
        xmlrpc.client.loads(response.body)
    assert malformed.value.faultCode == 400


@pytest.mark.slow
def test_a_client_gives_the_token_in_the_url_of_a_live_server(live_server, server_env, packages) -> None:
    server = live_server(env={**server_env, "PYAPP_DAEMONS": "0"})
    status, _, made = server.request(
        "POST",
        "/api/v1/tokens",
        token=server.token,
        body=json.dumps({"role": "viewer", "name": "rpc-viewer"}).encode(),
        content_type="application/json",
    )
    assert status == 201
    viewer = json.loads(made)["secret"]
    address = server.url.removeprefix("http://")
    assert address.startswith("127.0.0.1:")

    with xmlrpc.client.ServerProxy(f"http://any:{server.token}@{address}/RPC2", allow_none=True) as admin:
        job = admin.apps.install(server.on_server(packages.hello()))
        assert admin.jobs.get(job["id"], 30)["state"] == "succeeded"
    with xmlrpc.client.ServerProxy(f"http://any:{viewer}@{address}/RPC2", allow_none=True) as proxy:
        assert [a["name"] for a in proxy.apps.list()] == ["hello"]
        assert proxy.apps.show("hello")["version"] == "1.0.0", "no token among the parameters"
        with pytest.raises(xmlrpc.client.Fault) as forbidden:
            proxy.apps.remove("hello")
        assert forbidden.value.faultCode == 403
        assert "rpc-viewer" in forbidden.value.faultString
    with xmlrpc.client.ServerProxy(f"http://any:pyapp_not-a-token@{address}/RPC2") as wrong:
        with pytest.raises(xmlrpc.client.Fault) as unauthorized:
            wrong.apps.list()
        assert unauthorized.value.faultCode == 401
    with xmlrpc.client.ServerProxy(f"http://{address}/RPC2") as anonymous:
        with pytest.raises(xmlrpc.client.Fault) as no_token:
            anonymous.apps.list()
        assert no_token.value.faultCode == 401
    status, _, body = server.request("GET", "/api/v1/apps/hello", token=server.token)
    assert status == 200 and json.loads(body)["version"] == "1.0.0", "the refused removal removed nothing"


def test_invalid_configuration_fault_lists_every_field(api, rpc, packages) -> None:
    rpc(
        "jobs.get",
        api.secrets["viewer"],
        rpc("apps.install", api.secrets["deployer"], api.on_server(packages.hello()))["id"],
        30,
    )
    preview = rpc("config.preview", api.secrets["deployer"], "hello", {"greeting": "Hoi"})
    assert [(c["field"], c["new"]) for c in preview["changes"]] == [("greeting", "Hoi")]
    written = rpc("config.get", api.secrets["viewer"], "hello")["values"]
    assert written.get("greeting") != "Hoi", "nothing written"
    with pytest.raises(xmlrpc.client.Fault) as invalid:
        rpc("config.preview", api.secrets["deployer"], "hello", {"greeting": "1", "other": 2})
    assert invalid.value.faultCode == 422
    with pytest.raises(xmlrpc.client.Fault) as invalid:
        rpc("config.set", api.secrets["deployer"], "hello", {"greeting": "1", "other": 2})
    assert invalid.value.faultCode == 422
    assert "greeting/greeting" not in invalid.value.faultString
    assert "greeting" in invalid.value.faultString and "other" in invalid.value.faultString


def test_install_takes_the_services_of_the_app(api, rpc, packages) -> None:
    declared = "services:\n  db:\n    type: postgresql\n"
    package = api.on_server(packages.hello("1.0.0", hooks=declared))
    deployer = api.secrets["deployer"]
    with pytest.raises(xmlrpc.client.Fault) as missing:
        rpc("apps.install", deployer, package)
    assert missing.value.faultCode == 422
    assert "db: the required postgresql service has no value" in missing.value.faultString
    job = rpc("apps.install", deployer, package, {"services": ["db=postgresql://u:pw-x@db.example/hello"]})
    assert rpc("jobs.get", deployer, job["id"], 30)["state"] == "succeeded"
    shown = api.get("/api/v1/apps/hello/services").json["services"]
    assert shown[0]["value"] == "postgresql://u:****@db.example/hello"


def test_install_reads_only_the_drop_folder_and_says_nothing_of_other_paths(api, rpc, packages) -> None:
    faults = []
    for path in ("/etc/passwd", "/nonexistent/x.pyapp", str(packages.hello())):
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc("apps.install", api.secrets["deployer"], path)
        faults.append((refused.value.faultCode, refused.value.faultString))
        assert path not in refused.value.faultString
    assert faults == [faults[0]] * 3 and faults[0][0] == 403
    assert "drop folder or upload directory" in faults[0][1]
    with pytest.raises(xmlrpc.client.Fault) as update:
        rpc("apps.update", api.secrets["deployer"], "hello", "/etc/passwd")
    assert update.value.faultCode == 403
    assert rpc("apps.list", api.secrets["viewer"]) == []
