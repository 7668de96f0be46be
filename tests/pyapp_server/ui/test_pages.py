"""Every page of the web interface for each role, under WebTest: what each role is shown and offered."""

from __future__ import annotations

from typing import Any

import pytest

PAGES = (
    "/",
    "/apps/hello",
    "/apps/hello/config",
    "/apps/hello/services",
    "/jobs",
    "/events",
    "/web",
    "/host",
)


@pytest.fixture
def hello(ui: Any, packages: Any) -> Any:
    ui.install(packages.hello())
    return ui


@pytest.mark.parametrize("role", ["viewer", "deployer", "admin"])
def test_every_page_renders_for_each_role_with_what_it_may_do(hello: Any, role: str) -> None:
    browser = hello.signed_in(role)
    for path in PAGES:
        page = browser.get(path)
        assert page.status_int == 200, path
        assert page.content_type == "text/html"
        assert f'<span class="role">{role}</span>' in page.text
    app = browser.get("/apps/hello")
    assert "Hello" in browser.get("/apps/hello/config").text
    offers = {
        "deploy": 'action="/apps/hello/backup"' in app.text and 'action="/apps/hello/update"' in app.text,
        "admin": 'href="/apps/hello/remove"' in app.text,
    }
    assert offers == {"deploy": role != "viewer", "admin": role == "admin"}
    assert ('href="/install"' in app.text) is (role != "viewer")
    assert ('href="/tokens"' in app.text) is (role == "admin")
    config = browser.get("/apps/hello/config")
    assert ("Review the changes" in config.text) is (role != "viewer")
    assert ("Save the settings" in browser.get("/host").text) is (role == "admin")
    for path, allowed in (("/install", role != "viewer"), ("/tokens", role == "admin"),
                          ("/apps/hello/remove", role == "admin")):  # fmt: skip
        shown = browser.get(path, expect_errors=True)
        assert shown.status_int == (200 if allowed else 403), path
        if not allowed:
            assert f"whose role is {role}" in shown.text
