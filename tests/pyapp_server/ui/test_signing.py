"""The web interface's upload forms and signed packages (spec section 2.6): an update by another key is
refused on the app's page with both fingerprints; the form's key to trust re-pins the app."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from pyapp_tools.building.builder import BuildOptions, build
from signkit import make_key

HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def hello(out: Path, version: str, key: Path) -> Path:
    source = out / f"hello-{version}-{key.stem}"
    shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text()))
    return build(source, BuildOptions(out_dir=source / "dist", offline=True, sign=key)).path


def upload(page: Any, package: Path, trust_key: str = "") -> Any:
    form = next(f for f in page.forms.values() if "package" in f.fields)
    form["package"] = (package.name, package.read_bytes())
    form["trust_key"] = trust_key
    return form.submit(expect_errors=True)


def test_a_foreign_key_update_is_refused_on_the_app_page_and_re_pinned_from_the_form(
    ui: Any, tmp_path: Path
) -> None:
    author, author_fp = make_key(tmp_path / "keys", "author.key")
    other, other_fp = make_key(tmp_path / "keys", "other.key")
    browser = ui.signed_in("deployer")
    sent = upload(browser.get("/install"), hello(tmp_path, "1.0.0", author))
    assert sent.status_int == 303, sent.text
    ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])

    foreign = hello(tmp_path, "1.1.0", other)
    refused = upload(browser.get("/apps/hello"), foreign)
    assert refused.status_int == 409
    assert "<h1>hello" in refused.text and 'class="note bad"' in refused.text
    assert author_fp in refused.text and other_fp in refused.text

    pinned = f'<code class="path">{author_fp}</code>'
    assert pinned in browser.get("/apps/hello").text, "the page shows the pinned key"

    sent = upload(browser.get("/apps/hello"), foreign, trust_key=other_fp)
    assert sent.status_int == 303, sent.text
    ui.wait(sent.headers["Location"].rsplit("/", 1)[-1])
    assert '<h1>hello <span class="muted">1.1.0</span>' in browser.get("/apps/hello").text
    assert ui.services.apps.show("hello")["signer"] == other_fp
    assert f'<code class="path">{other_fp}</code>' in browser.get("/apps/hello").text
