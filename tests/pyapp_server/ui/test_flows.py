"""What a signed-in person does in the web interface, under WebTest: install, update and roll back
through forms, follow a job, mount an app, make and revoke tokens, remove an app."""

from __future__ import annotations

import re
import shutil
from typing import Any


def form_(page: Any, action: str) -> Any:
    """The form of *page* that posts to *action*."""
    found = [f for f in page.forms.values() if f.action == action]
    assert found, f"no form posts to {action}"
    return found[0]


def upload(page: Any, package: Any) -> Any:
    form = next(f for f in page.forms.values() if "package" in f.fields)
    form["package"] = (package.name, package.read_bytes())
    return form.submit(expect_errors=True)


def test_install_update_and_roll_back_through_the_forms(ui: Any, packages: Any) -> None:
    browser = ui.signed_in("deployer")
    sent = upload(browser.get("/install"), packages.hello("1.0.0"))
    assert sent.status_int == 303 and "/jobs/" in sent.headers["Location"]
    job_id = sent.headers["Location"].rsplit("/", 1)[-1]
    ui.wait(job_id)
    job = browser.get(f"/jobs/{job_id}")
    assert "Install of hello" in job.text and "succeeded" in job.text and "hello 1.0.0" in job.text
    news = browser.get(f"/jobs/{job_id}/progress", params={"offset": 0, "wait": 15}).json
    assert news["done"] and news["state"] == "succeeded" and news["log"] == ui.services.jobs.get(job_id).log
    assert browser.get(f"/jobs/{job_id}/progress", params={"offset": news["offset"]}).json["log"] == ""

    listed = browser.get("/")
    assert re.search(r'data-app="hello".*?1\.0\.0', listed.text, re.S)
    assert listed.text == listed.text and "/live/apps" in listed.text
    assert 'data-app="hello"' in browser.get("/live/apps").text

    app = browser.get("/apps/hello")
    sent = upload(app, packages.hello("1.1.0"))
    assert sent.status_int == 303
    ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])
    app = browser.get("/apps/hello")
    assert '<h1>hello <span class="muted">1.1.0</span>' in app.text
    rollback = next(f for f in app.forms.values() if "Roll back to 1.0.0" in f.text)
    sent = rollback.submit()
    ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])
    assert '<h1>hello <span class="muted">1.0.0</span>' in browser.get("/apps/hello").text
    assert [e.kind for e in ui.services.events.list(app="hello", limit=3)] == [
        "rollback",
        "update",
        "install",
    ]

    wrong = upload(browser.get("/apps/hello"), packages.junk())
    assert wrong.status_int == 422 and 'class="note bad"' in wrong.text
    assert "<h1>hello" in wrong.text  # the app's page, with why


def test_a_refused_upload_says_why_on_the_install_page(ui: Any, packages: Any) -> None:
    browser = ui.signed_in("deployer")
    refused = upload(browser.get("/install"), packages.hostile())
    assert refused.status_int == 422
    assert "Install an app" in refused.text and 'role="alert"' in refused.text
    assert not ui.services.apps.list_apps()


def test_the_install_page_tells_what_the_drop_folder_did(make_ui: Any, packages: Any) -> None:
    ui = make_ui()
    drop = ui.services.drop
    drop.ensure()
    shutil.copyfile(packages.junk(), drop.path / "junk-1.0.pyapp")
    shutil.copyfile(packages.hello(), drop.path / "hello-1.0.0.pyapp")
    waiting = ui.signed_in("deployer").get("/install")
    assert "junk-1.0.pyapp" in waiting.text and "hello-1.0.0.pyapp" in waiting.text
    drop.poll()
    drop.poll()  # taken once seen twice the same
    for job in ui.services.jobs.list():
        ui.wait(job.id)
    page = ui.signed_in("deployer").get("/install")
    failed = page.text.split("<h3>Failed</h3>")[1].split("<h3>Installed</h3>")
    assert "junk-1.0.pyapp" in failed[0] and "hello-1.0.0.pyapp" in failed[1]
    assert str(ui.data_dir) not in page.text  # a deployer is not told the server's paths
    assert str(ui.data_dir) in ui.signed_in("admin").get("/install").text


