"""The host through the JSON API (every response checked against openapi.json): the host at a glance, its
settings, an app's releases, backups and restore, its processes' output, and reload.

A web server serving the routes, and apps' processes running under supervisord, are in
test_api_admin_live.py (a live server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def put(api: Any, path: str, body: Any, role: str = "admin") -> Any:
    return api.app.put_json(path, body, headers=api.headers(role), expect_errors=True)


def test_the_host_at_a_glance(api: Any, packages: Any) -> None:
    empty = api.get("/api/v1/host")
    assert empty.status_int == 200, empty.text
    assert empty.json["apps"] == 0 and empty.json["disk"]["releases"] == 0
    # The suite's hosts run no apps' processes (PYAPP_DAEMONS=0): supervisord is not asked.
    assert empty.json["supervisor"] == {"state": "disabled", "pid": None}
    assert empty.json["web_server"]["setting"] == "none" and empty.json["web_server"]["running"] is False

    api.install(packages.hello())
    (api.data_dir / "apps" / "hello" / "data" / "counters" / "big").write_bytes(b"x" * 100_000)
    api.services.host.overview.forget()  # data is measured again after a minute; a test does not wait
    host = api.get("/api/v1/host").json
    disk = host["disk"]
    assert host["apps"] == 1
    assert disk["releases"] > 0 and disk["data"] >= 100_000 and disk["backups"] == 0
    assert 0 < disk["free"] <= disk["size"]
    assert (host["vhosts"], host["mounts"]) == (0, 0)
    assert api.get("/api/v1/host", role=None).status_int == 401


def test_host_settings_are_told_changed_checked_and_recorded(api: Any) -> None:
    told = api.get("/api/v1/host/settings")
    assert told.status_int == 200, told.text
    settings = {s["key"]: s for s in told.json["settings"]}
    assert (settings["threads"]["value"], settings["threads"]["source"]) == (4, "default")
    assert settings["web_server"]["type"] == "choice" and "nginx" in settings["web_server"]["choices"]

    change = {"threads": 8, "stop_wait": 10, "limits": {"memory": "512M"}, "apps": {"blog": {"threads": 2}}}
    assert put(api, "/api/v1/host/settings", change, role="deployer").status_int == 403
    done = put(api, "/api/v1/host/settings", change)
    assert done.status_int == 200, done.text
    assert done.json["changed"] == ["threads", "stop_wait", "limits", "apps"]
    assert done.json["web_server"] is None and done.json["reload"] == []
    now = {s["key"]: s for s in api.get("/api/v1/host/settings").json["settings"]}
    assert (now["threads"]["value"], now["threads"]["source"]) == (8, "host.yaml")
    assert now["limits"]["value"]["memory"] == 512 << 20
    assert now["apps"]["value"]["blog"]["threads"] == 2

    # Every problem is named, each with its path; nothing is written.
    path = api.data_dir / "host.yaml"
    before = path.read_bytes()
    bad = put(
        api, "/api/v1/host/settings", {"threads": 0, "listen": "tcp", "apps": {"blog": {"threads": "x"}}}
    )
    assert bad.status_int == 422, bad.text
    assert bad.json["error"]["code"] == "invalid-settings"
    assert {(e["field"], e["path"]) for e in bad.json["errors"]} == {
        ("threads", "/threads"),
        ("listen", "/listen"),
        ("apps", "/apps/blog/threads"),
    }
    assert "nothing was written" in bad.json["error"]["message"]
    assert path.read_bytes() == before
    assert put(api, "/api/v1/host/settings", {}).status_int == 422

    # null: back to the default.
    back = put(api, "/api/v1/host/settings", {"threads": None, "apps": None})
    assert back.json["changed"] == ["threads", "apps"]
    assert {s["key"]: s["source"] for s in back.json["settings"]}["threads"] == "default"

    events = api.get("/api/v1/events?kind=settings").json["events"]
    assert [(e["outcome"], e["message"], e["actor"]) for e in reversed(events)] == [
        ("succeeded", "host settings changed: threads, stop_wait, limits, apps", "test-admin"),
        ("failed", "host settings refused: apps, listen, threads", "test-admin"),
        ("succeeded", "host settings changed: threads, apps", "test-admin"),
    ]


def test_releases_backups_and_restoring_one(api: Any, packages: Any) -> None:
    api.install(packages.hello("1.0.0"))
    api.install(packages.hello("1.1.0"))
    listed = api.get("/api/v1/apps/hello/releases")
    assert listed.status_int == 200, listed.text
    releases = listed.json["releases"]
    assert [(r["version"], r["current"], r["previous"]) for r in releases] == [
        ("1.1.0", True, False),
        ("1.0.0", False, True),
    ]
    assert releases[0]["package_file"] == packages.hello("1.1.0").name
    assert len(releases[0]["package_sha256"]) == 64 and releases[0]["id"].endswith(
        releases[0]["package_sha256"][:12]
    )
    assert all(r["size"] > 0 and r["installed_at"].endswith("Z") for r in releases)
    assert api.get("/api/v1/apps/nothing-here/releases").status_int == 404

    config = "/api/v1/apps/hello/config"
    api.app.patch_json(config, {"values": {"greeting": "Before"}}, headers=api.headers("deployer"))
    made = api.wait(api.app.post("/api/v1/apps/hello/backup", headers=api.headers("deployer")).json)
    api.app.patch_json(config, {"values": {"greeting": "After"}}, headers=api.headers("deployer"))

    backups = api.get("/api/v1/apps/hello/backups").json["backups"]
    archive = Path(made["result"]["archive"]).name
    assert backups[0] == {
        "name": archive, "size": made["result"]["size"], "created": backups[0]["created"], "version": "1.1.0",
        "reason": "manual", "data_version": 0, "to_version": None,
    }  # fmt: skip
    assert str(api.data_dir) not in api.get("/api/v1/apps/hello/backups").text

    assert api.post_json("/api/v1/apps/hello/restore", {"backup": archive}, role="deployer").status_int == 403
    unknown = api.post_json("/api/v1/apps/hello/restore", {"backup": "../../host.yaml"}, role="admin")
    assert unknown.status_int == 404, unknown.text
    assert archive in unknown.json["error"]["message"], "the app's backups are named"
    wrong = api.post_json("/api/v1/apps/hello/restore", {"backup": 1, "keep": True}, role="admin")
    assert wrong.status_int == 422 and {e["field"] for e in wrong.json["errors"]} == {"backup", "keep"}

    accepted = api.post_json("/api/v1/apps/hello/restore", {"backup": archive}, role="admin")
    assert accepted.status_int == 202, accepted.text
    job = api.wait(accepted.json)
    assert job["state"] == "succeeded", job
    assert (job["kind"], job["result"]["backup_version"]) == ("restore", "1.1.0")
    assert api.get(config).json["values"]["greeting"] == "Before"
    (event,) = api.get("/api/v1/events?kind=restore").json["events"]
    assert event["message"] == f"hello restored from {archive} (made by 1.1.0)"


def test_the_output_of_a_process(api: Any, packages: Any) -> None:
    api.install(packages.hello(hooks="hooks:\n  install: hello.commands:greet\n"))
    log = api.get("/api/v1/apps/hello/processes/hooks/log", role="deployer")
    assert log.status_int == 200, log.text
    assert log.json["process"] == "hooks"
    (hooks,) = log.json["logs"]
    assert hooks["process"] == "hooks" and hooks["lines"], "the install hook's output"
    two = api.get("/api/v1/apps/hello/processes/hooks/log?lines=2", role="deployer").json["logs"][0]["lines"]
    assert two == hooks["lines"][-2:]

    assert api.get("/api/v1/apps/hello/processes/hooks/log").status_int == 403, "a viewer may not read it"
    unknown = api.get("/api/v1/apps/hello/processes/queue/log", role="deployer")
    assert unknown.status_int == 404, unknown.text
    assert unknown.json["error"]["known"] == ["hooks"]
    assert "hello has no process 'queue' with a log (known: hooks)" in unknown.json["error"]["message"]
    assert api.get("/api/v1/apps/hello/processes/hooks/log?lines=1001", role="deployer").status_int == 400
    assert api.get("/api/v1/apps/nothing-here/processes/web/log", role="deployer").status_int == 404


def test_reload_says_when_the_runtime_runs_no_processes(api: Any, packages: Any) -> None:
    api.install(packages.hello())
    assert api.post_json("/api/v1/apps/hello/reload", None, role="viewer").status_int == 403
    refused = api.post_json("/api/v1/apps/hello/reload", None)
    assert refused.status_int == 501, refused.text
    assert "cannot reload app processes" in refused.json["error"]["message"]
    assert api.post_json("/api/v1/apps/nothing-here/reload", None).status_int == 404


def test_the_web_server_when_none_is_set(api: Any) -> None:
    web = api.get("/api/v1/web")
    assert web.status_int == 200, web.text
    assert (web.json["setting"], web.json["kind"], web.json["running"]) == ("none", None, False)
    assert (web.json["vhosts"], web.json["mounts"]) == (0, 0)
    assert api.post_json("/api/v1/web/apply", None, role="deployer").status_int == 403
    applied = api.post_json("/api/v1/web/apply", None, role="admin")
    assert applied.status_int == 200 and applied.json["running"] is False
    started = api.post_json("/api/v1/web/start", None, role="admin")
    assert started.status_int == 409, started.text
    assert started.json["error"]["code"] == "no-web-server"
    assert "no web server serves the routes (the setting is none)" in started.json["error"]["message"]
