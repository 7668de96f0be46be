"""The data version through the management server (spec section 3.19): shown in the app and releases views,
a rollback or update below it refused before any job is queued, with the backup to restore and the calls that
restore it, then roll back; and the update policy (section 3.18) in the app view. Every response is checked
against openapi.json."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import pytest


def updated(api: Any, packages: Any) -> dict[str, Any]:
    """hello 1.0.0 (data version 1) updated to 2.0.0 (data version 2); the backup taken before the update."""
    api.install(packages.hello("1.0.0", data_version=1))
    update = api.upload("/api/v1/apps/hello/update", packages.hello("2.0.0", data_version=2))
    assert api.wait(update.json)["state"] == "succeeded"
    (backup,) = api.get("/api/v1/apps/hello/backups").json["backups"]
    return dict(backup)


def test_a_rollback_below_the_data_version_is_refused_then_goes_through_once_the_backup_is_restored(
    api: Any, packages: Any
) -> None:
    backup = updated(api, packages)
    assert (backup["data_version"], backup["reason"], backup["to_version"]) == (1, "pre-update", "2.0.0")
    app = api.get("/api/v1/apps/hello").json
    assert app["data_version"] == {"data_version": 2, "since": "the update to hello 2.0.0"}
    assert app["updates"] == {"strategy": "always-latest", "start": "beside"}
    releases = api.get("/api/v1/apps/hello/releases").json["releases"]
    assert [(r["version"], r["data_version"]) for r in releases] == [("2.0.0", 2), ("1.0.0", 1)]

    refused = api.post_json("/api/v1/apps/hello/rollback", {})

    assert refused.status_int == 409
    error = refused.json["error"]
    assert (error["code"], error["data_version"], error["target_data_version"]) == ("data-version", 2, 1)
    assert error["backup"] == backup["name"]
    lines = error["message"].splitlines()
    assert lines[0].startswith(
        "refused to roll hello back to 1.0.0: hello 1.0.0 keeps its data in data version 1"
    )
    assert lines[2:] == [
        f'  POST /api/v1/apps/hello/restore {{"backup": "{backup["name"]}"}} '
        f"(pyapp-ctl apps restore hello {backup['name']})",
        "  POST /api/v1/apps/hello/rollback {} (pyapp-ctl apps rollback hello)",
        'Without the restore, POST /api/v1/apps/hello/rollback {"force": true} (pyapp-ctl apps rollback hello'
        " --force) does it on the data as it is.",
    ]
    assert api.get("/api/v1/jobs?app=hello").json["jobs"][0]["kind"] == "update"  # no job was queued

    restore = api.post_json("/api/v1/apps/hello/restore", {"backup": backup["name"]}, role="admin")
    restored = api.wait(restore.json)
    assert restored["state"] == "succeeded", restored
    assert restored["result"]["data_version"] == 1
    assert "roll back to the release that made the backup" in restored["result"]["note"]
    rolled = api.wait(api.post_json("/api/v1/apps/hello/rollback", {}).json)

    assert rolled["state"] == "succeeded", rolled
    assert (rolled["result"]["version"], rolled["result"]["data_version"]) == ("1.0.0", 1)
    app = api.get("/api/v1/apps/hello").json
    assert app["version"] == "1.0.0"
    assert app["data_version"] == {"data_version": 1, "since": f"the restore of {backup['name']}"}


def test_force_rolls_back_and_updates_on_the_data_as_it_is(api: Any, packages: Any) -> None:
    updated(api, packages)
    assert api.post_json("/api/v1/apps/hello/rollback", {"force": "yes"}).status_int == 422

    forced = api.wait(api.post_json("/api/v1/apps/hello/rollback", {"to": "1.0.0", "force": True}).json)

    assert forced["state"] == "succeeded", forced
    assert forced["result"]["data_version"] == 2
    assert "the data stays in data version 2" in forced["result"]["warnings"][0]
    # Back on 2.0.0, an older package over the data is refused the same way, before a job is queued...
    assert api.wait(api.post_json("/api/v1/apps/hello/rollback", {}).json)["result"]["version"] == "2.0.0"
    older = packages.hello("1.5.0", data_version=1)
    refused = api.upload("/api/v1/apps/hello/update", older)
    assert refused.status_int == 409 and refused.json["error"]["code"] == "data-version"
    assert "POST /api/v1/apps/hello/update?force=true with the package" in refused.json["error"]["message"]
    assert "(pyapp-ctl apps update hello PACKAGE --force)" in refused.json["error"]["message"]
    # ...and installed when forced.
    job = api.wait(api.upload("/api/v1/apps/hello/update", older, query="force=true").json)
    assert job["state"] == "succeeded", job
    assert any("data version" in w for w in job["result"]["warnings"])


def test_xmlrpc_words_the_refusal_in_its_own_calls(api: Any, packages: Any) -> None:
    backup = updated(api, packages)
    deployer = api.secrets["deployer"]

    def rpc(method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
        response = api.app.post("/RPC2", body, headers={"Content-Type": "text/xml"})
        (result,), _ = xmlrpc.client.loads(response.body, use_builtin_types=True)
        return result

    with pytest.raises(xmlrpc.client.Fault) as refused:
        rpc("apps.rollback", deployer, "hello")

    assert refused.value.faultCode == 409
    message = refused.value.faultString
    assert f'  apps.restore("hello", "{backup["name"]}")' in message.splitlines()
    assert 'Without the restore, apps.rollback("hello", "", {"force": true}) does it' in message
    job = rpc("apps.rollback", deployer, "hello", "", {"force": True})
    assert rpc("jobs.get", api.secrets["viewer"], job["id"], 30)["result"]["version"] == "1.0.0"