def test_virtual_hosts_and_mounts_with_conflicts_shown_beside_the_path(ui: Any, packages: Any) -> None:
    ui.install(packages.hello())
    admin = ui.signed_in("admin")
    form = form_(admin.get("/web"), "/web/vhosts")
    form["name"] = "main"
    form["port"] = "18080"
    form["server_names"] = "example.test"
    added = form.submit()
    assert "serves http://example.test:18080/" in added.follow().text
    bad = form_(admin.get("/web"), "/web/vhosts")
    bad["name"] = "other"
    bad["port"] = "0"
    refused = bad.submit(expect_errors=True)
    assert refused.status_int == 422 and 'id="vhost-port-error"' in refused.text

    deployer = ui.signed_in("deployer")
    page = deployer.get("/web")
    assert "Add a virtual host" not in page.text  # an admin's
    form = form_(page, "/web/mounts")
    form["prefix"] = "/hello"
    mounted = form.submit().follow()
    assert "hello is mounted at http://example.test:18080/hello/" in mounted.text
    assert 'href="http://example.test:18080/hello/"' in deployer.get("/").text

    form = form_(deployer.get("/web"), "/web/mounts")
    form["prefix"] = "/a b"
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 422 and 'id="mount-prefix-error"' in refused.text

    unmount = next(f for f in deployer.get("/web").forms.values() if "Unmount hello" in f.text)
    assert "hello is no longer mounted" in unmount.submit().follow().text
    events = [(e.kind, e.outcome) for e in ui.services.events.list(limit=4) if e.kind in ("vhost", "mount")]
    assert ("mount", "succeeded") in events and ("mount", "failed") in events


def test_a_token_is_shown_once_and_revoked(ui: Any) -> None:
    admin = ui.signed_in("admin")
    form = form_(admin.get("/tokens"), "/tokens")
    form["name"] = "ci"
    form["role"] = "deployer"
    made = form.submit()
    assert made.status_int == 201
    secret = re.search(r'id="new-secret" readonly value="([^"]+)"', made.text).group(1)
    assert ui.services.tokens.authenticate(secret).name == "ci"
    listed = admin.get("/tokens")
    assert "ci" in listed.text and secret not in listed.text
    assert secret not in made.headers.get("Set-Cookie", "")
    ci = ui.browser()
    form = ci.get("/signin").forms[0]
    form["token"] = secret
    form.submit()
    assert ci.get("/install").status_int == 200
    revoke = next(f for f in listed.forms.values() if "Revoke ci" in f.text)
    revoke.submit()
    assert ui.services.tokens.authenticate(secret) is None
    assert ci.get("/install", expect_errors=True).status_int == 303
    form = form_(admin.get("/tokens"), "/tokens")
    form["name"] = " "
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400 and "field-error" in refused.text


def test_removing_asks_first_and_keeps_what_is_asked(ui: Any, packages: Any) -> None:
    ui.install(packages.hello())
    admin = ui.signed_in("admin")
    confirm = admin.get("/apps/hello").click(description="Remove hello")
    assert "Remove hello?" in confirm.text
    form = confirm.forms[1]
    assert form["keep_data"].checked and form["backup"].checked
    form["backup"].checked = False
    sent = form.submit()
    job = ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])
    assert job["state"] == "succeeded" and job["result"]["kept"]
    assert "No app is installed yet" in admin.get("/").text
    assert admin.get("/apps/hello", expect_errors=True).status_int == 404


def test_host_settings_are_changed_by_an_admin_and_a_bad_value_comes_back_beside_it(ui: Any) -> None:
    admin = ui.signed_in("admin")
    form = form_(admin.get("/host"), "/host")
    form["threads"] = "6"
    saved = form.submit().follow()
    assert "Host settings changed: threads." in saved.text
    assert 'id="h-threads" name="threads" value="6"' in saved.text
    form = form_(saved, "/host")
    form["ports"] = "9000-8000"
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 422 and 'id="h-ports-error"' in refused.text
    assert 'value="9000-8000"' in refused.text  # what was typed is kept
    assert "ports" not in (ui.data_dir / "host.yaml").read_text()
    assert "Nothing was changed" in form_(admin.get("/host"), "/host").submit().follow().text


def test_a_backup_is_restored_after_a_confirmation(ui: Any, packages: Any) -> None:
    ui.install(packages.hello())
    admin = ui.signed_in("admin")
    made = form_(admin.get("/apps/hello"), "/apps/hello/backup").submit()
    ui.wait(made.headers["Location"].rsplit("/", 1)[-1])
    confirm = admin.get("/apps/hello").click(description=re.compile("^Restore hello-"))
    assert "are replaced by those of this backup" in confirm.text
    sent = form_(confirm, "/apps/hello/restore").submit()
    assert ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])["state"] == "succeeded"
    assert ui.services.events.list(app="hello", limit=1)[0].kind == "restore"
    deployer = ui.signed_in("deployer")
    assert "Restore hello-" not in deployer.get("/apps/hello").text
