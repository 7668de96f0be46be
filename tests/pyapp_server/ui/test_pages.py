"""Every page of the web interface for each role, under WebTest: what each role is shown and offered."""

from __future__ import annotations

from typing import Any

import pytest
from testkit import stop_supervisord, wait_until

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


def test_a_process_output_is_shown_to_a_deployer_and_not_to_a_viewer(
    make_ui: Any, packages: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAPP_DAEMONS", "1")
    ui = make_ui()
    try:
        tasks = "tasks:\n  greet:\n    call: hello.commands:greet\n    every: 3600\n"
        ui.install(packages.hello(hooks=tasks))
        deployer = ui.signed_in("deployer")
        app = deployer.get("/apps/hello")
        assert 'href="/apps/hello/log?process=tasks"' in app.text
        assert 'href="/apps/hello/log?process=web"' in app.text

        def said() -> Any:
            page = deployer.get("/apps/hello/log?process=tasks&lines=20")
            return page if "hello 1.0.0: scheduling greet" in page.text else None

        page = wait_until(said, "the scheduler's output on the page")
        assert '<label for="lines">Lines</label>' in page.text
        missing = deployer.get("/apps/hello/log?process=nope", status=404)
        assert "web" in missing.text and "tasks" in missing.text  # the processes it has

        viewer = ui.signed_in("viewer")
        assert "/apps/hello/log" not in viewer.get("/apps/hello").text
        viewer.get("/apps/hello/log?process=web", status=403)
    finally:
        stop_supervisord(ui.data_dir / "supervisor")
