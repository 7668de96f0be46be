"""The JSON API under WebTest: every response is checked against openapi.json (see conftest)."""

from __future__ import annotations

import base64
import re
import threading
from pathlib import Path

import pytest
from pyapp_server.api import openapi_document
from pyapp_server.auth import session_path

SECRET_FIELDS = """\
  api_key:
    type: secret
    label: API key
    required: true
    min_length: 10
  port:
    type: port
    default: 8080
"""


def test_info_is_open_and_names_the_versions(api) -> None:
    response = api.get("/api/v1/info", role=None)
    assert response.status_int == 200
    info = response.json
    assert info["name"] == "pyapp-server"
    assert info["min_client_version"] == response.headers["X-Pyapp-Min-Client-Version"]
    assert info["identity"] is None
    assert api.get("/api/v1/info", role="deployer").json["identity"]["role"] == "deployer"
    assert api.get("/api/v1/openapi.json", role=None).json["openapi"] == "3.1.0"


def test_the_document_describes_every_route_and_every_reference_resolves(api, openapi) -> None:
    from pyramid.interfaces import IRoutesMapper

    mapper = api.app.app.registry.getUtility(IRoutesMapper)
    documented = set(openapi_document()["paths"])
    routes = {
        re.sub(r"\{(\w+):[^}]*\}", r"{\1}", r.pattern)
        for r in mapper.get_routes()
        if not session_path("/" + r.pattern.lstrip("/"))  # the web interface's pages, not the API
    }
    assert routes == documented
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            assert "default" in op["responses"], (path, method)
            for status, response in op["responses"].items():
                target = openapi.resolve(response["$ref"][1:]) if "$ref" in response else response
                assert target.get("content"), (path, method, status)

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(openapi_document()):
        assert openapi.resolve(ref[1:]) is not None


def test_install_update_configure_rollback_remove(api, packages) -> None:
    v1, v2 = packages.hello("1.0.0"), packages.hello("1.1.0")
    job = api.install(v1)
    assert job["result"]["action"] == "installed"
    assert job["actor"] == "test-deployer"
    assert "hello 1.0.0 is installed" in job["log"]
    assert [a["name"] for a in api.get("/api/v1/apps").json["apps"]] == ["hello"]

    assert api.app.patch_json(
        "/api/v1/apps/hello/config", {"values": {"greeting": "Hi"}}, headers=api.headers("deployer")
    ).json["changed"] == ["greeting"]
    response = api.upload("/api/v1/apps/hello/update", v2)
    assert response.status_int == 202
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{response.json['id']}")
    updated = api.wait(response.json)
    assert updated["result"]["action"] == "updated"
    assert updated["result"]["previous_version"] == "1.0.0"
    show = api.get("/api/v1/apps/hello").json
    assert show["version"] == "1.1.0"
    assert {r["version"]: r["current"] for r in show["releases"]} == {"1.0.0": False, "1.1.0": True}
    assert api.get("/api/v1/apps/hello/config").json["values"]["greeting"] == "Hi"

    rolled = api.wait(api.post_json("/api/v1/apps/hello/rollback", {}).json)
    assert rolled["result"]["from_version"] == "1.1.0"
    assert api.get("/api/v1/apps/hello").json["version"] == "1.0.0"

    backup = api.wait(api.app.post("/api/v1/apps/hello/backup", headers=api.headers("deployer")).json)
    assert backup["state"] == "succeeded"
    assert backup["result"]["archive"].endswith(".tar.gz")

    assert (
        api.app.delete("/api/v1/apps/hello", headers=api.headers("deployer"), expect_errors=True).status_int
        == 403
    )
    removed = api.wait(api.app.delete("/api/v1/apps/hello?backup=true", headers=api.headers("admin")).json)
    assert removed["state"] == "succeeded"
    assert Path(removed["result"]["backup"]["archive"]).is_file()
    assert api.get("/api/v1/apps").json["apps"] == []
    assert api.get("/api/v1/apps/hello").status_int == 404

    events = api.get("/api/v1/events?app=hello").json["events"]
    assert [e["kind"] for e in reversed(events)] == [
        "install",
        "config",
        "update",
        "rollback",
        "backup",
        "remove",
    ]
    assert all(e["outcome"] == "succeeded" for e in events)
    assert {e["actor"] for e in events} == {"test-deployer", "test-admin"}
    jobs = api.get("/api/v1/jobs?app=hello").json["jobs"]
    assert [j["kind"] for j in jobs] == ["remove", "backup", "rollback", "update", "install"]


