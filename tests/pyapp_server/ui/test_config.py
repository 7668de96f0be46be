"""The configuration and services forms of the web interface, under WebTest: a widget for each field
type, the spec's limits as HTML attributes, every problem beside its field with nothing saved, a
confirmation before saving, and secrets that never reach a page."""

from __future__ import annotations

import re
from typing import Any

import pytest

FIELDS = """\
  api_key:
    type: secret
    label: API key
    help: The key of the mail service.
    generate: false
  port:
    type: port
    default: 8025
  ratio:
    type: number
    min: 0
    max: 1
  retries:
    type: integer
    min: 0
    max: 10
  debug:
    type: boolean
    default: false
  mode:
    type: choice
    choices: [fast, safe, {value: 3, label: Three}]
    default: safe
  channels:
    type: multichoice
    choices: [mail, sms, push]
    widget: checkboxes
  admin_email:
    type: email
  homepage:
    type: url
    schemes: [https]
  smtp_host:
    type: hostname
  motd:
    type: text
    max_length: 200
  allowed_hosts:
    type: list
    items: hostname
  sizes:
    type: list
    items: integer
"""
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def app(ui: Any, packages: Any) -> Any:
    ui.install(packages.hello("1.0.0", fields=FIELDS))
    return ui


def field_html(page: Any, name: str) -> str:
    """The markup of the form field *name* (its ``div.field``)."""
    other = r'(?:(?!<div class="field).)'
    found = re.search(rf'<div class="field[^"]*">{other}*?name="{name}"{other}*', page.text, re.S)
    assert found, f"no field {name}"
    return found.group(0)


def stored(app: Any) -> dict[str, Any]:
    return dict(app.services.apps.host().config("hello", show_secrets=True).values)


def test_each_field_gets_its_widget_and_the_specs_limits(app: Any) -> None:
    page = app.signed_in("deployer").get("/apps/hello/config")
    greeting = field_html(page, "greeting")
    assert (
        'type="text"' in greeting
        and 'maxlength="40"' in greeting
        and 'pattern="[A-Za-z ,!&#39;]+"' in greeting
    )
    # Required, but with a default: left empty (unset), it takes the default, which is shown.
    assert "required" not in greeting
    assert 'value=""' in greeting and "Default: <code>Hello</code>" in greeting
    assert '<label for="f-greeting">Greeting' in greeting
    assert "The word the page starts with." in greeting
    port = field_html(page, "port")
    assert 'type="number"' in port and 'min="1"' in port and 'max="65535"' in port and 'step="1"' in port
    assert "Default: <code>8025</code>" in port
    ratio = field_html(page, "ratio")
    assert 'min="0"' in ratio and 'max="1"' in ratio and 'step="any"' in ratio
    assert 'type="checkbox"' in field_html(page, "debug")
    mode = field_html(page, "mode")
    assert "<select" in mode and '<option value="1" selected>safe</option>' in mode and ">Three<" in mode
    assert mode.count('type="checkbox"') == 0
    assert field_html(page, "channels").count('type="checkbox"') == 3
    assert 'type="email"' in field_html(page, "admin_email")
    assert 'type="url"' in field_html(page, "homepage")
    assert "<textarea" in field_html(page, "motd") and 'maxlength="200"' in field_html(page, "motd")
    assert "One item per line" in field_html(page, "allowed_hosts")
    secret = field_html(page, "api_key")
    assert 'type="password"' in secret and "value=" not in secret and "No value is set" in secret
    labels = re.findall(r'<label for="([^"]+)"', page.text)
    for control in re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', page.text):
        assert control in labels, f"{control} has no label"


def test_invalid_values_come_back_beside_their_fields_and_nothing_is_saved(app: Any) -> None:
    before = stored(app)
    browser = app.signed_in("deployer")
    form = browser.get("/apps/hello/config").forms[1]
    form["greeting"] = "Hi 123"
    form["ratio"] = "2"
    form["retries"] = "three"
    form["admin_email"] = "nobody"
    form["homepage"] = "http://example.org/"
    form["sizes"] = "1\nbig"
    form["api_key"] = SECRET
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 422
    errors = {name: field_html(refused, name) for name in ("greeting", "ratio", "retries", "admin_email",
                                                           "homepage", "sizes")}  # fmt: skip
    assert "does not match the pattern" in errors["greeting"]
    assert "more than the maximum 1" in errors["ratio"]
    assert "is not a whole number" in errors["retries"]
    assert "is not an e-mail address" in errors["admin_email"]
    assert "must be one of https" in errors["homepage"]
    assert "is not a whole number" in errors["sizes"]
    for html in errors.values():
        assert 'aria-invalid="true"' in html and 'class="field-error"' in html
    assert 'value="Hi 123"' in errors["greeting"]  # what was typed is kept
    assert SECRET not in refused.text
    assert "field-error" not in field_html(refused, "port")
    assert stored(app) == before


