"""Services (spec section 3.9) through the JSON API: given at install, shown masked, changed by a deployer.

Every response is checked against openapi.json (see conftest).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PASSWORD = "api-s3cret"
DB = f"postgresql://hello:{PASSWORD}@db.example:5432/hello"
NEW_PASSWORD = "rotated-s3cret"
NEW_DB = f"postgresql://hello:{NEW_PASSWORD}@db.example:5432/hello"
SERVICES = """\
services:
  db:
    type: postgresql
    summary: the greetings
  cache:
    type: sqlite
  mail:
    type: smtp
    required: false
"""


def put(api: Any, body: Any, role: str = "deployer") -> Any:
    return api.app.put_json(
        "/api/v1/apps/hello/services", body, headers=api.headers(role), expect_errors=True
    )


def test_install_needs_the_required_services_before_any_job_is_queued(api: Any, packages: Any) -> None:
    refused = api.upload("/api/v1/apps", packages.hello("1.0.0", hooks=SERVICES))
    assert refused.status_int == 422
    assert refused.json["error"]["code"] == "invalid-services"
    assert refused.json["errors"] == [
        {
            "field": "db",
            "path": "/db",
            "message": "the required postgresql service has no value (the greetings)",
        }
    ]
    assert "--service NAME=VALUE" in refused.json["error"]["message"]
    assert api.get("/api/v1/jobs").json["jobs"] == []
    assert api.get("/api/v1/apps").json["apps"] == []
    wrong = api.upload(
        "/api/v1/apps",
        packages.hello("1.0.0", hooks=SERVICES),
        query="service=" + quote(f"db=mysql://x:{PASSWORD}@h/d"),
    )
    assert wrong.status_int == 422 and PASSWORD not in wrong.text
    assert "expected a postgresql URL" in wrong.json["errors"][0]["message"]


def test_services_given_at_install_are_listed_masked_and_changed_by_a_deployer(
    api: Any, packages: Any
) -> None:
    job = api.upload(
        "/api/v1/apps", packages.hello("1.0.0", hooks=SERVICES), query="service=" + quote(f"db={DB}")
    )
    assert job.status_int == 202, job.text
    done = api.wait(job.json)
    assert done["state"] == "succeeded", done
    assert "provisioned the service cache" in done["log"]
    stored = (api.data_dir / "apps" / "hello" / "services.yaml").read_text()
    assert DB in stored

    shown = api.get("/api/v1/apps/hello/services", role="viewer")
    assert shown.status_int == 200
    services = {s["name"]: s for s in shown.json["services"]}
    assert services["db"]["value"] == "postgresql://hello:****@db.example:5432/hello"
    assert services["cache"]["provisioned"] and services["cache"]["variable"] == "PYAPP_SERVICE_CACHE"
    assert services["mail"] == {
        "name": "mail", "type": "smtp", "variable": "PYAPP_SERVICE_MAIL", "required": False, "summary": "",
        "provided": False, "provisioned": False, "value": None,
    }  # fmt: skip

    assert put(api, {"set": {"db": NEW_DB}}, role="viewer").status_int == 403
    changed = put(api, {"set": {"db": NEW_DB, "mail": "smtp://mail.example:25"}})
    assert changed.status_int == 200, changed.text
    assert changed.json["changed"] == ["db", "mail"]
    assert NEW_DB in (api.data_dir / "apps" / "hello" / "services.yaml").read_text()

    bad = put(api, {"set": {"db": "redis://cache:6379/0"}, "unset": ["cache", "nope"]})
    assert bad.status_int == 422
    assert [e["field"] for e in bad.json["errors"]] == ["db", "cache", "nope"]
    assert put(api, {"values": {}}).status_int == 422
    assert put(api, {}).status_int == 422
    assert put(api, {"set": {"db": 5}}).status_int == 422

    unset = put(api, {"unset": ["mail"]})
    assert unset.status_int == 200 and unset.json["changed"] == ["mail"]
    events = api.get("/api/v1/events").json["events"]
    messages = [e["message"] for e in events if e["kind"] == "services"]
    assert "services of hello changed: db, mail" in messages
    assert any(m.startswith("services of hello refused: 3 problem(s) with cache, db, nope") for m in messages)
    for path in ("/api/v1/apps/hello/services", "/api/v1/apps/hello", "/api/v1/events", "/api/v1/jobs"):
        text = api.get(path).text
        assert PASSWORD not in text and NEW_PASSWORD not in text
    for response in (changed, bad, unset):
        assert PASSWORD not in response.text and NEW_PASSWORD not in response.text


def test_an_update_from_a_server_path_takes_services_in_its_json_body(api: Any, packages: Any) -> None:
    api.install(packages.hello("1.0.0"))
    update = api.post_json(
        "/api/v1/apps/hello/update",
        {"path": api.on_server(packages.hello("1.1.0", hooks=SERVICES)), "services": [f"db={DB}"]},
    )
    assert update.status_int == 202, update.text
    assert api.wait(update.json)["state"] == "succeeded"
    assert api.get("/api/v1/apps/hello/services").json["services"][0]["provided"]
