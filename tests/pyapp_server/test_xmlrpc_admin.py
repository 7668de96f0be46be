"""XML-RPC covers every operation of the JSON API: the host, its settings and web server, an app's
releases, backups, restore, process output and reload, its services and mount, jobs, and tokens."""

from __future__ import annotations

import json
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from pyapp_server.api import openapi_document
from pyapp_server.xmlrpc import METHODS

# Each operation of openapi.json and the XML-RPC method that does the same (None: discovery, or XML-RPC
# itself).
COUNTERPARTS = {
    "info": "pyapp.info", "openapi": None, "index": None, "indexWithoutSlash": None, "xmlrpc": None,
    "listApps": "apps.list", "installApp": "apps.install", "showApp": "apps.show", "removeApp": "apps.remove",
    "updateApp": "apps.update", "rollbackApp": "apps.rollback", "backupApp": "apps.backup",
    "controlApp": "apps.start", "reloadApp": "apps.reload", "listReleases": "apps.releases",
    "listBackups": "apps.backups", "restoreApp": "apps.restore", "processLog": "apps.log",
    "showConfig": "config.get", "replaceConfig": "config.set", "updateConfig": "config.set",
    "showServices": "services.get", "changeServices": "services.set", "mountApp": "apps.mount",
    "unmountApp": "apps.unmount", "webStatus": "web.status", "controlWeb": "web.apply",
    "listVhosts": "vhosts.list", "addVhost": "vhosts.add", "removeVhost": "vhosts.remove",
    "hostStatus": "host.status", "showHostSettings": "host.settings",
    "changeHostSettings": "host.set_settings", "listEvents": "events.list", "listJobs": "jobs.list",
    "showJob": "jobs.get", "listTokens": "tokens.list", "createToken": "tokens.create",
    "revokeToken": "tokens.revoke",
}  # fmt: skip


