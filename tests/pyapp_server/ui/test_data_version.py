"""The data version in the web interface (spec section 3.19): shown on the app's page, a rollback below it
refused with the whole reason, a way to restore the backup it names and then roll back, or to roll back
anyway; an update below it refused the same way."""

from __future__ import annotations

import html
from typing import Any


def updated(ui: Any, packages: Any) -> str:
    """hello 1.0.0 (data version 1) updated to 2.0.0 (data version 2); the name of the backup taken first."""
    ui.install(packages.hello("1.0.0", data_version=1))
    ui.install(packages.hello("2.0.0", data_version=2))
    (backup,) = ui.services.files.backups("hello")["backups"]
    return str(backup["name"])


def test_a_refused_rollback_names_the_backup_which_is_restored_then_the_rollback_goes_through(
    ui: Any, packages: Any
) -> None:
    backup = updated(ui, packages)
    browser = ui.signed_in("admin")
    page = browser.get("/apps/hello")
    assert "<dt>Data version</dt><dd>2" in page.text and "since the update to hello 2.0.0" in page.text
    assert "<dt>Updates</dt>" in page.text and "start <code>beside</code>" in page.text
    assert '<td data-label="Data version">1</td>' in page.text

    rollback = next(f for f in page.forms.values() if "Roll back to 1.0.0" in f.text)
    refused = rollback.submit(expect_errors=True)

    assert refused.status_int == 409
    text = html.unescape(refused.text)
    assert "refused to roll hello back to 1.0.0: hello 1.0.0 keeps its data in data version 1" in text
    assert f"<code>Restore {backup}… (under Backups)</code>" in text
    assert "Without the restore, Roll back to 1.0.0 anyway does it on the data as it is." in text
    link = refused.html.find("a", string=f"Restore {backup}…")
    assert link is not None and link["href"] == f"/apps/hello/restore?backup={backup}"
    anyway = next(f for f in refused.forms.values() if "Roll back anyway" in f.text)
    assert anyway["force"].value == "true" and anyway["to"].value.startswith("1.0.0-")

    confirm = browser.get(link["href"])
    assert (
        "data version 1" in confirm.text and "roll back to a release of data version 1 next" in confirm.text
    )
    sent = confirm.forms[1].submit() if len(confirm.forms) > 1 else confirm.form.submit()
    assert ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])["state"] == "succeeded"
    page = browser.get("/apps/hello")
    sent = next(f for f in page.forms.values() if "Roll back to 1.0.0" in f.text).submit()
    assert sent.status_int == 303
    assert ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])["state"] == "succeeded"
    assert '<h1>hello <span class="muted">1.0.0</span>' in browser.get("/apps/hello").text


def test_roll_back_anyway_and_a_refused_update(ui: Any, packages: Any) -> None:
    updated(ui, packages)
    browser = ui.signed_in("deployer")
    refused = next(
        f for f in browser.get("/apps/hello").forms.values() if "Roll back to 1.0.0" in f.text
    ).submit(expect_errors=True)
    assert refused.status_int == 409
    assert not [a for a in refused.html.find_all("a") if a.text.startswith("Restore")]  # an admin's to do

    forced = next(f for f in refused.forms.values() if "Roll back anyway" in f.text).submit()

    assert forced.status_int == 303
    assert ui.wait(forced.headers["Location"].rsplit("/", 1)[-1])["state"] == "succeeded"
    page = browser.get("/apps/hello")
    assert '<h1>hello <span class="muted">1.0.0</span>' in page.text
    assert "<dt>Data version</dt><dd>2" in page.text  # the data stays in data version 2
    # An update to an older package of data version 1 is refused whole, on the page.
    form = next(f for f in page.forms.values() if "package" in f.fields)
    package = packages.hello("1.5.0", data_version=1)
    form["package"] = (package.name, package.read_bytes())
    update = form.submit(expect_errors=True)
    assert update.status_int == 409
    text = html.unescape(update.text)
    assert "refused to install hello 1.5.0: hello 1.5.0 keeps its data in data version 1" in text
    assert "Upload it again (under Update)" in text
