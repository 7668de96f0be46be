"""The web interface in a real browser (Debian's Chromium, driven by Playwright) against a real
pyapp-server running apps' processes behind nginx: what a person does, with the mouse and with the
keyboard alone, each page saved as a screenshot at 1280 and 390 pixels wide.
"""

from __future__ import annotations

import base64
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import free_port, wait_until

pytestmark = pytest.mark.slow

WIDTHS = (1280, 390)
LONG = 120_000
"""How long the browser waits for a job (ms): a generous deadline, never a measure."""


@pytest.fixture
def page(chromium: Any, console: Any) -> Iterator[Any]:
    """A page of a browser context of its own (no cookies yet), 1280 pixels wide."""
    context = chromium.new_context(viewport={"width": WIDTHS[0], "height": 900}, base_url=console.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    csp = [e for e in errors if "Content Security Policy" in e or "Refused to" in e]
    assert not csp, csp


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter(e => e.type !== 'hidden')
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                 && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
    .map(e => e.outerHTML.slice(0, 120))"""


def shoot(page: Any, folder: Path, name: str) -> None:
    """Save *page* at each width; at each, nothing may stick out sideways. Every control of the page has a
    label (its name for a screen reader)."""
    assert page.evaluate(UNLABELLED) == [], f"controls of {name} without a label"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide in a {width} px window"
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def nav(page: Any, section: str) -> None:
    """Go to *section* with the header's links."""
    page.get_by_role("navigation", name="Sections").get_by_role("link", name=section, exact=True).click()


def sign_in(page: Any, token: str) -> None:
    page.goto("/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def job_done(page: Any) -> str:
    """Wait on a job's page until the job ends (the page follows it by itself); its state."""
    page.wait_for_url("**/jobs/*")
    state = page.locator("#job-state")
    # An end state only: "queued" ends in "ed" too.
    state.filter(has_text=re.compile(r"^\s*(succeeded|failed)\s*$")).wait_for(timeout=LONG)
    return str(state.inner_text()).strip()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_install_mount_configure_update_roll_back_and_sign_out(
    page: Any, console: Any, packages: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page.goto("/api/v1/")  # the address the server prints at start
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, screenshots, "signin")
    sign_in(page, console.token)
    expect(page.get_by_text("No app is installed yet")).to_be_visible()

    # Install with the upload form: the progress bar, then the job's page following the job.
    nav(page, "Install")
    shoot(page, screenshots, "install")
    page.get_by_label("Package (.pyapp)").set_input_files(str(packages.hello("1.0.0")))
    page.get_by_role("button", name="Upload and install").click()
    assert job_done(page) == "succeeded"
    expect(page.locator("#job-log")).to_contain_text("hello 1.0.0")
    shoot(page, screenshots, "job")

    # The dashboard lists the app with its processes, and follows their states by itself.
    nav(page, "Apps")
    row = page.locator('tr[data-app="hello"]')
    expect(row).to_contain_text("1.0.0")
    expect(row.locator(".state").first).to_have_text("running", timeout=LONG)
    shoot(page, screenshots, "dashboard")
    console.api("POST", "/api/v1/apps/hello/stop")  # someone else stops it
    expect(row.locator("td[data-label=State] .state")).to_have_text("stopped", timeout=30_000)
    page.get_by_role("link", name="hello", exact=True).click()
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_text("hello started.")).to_be_visible()
    shoot(page, screenshots, "app")
    page.get_by_role("link", name="last lines of web").click()
    expect(page.get_by_role("heading", name="Output of web")).to_be_visible()
    shoot(page, screenshots, "process-log")
    page.go_back()

    # A virtual host and a mount, then the app through the web server.
    nav(page, "Web")
    port = free_port()
    page.get_by_label("Name", exact=True).fill("main")
    page.get_by_label("Port", exact=True).fill(str(port))
    page.get_by_role("button", name="Add the virtual host").click()
    expect(page.get_by_text(f"serves http://127.0.0.1:{port}/")).to_be_visible()
    page.get_by_label("Path").fill("/hello")
    page.get_by_role("button", name="Mount", exact=True).click()
    expect(page.get_by_text("hello is mounted at")).to_be_visible()
    shoot(page, screenshots, "web")
    mounted = f"http://127.0.0.1:{port}/hello/"
    if console.web_server:
        wait_until(lambda: "Hello from hello 1.0.0" in get(mounted), "hello through nginx")

    # An invalid value comes back beside its field and nothing is saved; a valid one is confirmed first.
    page.goto("/apps/hello/config")
    shoot(page, screenshots, "config")
    page.get_by_label("Greeting").fill("Hi 123")
    # Past the browser's own check of the pattern, to the server's.
    page.get_by_label("Greeting").evaluate("input => input.form.noValidate = true")
    page.get_by_role("button", name="Review the changes").click()
    field = page.locator(".field", has=page.get_by_label("Greeting"))
    expect(field.locator(".field-error")).to_contain_text("does not match the pattern")
    assert "greeting" not in console.api("GET", "/api/v1/apps/hello/config")["values"]  # still its default
    page.get_by_label("Greeting").fill("Howdy")
    page.get_by_role("button", name="Review the changes").click()
    expect(page.locator("pre.file")).to_contain_text("greeting: Howdy")
    shoot(page, screenshots, "config-confirm")
    page.get_by_role("button", name="Save; hello then reads it").click()
    expect(page.get_by_text("The configuration of hello was saved (changed: greeting).")).to_be_visible()
    if console.web_server:
        wait_until(lambda: "Howdy from hello 1.0.0" in get(mounted), "the new greeting through nginx")
        page.goto(mounted)
        expect(page.get_by_role("heading", name="Howdy from hello 1.0.0")).to_be_visible()
    page.goto("/apps/hello/services")
    shoot(page, screenshots, "services")

    # An update dropped on the app's page, then a rollback to the release before.
    page.goto("/apps/hello")
    update = packages.hello("1.1.0")
    data = base64.b64encode(update.read_bytes()).decode()
    dropped = page.evaluate_handle(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name));
            return transfer;
        }""",
        [update.name, data],
    )
    page.dispatch_event(".drop-zone", "drop", {"dataTransfer": dropped})
    expect(page.get_by_text("hello-1.1.0.pyapp is ready to upload.")).to_be_visible()
    page.get_by_role("button", name="Upload and install").click()
    assert job_done(page) == "succeeded"
    page.get_by_role("link", name="Go to hello").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("hello 1.1.0")
    page.get_by_role("button", name="Roll back to 1.0.0").click()
    assert job_done(page) == "succeeded"
    page.get_by_role("link", name="Go to hello").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("hello 1.0.0")
    if console.web_server:
        wait_until(lambda: "Howdy from hello 1.0.0" in get(mounted), "the rolled back release through nginx")

    nav(page, "Jobs")
    expect(page.locator("tbody tr")).to_have_count(3)  # install, update, rollback
    shoot(page, screenshots, "jobs")
    nav(page, "Events")
    page.get_by_label("Kind").select_option("rollback")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".event")).to_have_count(1)
    shoot(page, screenshots, "events")
    nav(page, "Host")
    expect(page.get_by_label("web_server")).to_have_value(console.web_server or "none")
    shoot(page, screenshots, "host")
    nav(page, "Tokens")
    shoot(page, screenshots, "tokens")
    page.goto("/apps/hello/remove")
    shoot(page, screenshots, "remove")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/apps/hello")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def tab_to(page: Any, selector: str, text: str | None = None, most: int = 80) -> None:
    """Press Tab until the focus is on *selector* (whose text is *text*, if given); the focus must show."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "([s, t]) => document.activeElement.matches(s)"
            " && (t === null || document.activeElement.textContent.trim() === t)",
            [selector, text],
        )
        if focused:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("none", ""), f"the focus on {selector} does not show"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_token_is_made_and_revoked_with_the_keyboard_alone(page: Any, console: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/signin")
    # The token field has the focus (autofocus) once the window has it; else Tab reaches it.
    if not page.evaluate("document.activeElement !== null && document.activeElement.id === 'token'"):
        tab_to(page, "#token")
    page.keyboard.type(console.token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    tab_to(page, 'a[href="/tokens"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/tokens")
    tab_to(page, "#token-name")
    page.keyboard.type("keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # viewer -> deployer
    tab_to(page, "button.primary")
    page.keyboard.press("Enter")
    secret = page.locator("#new-secret")
    expect(secret).to_have_value(re.compile(r"^pyapp_"))
    made = secret.input_value()
    expect(page.locator("tbody")).to_contain_text("deployer")
    tab_to(page, "button", "Revoke keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Token keyboard (deployer) was revoked.")).to_be_visible()
    assert made not in page.content()
    tab_to(page, "header button")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