@pytest.fixture
def rpc(api: Any) -> Any:
    def call(method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
        response = api.app.post("/RPC2", body, headers={"Content-Type": "text/xml"})
        (result,), _ = xmlrpc.client.loads(response.body, use_builtin_types=True)
        return result

    return call


def fault(rpc: Any, method: str, *params: Any) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        rpc(method, *params)
    return caught.value


def test_every_operation_of_the_json_api_has_an_xml_rpc_method() -> None:
    operations = {op["operationId"] for item in openapi_document()["paths"].values() for op in item.values()}
    assert operations == set(COUNTERPARTS), "a new operation needs its XML-RPC counterpart here"
    assert {m for m in COUNTERPARTS.values() if m} <= set(METHODS)
    for action in ("start", "stop", "restart", "reload"):
        assert f"apps.{action}" in METHODS
    for action in ("apply", "start", "stop"):
        assert f"web.{action}" in METHODS


def test_the_host_its_settings_and_its_web_server(api: Any, rpc: Any) -> None:
    viewer, admin = api.secrets["viewer"], api.secrets["admin"]
    status = rpc("host.status", viewer)
    assert status["supervisor"]["state"] == "disabled" and isinstance(status["disk"]["free"], (int, float))
    settings = {s["key"]: s for s in rpc("host.settings", viewer)["settings"]}
    assert settings["stop_wait"]["value"] == 30

    assert fault(rpc, "host.set_settings", api.secrets["deployer"], {"stop_wait": 5}).faultCode == 403
    refused = fault(rpc, "host.set_settings", admin, {"stop_wait": 0, "method": "forks"})
    assert refused.faultCode == 422
    assert "stop_wait: 0 must be a whole number from 1 to 3600" in refused.faultString
    assert "method: 'forks' must be threads or processes" in refused.faultString
    done = rpc("host.set_settings", admin, {"stop_wait": 5, "limits": {"nofile": 2048}})
    assert done["changed"] == ["stop_wait", "limits"]
    assert "stop_wait: 5" in (api.data_dir / "host.yaml").read_text()
    assert rpc("host.set_settings", admin, {"stop_wait": None})["changed"] == ["stop_wait"]

    assert rpc("web.status", viewer)["setting"] == "none"
    assert rpc("web.apply", admin)["running"] is False
    assert fault(rpc, "web.start", admin).faultCode == 409
    assert fault(rpc, "web.stop", viewer).faultCode == 403


def test_an_apps_releases_backups_restore_output_and_processes(api: Any, rpc: Any, packages: Any) -> None:
    deployer, viewer, admin = api.secrets["deployer"], api.secrets["viewer"], api.secrets["admin"]
    job = rpc(
        "apps.install",
        deployer,
        api.on_server(packages.hello(hooks="hooks:\n  install: hello.commands:greet\n")),
    )
    assert rpc("jobs.get", viewer, job["id"], 30)["state"] == "succeeded"
    (release,) = rpc("apps.releases", viewer, "hello")["releases"]
    assert (release["version"], release["current"]) == ("1.0.0", True)

    rpc("config.set", deployer, "hello", {"greeting": "Before"})
    backup = rpc("apps.backup", deployer, "hello")
    archive = Path(rpc("jobs.get", viewer, backup["id"], 30)["result"]["archive"]).name
    rpc("config.set", deployer, "hello", {"greeting": "After"})
    assert [b["name"] for b in rpc("apps.backups", viewer, "hello")["backups"]] == [archive]
    assert fault(rpc, "apps.restore", deployer, "hello", archive).faultCode == 403
    missing = fault(rpc, "apps.restore", admin, "hello", "nope.tar.gz")
    assert missing.faultCode == 404 and archive in missing.faultString
    restored = rpc("apps.restore", admin, "hello", archive, {"force": False})
    assert rpc("jobs.get", viewer, restored["id"], 30)["state"] == "succeeded"
    assert rpc("config.get", viewer, "hello")["values"]["greeting"] == "Before"
    assert [j["kind"] for j in rpc("jobs.list", viewer, {"app": "hello", "limit": 2})] == [
        "restore",
        "backup",
    ]

    (hooks,) = rpc("apps.log", deployer, "hello", "hooks", 5)["logs"]
    assert 0 < len(hooks["lines"]) <= 5
    unknown = fault(rpc, "apps.log", deployer, "hello", "queue")
    assert unknown.faultCode == 404 and "(known: hooks)" in unknown.faultString
    assert fault(rpc, "apps.log", viewer, "hello", "hooks").faultCode == 403
    assert fault(rpc, "apps.log", deployer, "hello", "hooks", 0).faultCode == 400

    for action in ("start", "stop", "restart", "reload"):
        refused = fault(rpc, f"apps.{action}", deployer, "hello")
        assert refused.faultCode == 501 and f"cannot {action} app processes" in refused.faultString

    assert rpc("services.get", viewer, "hello")["services"] == []
    assert fault(rpc, "services.set", deployer, "hello", {"db": "x"}).faultCode == 422


def test_virtual_hosts_and_mounts(api: Any, rpc: Any, packages: Any) -> None:
    deployer, admin = api.secrets["deployer"], api.secrets["admin"]
    rpc("jobs.get", deployer, rpc("apps.install", deployer, api.on_server(packages.hello()))["id"], 30)
    assert fault(rpc, "vhosts.add", deployer, {"name": "main", "port": 18095}).faultCode == 403
    wrong = fault(rpc, "vhosts.add", admin, {"name": "main", "port": "x", "colour": "blue"})
    assert wrong.faultCode == 422 and "port: has the wrong type" in wrong.faultString
    assert (
        rpc("vhosts.add", admin, {"name": "main", "port": 18095})["vhost"]["url"] == "http://127.0.0.1:18095/"
    )
    mounted = rpc("apps.mount", deployer, "hello", "main", "/hello")
    assert mounted["mount"]["url"] == "http://127.0.0.1:18095/hello/"
    assert [m["app"] for m in rpc("vhosts.list", deployer)["mounts"]] == ["hello"]
    assert rpc("web.status", deployer)["mounts"] == 1
    assert fault(rpc, "vhosts.remove", admin, "main").faultCode == 422, "hello is still mounted on it"
    assert rpc("apps.unmount", deployer, "hello")["action"] == "unmount"
    assert rpc("vhosts.remove", admin, "main")["action"] == "vhost-remove"


def test_tokens(api: Any, rpc: Any) -> None:
    admin = api.secrets["admin"]
    assert fault(rpc, "tokens.list", api.secrets["deployer"]).faultCode == 403
    made = rpc("tokens.create", admin, "viewer", "dashboard")
    assert made["secret"].startswith("pyapp_") and made["role"] == "viewer"
    listed = rpc("tokens.list", admin)
    assert "dashboard" in [t["name"] for t in listed] and made["secret"] not in json.dumps(listed)
    assert rpc("apps.list", made["secret"]) == []
    assert rpc("tokens.revoke", admin, made["id"])["name"] == "dashboard"
    assert fault(rpc, "apps.list", made["secret"]).faultCode == 401
    assert fault(rpc, "tokens.revoke", admin, made["id"]).faultCode == 404
    assert fault(rpc, "tokens.create", admin, "root", "x").faultCode == 400
    kinds = [e["message"] for e in rpc("events.list", admin, {"kind": "token"})]
    assert kinds == ["token 'dashboard' (viewer) revoked", "token 'dashboard' (viewer) created"]