def test_upload_as_multipart_and_install_from_a_path_on_the_server(api, packages) -> None:
    response = api.app.post(
        "/api/v1/apps",
        {"set": "greeting=Howdy"},
        upload_files=[("package", "hello.pyapp", packages.hello().read_bytes())],
        headers=api.headers("deployer"),
    )
    assert api.wait(response.json)["state"] == "succeeded"
    assert api.get("/api/v1/apps/hello/config").json["values"]["greeting"] == "Howdy"
    on_server = api.on_server(packages.hello("1.2.0"))
    job = api.wait(api.post_json("/api/v1/apps", {"path": on_server}).json)
    assert job["result"]["action"] == "updated"
    assert Path(on_server).exists(), "a file of the server's is not deleted after its install"
    assert list((api.data_dir / "server" / "uploads").iterdir()) == [], "staged uploads are deleted"


def test_configuration_spec_values_masked_and_every_error_reported(api, packages) -> None:
    job = api.upload(
        "/api/v1/apps", packages.hello("1.0.0", fields=SECRET_FIELDS), query="set=api_key=s3cr3t-value"
    )
    assert api.wait(job.json)["state"] == "succeeded"
    config = api.get("/api/v1/apps/hello/config").json
    assert config["values"]["api_key"] == "********"
    assert [f["widget"] for f in config["spec"]["fields"]] == ["text", "password", "number"]

    bad = api.app.put_json(
        "/api/v1/apps/hello/config",
        {"values": {"greeting": "4", "port": 70000, "nope": 1}},
        headers=api.headers("deployer"),
        expect_errors=True,
    )
    assert bad.status_int == 422
    assert {e["field"] for e in bad.json["errors"]} == {"greeting", "port", "nope", "api_key"}
    assert all(e["path"] == "/" + e["field"] and e["message"] for e in bad.json["errors"])

    kept = api.app.put_json(
        "/api/v1/apps/hello/config",
        {"values": {"greeting": "Yo", "api_key": "********"}},
        headers=api.headers("deployer"),
    )
    assert kept.json["values"] == {"greeting": "Yo", "api_key": "********"}
    stored = (api.data_dir / "apps" / "hello" / "config.yaml").read_text()
    assert "s3cr3t-value" in stored, "the masked secret kept its value"
    # A dry run says what would change and the file the app would read, secrets masked; writes nothing.
    before = (api.data_dir / "apps" / "hello" / "config.yaml").read_text()
    preview = api.app.patch_json(
        "/api/v1/apps/hello/config?dry_run=true",
        {"values": {"greeting": "Salut", "api_key": "an-0ther-secret"}},
        headers=api.headers("deployer"),
    ).json
    assert [(c["field"], c["old"], c["new"]) for c in preview["changes"]] == [
        ("greeting", "Yo", "Salut"),
        ("api_key", "********", "********"),
    ]
    assert "greeting: Salut" in preview["file"] and "an-0ther-secret" not in str(preview)
    assert (api.data_dir / "apps" / "hello" / "config.yaml").read_text() == before
    refused = api.app.patch_json(
        "/api/v1/apps/hello/config?dry_run=true", {"values": {"port": 70000}},
        headers=api.headers("deployer"), expect_errors=True,
    )  # fmt: skip
    assert refused.status_int == 422 and refused.json["errors"][0]["field"] == "port"
    # The same as an assignment (pyapp-ctl config set api_key=********): kept, not refused as too short.
    assigned = api.app.patch_json(
        "/api/v1/apps/hello/config",
        {"assignments": ["greeting=Hey", "api_key=********"]},
        headers=api.headers("deployer"),
    )
    assert assigned.json["values"] == {"greeting": "Hey", "api_key": "********"}
    assert "s3cr3t-value" in (api.data_dir / "apps" / "hello" / "config.yaml").read_text()
    for path in ("/api/v1/apps/hello/config", "/api/v1/apps/hello", "/api/v1/events", "/api/v1/jobs"):
        assert "s3cr3t-value" not in api.get(path).text


