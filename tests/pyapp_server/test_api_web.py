"""Virtual hosts and mounts through the JSON API (every response checked against openapi.json).

The host has no web server here (the default setting ``none``): the routes are stored and
reported; serving them through nginx is tested with the command line (tests/pyapp_tools).
"""

from __future__ import annotations

from typing import Any


def put(api: Any, path: str, body: Any, role: str = "deployer") -> Any:
    return api.app.put_json(path, body, headers=api.headers(role), expect_errors=True)


def delete(api: Any, path: str, role: str = "deployer") -> Any:
    return api.app.delete(path, headers=api.headers(role), expect_errors=True)


def test_vhosts_and_mounts_through_the_api(api: Any, packages: Any) -> None:
    listed = api.get("/api/v1/vhosts").json
    assert listed["vhosts"] == [] and listed["mounts"] == []
    assert listed["server"]["setting"] == "none" and listed["server"]["running"] is False

    vhost = {"name": "main", "port": 18080, "server_names": ["example.test"]}
    assert api.post_json("/api/v1/vhosts", vhost, role="deployer").status_int == 403
    added = api.post_json("/api/v1/vhosts", vhost, role="admin")
    assert added.status_int == 200, added.text
    assert added.json["vhost"]["url"] == "http://example.test:18080/"

    api.install(packages.hello())
    mounted = put(api, "/api/v1/apps/hello/mount", {"vhost": "main", "prefix": "/hello/"})
    assert mounted.status_int == 200, mounted.text
    mount = mounted.json["mount"]
    assert (mount["prefix"], mount["url"]) == ("/hello", "http://example.test:18080/hello/")
    assert mount["upstream"].startswith("unix:/") and mount["upstream"].endswith("/web.sock")
    assert api.get("/api/v1/vhosts").json["vhosts"][0]["mounts"] == ["hello"]

    # Mount conflicts and bad prefixes are refused, naming what is wrong.
    refused = api.post_json("/api/v1/vhosts", {"name": "main", "port": 0}, role="admin")
    assert refused.status_int == 422 and refused.json["errors"][0]["path"].endswith("/vhosts/main/port")
    bad = put(api, "/api/v1/apps/hello/mount", {"vhost": "main", "prefix": "/a b"})
    assert bad.status_int == 422 and bad.json["error"]["code"] == "invalid-route"
    missing = put(api, "/api/v1/apps/hello/mount", {"vhost": "nope", "prefix": "/x"})
    assert missing.status_int == 422 and "there is no virtual host 'nope'" in missing.json["error"]["message"]
    incomplete = put(api, "/api/v1/apps/hello/mount", {"prefix": "/x", "extra": 1})
    assert incomplete.status_int == 422
    assert {e["field"] for e in incomplete.json["errors"]} == {"vhost", "extra"}
    assert put(api, "/api/v1/apps/nope/mount", {"vhost": "main", "prefix": "/x"}).status_int == 404
    assert (
        put(api, "/api/v1/apps/hello/mount", {"vhost": "main", "prefix": "/x"}, role="viewer").status_int
        == 403
    )

    in_use = delete(api, "/api/v1/vhosts/main", role="admin")
    assert in_use.status_int == 422 and "still serves hello" in in_use.json["error"]["message"]
    assert delete(api, "/api/v1/vhosts/nope", role="admin").status_int == 404

    assert delete(api, "/api/v1/apps/hello/mount").json["mount"]["prefix"] == "/hello"
    assert delete(api, "/api/v1/apps/hello/mount").status_int == 404
    assert delete(api, "/api/v1/vhosts/main", role="admin").json["action"] == "vhost-remove"
    assert api.get("/api/v1/vhosts").json["vhosts"] == []


def test_a_mount_conflict_answers_409_with_the_holder(api: Any, packages: Any) -> None:
    api.install(packages.hello())
    api.post_json("/api/v1/vhosts", {"name": "main", "port": 18081}, role="admin")
    assert put(api, "/api/v1/apps/hello/mount", {"vhost": "main", "prefix": "/"}).status_int == 200
    # A second vhost on the same port needs names of its own; the default host is taken.
    taken = api.post_json("/api/v1/vhosts", {"name": "second", "port": 18081}, role="admin")
    assert taken.status_int == 422 and "already the default host" in taken.json["error"]["message"]

    api.install(_renamed(api, packages, "world"))
    conflict = put(api, "/api/v1/apps/world/mount", {"vhost": "main", "prefix": "/"})
    assert conflict.status_int == 409, conflict.text
    assert conflict.json["error"]["code"] == "mount-conflict"
    assert conflict.json["error"]["holder"] == "hello"
    assert "'hello' is already mounted at /" in conflict.json["error"]["message"]
    assert put(api, "/api/v1/apps/world/mount", {"vhost": "main", "prefix": "/world"}).status_int == 200

    # Removing an app takes its mount with it.
    job = api.wait(delete(api, "/api/v1/apps/world", role="admin").json)
    assert job["state"] == "succeeded", job
    assert [m["app"] for m in api.get("/api/v1/vhosts").json["mounts"]] == ["hello"]
    events = api.get("/api/v1/events").json
    assert any(e["kind"] == "mount" and e["app"] == "world" for e in events["events"])


def _renamed(api: Any, packages: Any, name: str) -> Any:
    """The hello package under another app name."""
    import zipfile

    from apppackage.record import render_record

    source = packages.hello()
    target = source.with_name(f"{name}-1.0.0.pyapp")
    if not target.exists():
        with zipfile.ZipFile(source) as zf:
            files = {n: zf.read(n) for n in zf.namelist() if n != "RECORD"}
        files["metadata.yaml"] = files["metadata.yaml"].replace(b"name: hello", f"name: {name}".encode())
        files["RECORD"] = render_record(files).encode()
        with zipfile.ZipFile(target, "w") as zf:
            for n in sorted(files):
                zf.writestr(n, files[n])
    return target
