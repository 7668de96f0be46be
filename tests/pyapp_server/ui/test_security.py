"""Signing in and out, sessions, CSRF, roles and headers of the web interface, under WebTest."""

from __future__ import annotations

import re
import stat
from typing import Any

import pytest

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=", re.I)


@pytest.fixture
def hello(ui: Any, packages: Any) -> Any:
    ui.install(packages.hello())
    return ui


def test_a_browser_signs_in_with_a_token_and_is_sent_where_it_was_going(ui: Any) -> None:
    browser = ui.browser()
    asked = browser.get("/events?kind=install")
    assert asked.status_int == 303
    assert asked.headers["Location"].endswith("/signin?next=%2Fevents%3Fkind%3Dinstall")
    form = asked.follow().forms[0]
    form["token"] = "pyapp_not-a-token"
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 403
    assert "That is not a valid token" in refused.text
    assert "pyapp_not-a-token" not in refused.text
    assert browser.get("/", expect_errors=True).status_int == 303

    form = refused.forms[0]
    form["token"] = ui.secrets["viewer"]
    signed = form.submit()
    assert signed.status_int == 303 and signed.headers["Location"].endswith("/events?kind=install")
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("pyapp=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "secure" not in cookie.lower()
    assert ui.secrets["viewer"] not in cookie
    page = signed.follow()
    assert page.status_int == 200 and "test-viewer" in page.text
    event = ui.services.events.list(kind="session", limit=1)[0]
    assert event.actor == "test-viewer" and "signed in" in event.message


def test_signing_in_never_leads_off_the_server(ui: Any) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        browser = ui.browser()
        form = browser.get("/signin", params={"next": target}).forms[0]
        form["token"] = ui.secrets["admin"]
        assert form.submit().headers["Location"] == "http://localhost/"


def test_signing_out_ends_the_session_on_the_server_and_a_revoked_token_ends_its_own(ui: Any) -> None:
    browser = ui.signed_in("deployer")
    kept = browser.cookies["pyapp"]
    page = browser.get("/")
    signed_out = page.forms[0].submit()  # the sign-out button in the header
    assert signed_out.status_int == 303
    assert "You are signed out" in signed_out.follow().text
    replay = ui.browser()
    replay.set_cookie("pyapp", kept)
    assert replay.get("/", expect_errors=True).status_int == 303  # the old cookie is worth nothing now

    admin = ui.signed_in("admin")
    viewer = ui.signed_in("viewer")
    assert viewer.get("/").status_int == 200
    tokens = admin.get("/tokens")
    revoke = next(f for f in tokens.forms.values() if "Revoke test-viewer" in f.text)
    assert "was revoked" in revoke.submit().follow().text
    assert viewer.get("/", expect_errors=True).status_int == 303


def test_the_session_secret_is_made_once_and_kept_private(ui: Any, make_ui: Any) -> None:
    secret = ui.data_dir / "server" / "session-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) == 64


def test_with_tls_the_cookie_is_secure_and_bound_to_the_host(make_ui: Any, tmp_path: Any) -> None:
    ui = make_ui(tls_cert=str(tmp_path / "cert.pem"), tls_key=str(tmp_path / "key.pem"))
    browser = ui.browser()
    browser.extra_environ = {"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443"}
    form = browser.get("https://localhost/signin").forms[0]
    form["token"] = ui.secrets["admin"]
    signed = form.submit(headers={"Origin": "https://localhost"})
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("__Host-pyapp=") and "secure" in cookie.lower() and "HttpOnly" in cookie


def test_a_form_without_its_csrf_token_or_with_another_sessions_changes_nothing(hello: Any) -> None:
    deployer = hello.signed_in("deployer")
    other = hello.signed_in("deployer")
    jobs = len(hello.services.jobs.list())
    missing = deployer.post("/apps/hello/backup", {}, expect_errors=True)
    assert missing.status_int == 400 and "Form expired" in missing.text
    foreign = deployer.post(
        "/apps/hello/backup", {"csrf_token": hello.csrf(other.get("/"))}, expect_errors=True
    )
    assert foreign.status_int == 400
    assert len(hello.services.jobs.list()) == jobs
    made = deployer.post("/apps/hello/backup", {"csrf_token": hello.csrf(deployer.get("/"))})
    assert made.status_int == 303 and "/jobs/" in made.headers["Location"]


def test_a_viewers_forged_post_is_refused_even_with_a_valid_csrf_token(hello: Any, packages: Any) -> None:
    viewer = hello.signed_in("viewer")
    token = hello.csrf(viewer.get("/"))
    events = len(hello.services.events.list())
    for path, fields in (
        ("/apps/hello/backup", {}),
        ("/apps/hello/stop", {}),
        ("/apps/hello/config", {"greeting": "Hijacked"}),
        ("/apps/hello/remove", {"keep_data": "true"}),
        ("/tokens", {"name": "mine", "role": "admin"}),
        ("/web/vhosts", {"name": "evil", "port": "8080"}),
        ("/host", {"web_server": "nginx"}),
    ):
        refused = viewer.post(path, {"csrf_token": token, **fields}, expect_errors=True)
        assert refused.status_int == 403, path
        assert "whose role is viewer" in refused.text and "Nothing was done" in refused.text
    upload = viewer.post(
        "/install",
        {"csrf_token": token},
        upload_files=[("package", "hello.pyapp", packages.hello().read_bytes())],
        expect_errors=True,
    )
    assert upload.status_int == 403 and "whose role is viewer" in upload.text
    assert not list((hello.data_dir / "server" / "uploads").glob("*/*"))
    assert len(hello.services.events.list()) == events
    assert "greeting" not in hello.services.apps.config("hello")["values"]  # still its default
    assert [t.name for t in hello.services.tokens.list()] == ["test-viewer", "test-deployer", "test-admin"]


def test_signed_out_posts_are_refused_before_their_body_is_read(hello: Any, packages: Any) -> None:
    browser = hello.browser()
    token = hello.csrf(browser.get("/signin"))
    refused = browser.post(
        "/install",
        {"csrf_token": token},
        upload_files=[("package", "hello.pyapp", packages.hello().read_bytes())],
        expect_errors=True,
    )
    assert refused.status_int == 401 and "Sign in" in refused.text
    assert refused.content_type == "text/html"


def test_pages_carry_a_strict_content_security_policy_and_no_inline_script(hello: Any) -> None:
    admin = hello.signed_in("admin")
    app = ("/apps/hello", "/apps/hello/config", "/apps/hello/services", "/apps/hello/remove")
    pages = ("/", *app, "/install", "/jobs", "/events", "/web", "/host", "/tokens", "/signin", "/nowhere")
    for path in pages:
        page = admin.get(path, expect_errors=True)
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        assert not INLINE_SCRIPT.search(page.text), path
    missing = admin.get("/nowhere", expect_errors=True)
    assert missing.status_int == 404 and "There is no page at /nowhere" in missing.text
    assert admin.get("/static/ui.css").headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_keeps_its_tokens_and_sends_browsers_to_the_web_interface(hello: Any) -> None:
    browser = hello.signed_in("admin")
    refused = browser.get("/api/v1/apps", expect_errors=True)
    assert refused.status_int == 401 and refused.json["error"]["code"] == "unauthorized"
    assert browser.post("/api/v1/apps/hello/backup", expect_errors=True).status_int == 401
    for path in ("/api/v1/", "/api/v1"):
        sent = browser.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert sent.status_int == 303 and sent.headers["Location"] == "http://localhost/"
        index = browser.get(path, headers={"Accept": "application/json"})
        assert index.json["web_interface"] == "/" and index.json["openapi"] == "/api/v1/openapi.json"
    api = browser.get("/api/v1/apps", headers={"Authorization": f"Bearer {hello.secrets['viewer']}"})
    assert [a["name"] for a in api.json["apps"]] == ["hello"]


def test_every_change_needs_the_csrf_token_and_the_role_the_api_needs(ui: Any) -> None:
    needs = {}
    for item in ui.wsgi.registry.introspector.get_category("views"):
        view = item["introspectable"]
        route, methods = view["route_name"] or "", view["request_methods"] or ()
        methods = {methods} if isinstance(methods, str) else set(methods)
        if route.startswith("ui.") and methods - {"GET", "HEAD"}:
            assert view["require_csrf"] is True, route
            needs[route] = next(r["value"] for r in item["related"] if r.category_name == "permissions")
    anyone = "__no_permission_required__"
    assert needs == {
        "ui.signin": anyone, "ui.signout": anyone,
        "ui.app_control": "deploy", "ui.backup": "deploy", "ui.rollback": "deploy", "ui.update": "deploy",
        "ui.config": "deploy", "ui.config_save": "deploy", "ui.services": "deploy",
        "ui.services_save": "deploy", "ui.install": "deploy", "ui.mounts": "deploy", "ui.unmount": "deploy",
        "ui.restore": "admin", "ui.remove": "admin", "ui.web_control": "admin", "ui.vhosts": "admin",
        "ui.vhost_remove": "admin", "ui.host": "admin", "ui.tokens": "admin", "ui.token_revoke": "admin",
    }  # fmt: skip