def test_every_refusal_changes_nothing(api, packages, host_state) -> None:
    api.install(packages.hello())
    before = host_state(api.data_dir)
    new = packages.hello("3.0.0")
    refusals = [
        (api.upload("/api/v1/apps", new, role=None), 401),
        (api.upload("/api/v1/apps", new, role="viewer"), 403),
        (
            api.app.post(
                "/api/v1/apps",
                new.read_bytes(),
                headers={"Authorization": "Bearer pyapp_wrong"},
                expect_errors=True,
            ),
            401,
        ),
        (api.post_json("/api/v1/apps/hello/rollback", {}, role="viewer"), 403),
        (
            api.app.patch_json(
                "/api/v1/apps/hello/config", {"values": {"greeting": "Hey"}}, expect_errors=True
            ),
            401,
        ),
        (
            api.app.patch(
                "/api/v1/apps/hello/config",
                "{not json",
                headers={**api.headers("deployer"), "Content-Type": "application/json"},
                expect_errors=True,
            ),
            400,
        ),
        (api.post_json("/api/v1/apps/hello/rollback", {"to": 3}), 422),
        (api.post_json("/api/v1/apps/hello/config", {}), 405),
        (
            api.app.post(
                "/api/v1/apps",
                b"x",
                headers={**api.headers("deployer"), "Content-Type": "text/plain"},
                expect_errors=True,
            ),
            415,
        ),
        (api.post_json("/api/v1/apps", {"path": "relative.pyapp"}), 422),
        (api.upload("/api/v1/apps", packages.hostile()), 422),
        (api.upload("/api/v1/apps", packages.junk()), 422),
        (api.upload("/api/v1/apps/other/update", new), 404),
        (api.upload("/api/v1/apps/hello/update", packages.hello("1.0.0")), 202),
    ]
    for response, status in refusals:
        assert response.status_int == status, (response.request.path, response.text)
        if status >= 400:
            assert response.json["error"]["message"]
    hostile = refusals[10][0].json
    assert any("'..'" in e["message"] for e in hostile["errors"])
    same_version = api.wait(refusals[-1][0].json)
    assert same_version["result"]["action"] == "unchanged"
    assert host_state(api.data_dir) == before
    assert list((api.data_dir / "server" / "uploads").iterdir()) == [], "refused uploads are deleted"


def test_an_upload_over_the_limit_is_refused_with_413(make_api, packages, host_state) -> None:
    api = make_api(max_upload_size="1K")
    before = host_state(api.data_dir)
    response = api.upload("/api/v1/apps", packages.hello())
    assert response.status_int == 413
    assert response.json["error"]["limit"] == 1024
    assert "max_upload_size" in response.json["error"]["message"]
    assert host_state(api.data_dir) == before


def test_a_failed_install_is_a_failed_job_and_event_and_the_app_stays(api, packages, host_state) -> None:
    api.install(packages.hello())
    before = host_state(api.data_dir)
    job = api.wait(api.upload("/api/v1/apps", packages.failing_install()).json)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "hook-failed"
    assert "hook 'verify' of hello 2.0.0 failed" in job["error"]["message"]

    def running(state):  # the update's pre-update backup and the hook log stay, as they should
        return {k: v for k, v in state.items() if not k.startswith(("apps/hello/backups", "apps/hello/logs"))}

    assert running(host_state(api.data_dir)) == running(before)
    assert api.get("/api/v1/apps/hello").json["version"] == "1.0.0"
    event = api.get("/api/v1/events?kind=update").json["events"][0]
    assert (event["outcome"], event["job"]) == ("failed", job["id"])