def test_a_valid_change_is_confirmed_side_by_side_then_saved_and_a_secret_is_kept_when_left_empty(
    app: Any,
) -> None:
    browser = app.signed_in("deployer")
    form = browser.get("/apps/hello/config").forms[1]
    form["greeting"] = "Howdy"
    form["api_key"] = SECRET
    form["allowed_hosts"] = "example.org\r\nwww.example.org\r\n"
    form["channels"] = ["0", "2"]
    form["mode"] = "2"
    confirm = form.submit()
    assert confirm.status_int == 200 and "Save the configuration of hello?" in confirm.text
    rows = re.findall(r"<tr><th scope=\"row\".*?</tr>", confirm.text, re.S)
    assert len(rows) == 5
    assert any("Hello" in r and "Howdy" in r for r in rows)
    assert any("API key" in r and "********" in r for r in rows)
    assert "greeting: Howdy" in confirm.text and "api_key: &#39;********&#39;" in confirm.text
    assert SECRET not in confirm.text
    assert stored(app).get("greeting") is None  # not set yet: the default applies

    saved = confirm.forms[1].submit()
    assert saved.status_int == 303
    page = saved.follow()
    assert "The configuration of hello was saved" in page.text
    values = stored(app)
    assert values["greeting"] == "Howdy" and values["api_key"] == SECRET and values["mode"] == 3
    assert values["allowed_hosts"] == ["example.org", "www.example.org"] and values["channels"] == [
        "mail",
        "push",
    ]
    again = confirm.forms[1].submit().follow()  # the same change twice: it was taken
    assert "has expired or was saved already" in again.text

    form = browser.get("/apps/hello/config").forms[1]
    assert "A value is set" in field_html(form.response, "api_key")
    form["greeting"] = "Hey"
    confirm = form.submit()
    assert not any("API key" in r for r in re.findall(r"<tr><th scope=\"row\".*?</tr>", confirm.text, re.S))
    confirm.forms[1].submit()
    assert stored(app)["api_key"] == SECRET and stored(app)["greeting"] == "Hey"
    for path in ("/apps/hello", "/apps/hello/config", "/events", "/"):
        assert SECRET not in browser.get(path).text
    assert "nothing" not in app.services.events.list(kind="config", limit=1)[0].message


def test_an_unchanged_form_saves_nothing(app: Any) -> None:
    browser = app.signed_in("deployer")
    page = browser.get("/apps/hello/config").forms[1].submit()
    assert page.status_int == 200 and "Nothing was changed" in page.text
    assert not app.services.events.list(kind="config")


def test_services_are_masked_and_confirmed(ui: Any, packages: Any) -> None:
    hooks = (
        "services:\n  cache:\n    type: redis\n    required: false\n    summary: Where sessions are kept.\n"
    )
    ui.install(packages.hello("1.0.0", hooks=hooks))
    browser = ui.signed_in("deployer")
    page = browser.get("/apps/hello/services")
    assert "Where sessions are kept." in page.text and 'type="password"' in page.text
    form = page.forms[1]
    form["set-cache"] = "redis://:hunter2@127.0.0.1:6379/0"
    confirm = form.submit()
    assert "redis://:****@127.0.0.1:6379/0" in confirm.text and "hunter2" not in confirm.text
    shown = confirm.forms[1].submit().follow()
    assert "The services of hello were saved" in shown.text
    assert "redis://:****@127.0.0.1:6379/0" in shown.text and "hunter2" not in shown.text
    form = shown.forms[1]
    form["set-cache"] = "not a url"
    refused = form.submit().forms[1].submit(expect_errors=True)
    assert refused.status_int == 422 and 'id="cache-error"' in refused.text
    assert "hunter2" not in refused.text and "not a url" not in refused.text