def test_one_app_is_never_deployed_twice_at_once(api, packages) -> None:
    api.install(packages.hello())
    release = threading.Event()
    blocker = api.services.jobs.submit("update", "hello", "test", lambda ctx: (release.wait(30) and {}) or {})
    try:
        response = api.upload("/api/v1/apps", packages.hello("1.5.0"))
        assert response.status_int == 409
        assert response.json["error"]["job"] == blocker.id
        assert api.post_json("/api/v1/apps/hello/rollback", {}).status_int == 409
        patch = api.app.patch_json(
            "/api/v1/apps/hello/config",
            {"values": {"greeting": "Hey"}},
            headers=api.headers("deployer"),
            expect_errors=True,
        )
        assert patch.status_int == 409
        assert api.get("/api/v1/apps").json["apps"][0]["job"] == blocker.id
    finally:
        release.set()
    api.services.jobs.wait(blocker.id, 30)
    assert api.wait(api.upload("/api/v1/apps", packages.hello("1.5.0")).json)["state"] == "succeeded"


def test_process_control_says_when_the_runtime_cannot(api, packages, monkeypatch) -> None:
    # With daemons off the host runs no app processes (test_process_control.py has them on).
    monkeypatch.setenv("PYAPP_DAEMONS", "0")
    api.install(packages.hello())
    assert api.get("/api/v1/info").json["features"]["processes"] is False
    for action in ("start", "stop", "restart"):
        response = api.post_json(f"/api/v1/apps/hello/{action}", None)
        assert response.status_int == 501, (action, response.text)
        message = response.json["error"]["message"]
        assert f"cannot {action} app processes" in message
        assert "pyapp run PYAPP_HOME/apps/hello/current" in message
        assert str(api.data_dir) not in message, "a deployer is not told the server's paths"
        missing = api.post_json(f"/api/v1/apps/nothing-here/{action}", None)
        assert missing.status_int == 404, "no such app, whatever the runtime can do"
    assert api.post_json("/api/v1/apps/hello/start", None, role="viewer").status_int == 403
    assert [e["kind"] for e in api.get("/api/v1/events?app=hello").json["events"]] == ["install"]


def test_tokens_are_managed_by_admins_and_revoked_at_once(api) -> None:
    assert api.get("/api/v1/tokens", role="deployer").status_int == 403
    made = api.post_json("/api/v1/tokens", {"role": "viewer", "name": "dashboard"}, role="admin")
    assert made.status_int == 201
    secret = made.json["secret"]
    listed = api.get("/api/v1/tokens", role="admin").json["tokens"]
    assert "dashboard" in [t["name"] for t in listed]
    assert secret not in api.get("/api/v1/tokens", role="admin").text
    assert api.app.get("/api/v1/apps", headers={"Authorization": f"Bearer {secret}"}).status_int == 200
    assert api.app.delete(f"/api/v1/tokens/{made.json['id']}", headers=api.headers("admin")).status_int == 200
    gone = api.app.get("/api/v1/apps", headers={"Authorization": f"Bearer {secret}"}, expect_errors=True)
    assert gone.status_int == 401
    assert "not valid" in gone.json["error"]["message"]
    bad = api.post_json("/api/v1/tokens", {"role": "root", "name": ""}, role="admin")
    assert bad.status_int == 400
    assert api.post_json("/api/v1/tokens", {"role": "viewer"}, role="admin").status_int == 422


def test_the_token_may_come_as_the_password_of_http_basic_or_with_the_token_scheme(api) -> None:
    def basic(credentials: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    viewer = api.secrets["viewer"]
    for headers in (basic(f"any:{viewer}"), {"Authorization": f"Token {viewer}"}):
        assert api.app.get("/api/v1/apps", headers=headers).json == {"apps": []}
        identity = api.app.get("/api/v1/info", headers=headers).json["identity"]
        assert (identity["name"], identity["role"]) == ("test-viewer", "viewer")
        refused = api.app.post_json("/api/v1/apps", {"path": "/x.pyapp"}, headers=headers, expect_errors=True)
        assert refused.status_int == 403
        assert "has the role viewer" in refused.json["error"]["message"]
    wrong = api.app.get("/api/v1/apps", headers=basic("any:pyapp_not-a-token"), expect_errors=True)
    assert wrong.status_int == 401
    assert "not valid" in wrong.json["error"]["message"]
    garbled = api.app.get("/api/v1/apps", headers={"Authorization": "Basic !!!"}, expect_errors=True)
    assert garbled.status_int == 401


@pytest.mark.parametrize(("settings", "status"), [({}, 401), ({"open_reads": "true"}, 200)])
def test_reads_without_a_token_only_when_open_reads(make_api, settings, status) -> None:
    api = make_api(**settings)
    assert api.get("/api/v1/apps", role=None).status_int == status
    assert api.get("/api/v1/events", role=None).status_int == status
    assert api.post_json("/api/v1/apps", {"path": "/nonexistent.pyapp"}, role=None).status_int == 401


def test_open_reads_are_ignored_off_loopback(make_api) -> None:
    api = make_api(open_reads="true", host="0.0.0.0")
    assert api.get("/api/v1/apps", role=None).status_int == 401
    assert api.get("/api/v1/info", role=None).json["auth"]["open_reads"] is False


def test_a_too_old_client_is_told_how_to_upgrade(make_api) -> None:
    api = make_api(min_client_version="2.0")
    old = api.app.get(
        "/api/v1/apps", headers={**api.headers("viewer"), "X-Pyapp-Client-Version": "1.9"}, expect_errors=True
    )
    assert old.status_int == 426
    assert old.json["error"]["upgrade"] == 'pip install -U "apppackage[tools]>=2.0"'
    assert 'pip install -U "apppackage[tools]>=2.0"' in old.json["error"]["message"]
    assert old.headers["X-Pyapp-Min-Client-Version"] == "2.0"
    fine = api.app.get("/api/v1/apps", headers={**api.headers("viewer"), "X-Pyapp-Client-Version": "2.0.1"})
    assert fine.status_int == 200
    assert api.get("/api/v1/apps").status_int == 200, "requests without the header are served"
    garbled = api.app.get(
        "/api/v1/info", headers={"X-Pyapp-Client-Version": "not a version"}, expect_errors=True
    )
    assert garbled.status_int == 400


def test_query_parameters_are_checked(api) -> None:
    assert api.get("/api/v1/events?limit=many").status_int == 400
    assert api.get("/api/v1/jobs?state=sleeping").status_int == 400
    assert api.get("/api/v1/jobs/nope").status_int == 404
    assert (
        api.app.delete(
            "/api/v1/apps/hello?force=perhaps", headers=api.headers("admin"), expect_errors=True
        ).status_int
        == 422
    )


def test_an_install_from_a_server_path_reads_only_the_drop_folder_and_the_upload_directory(
    api, packages
) -> None:
    outside = packages.hello()  # a real package, outside the server's folders
    link = api.data_dir / "drop" / "incoming" / "link.pyapp"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    answers = set()
    for path in (str(outside), "/nonexistent/x.pyapp", "/etc/passwd", str(link), f"{link.parent}/../../x"):
        response = api.post_json("/api/v1/apps", {"path": path})
        assert response.status_int == 403, response.text
        error = response.json["error"]
        assert error["code"] == "path-not-allowed"
        assert "drop folder or upload directory" in error["message"]
        assert "/" not in error["message"], "a deployer is told no server path, nor whether one exists"
        answers.add(response.text)
    assert len(answers) == 1, "a file that exists and one that does not get the same answer"
    missing = api.post_json("/api/v1/apps", {"path": str(link.parent / "missing.pyapp")})
    assert missing.status_int == 422 and "/" not in missing.json["error"]["message"]

    admin = api.post_json("/api/v1/apps", {"path": str(outside)}, role="admin").json["error"]["message"]
    assert str(outside) in admin and str(api.data_dir / "drop") in admin, "an admin is told where"
    assert api.get("/api/v1/apps").json == {"apps": []}
    assert api.get("/api/v1/events").json["events"] == []
