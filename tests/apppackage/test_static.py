"""The static files an application's own WSGI server answers (spec section 3.10), with the real WhiteNoise.

What a browser sees of them through a WSGI stack (WebTest); the same wrapper runs in ``pyapp run`` and in a
host's daemons, which the tests of those run for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from webtest import TestApp

from apppackage._static import with_static


def page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    return [f"the app's page for {environ['PATH_INFO']}".encode()]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A package root with two static directories, one inside the other's URL, and a secret beside them."""
    root = tmp_path / "app"
    for rel, text in {
        "static/style.css": "body { color: teal }\n",
        "static/js/app.js": "console.log('hi')\n",
        "static/logo.svg": "<svg/>",
        "static/img/from-static.png": "not this one",
        "images/from-images.png": "\x89PNG",
        "secret.txt": "the secret\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "static" / "escape.txt").symlink_to(root / "secret.txt")
    (root / "static" / "outside").symlink_to(root, target_is_directory=True)
    (root / "static" / "same.css").symlink_to("style.css")
    return root


@pytest.fixture
def browser(site: Path) -> TestApp:
    static = [["/static", str(site / "static")], ["/static/img/", str(site / "images")]]
    return TestApp(with_static(page, static))


def test_files_are_answered_with_their_content_type_before_the_app(browser: TestApp) -> None:
    css = browser.get("/static/style.css")
    assert (css.status_int, css.text) == (200, "body { color: teal }\n")
    assert css.content_type == "text/css"
    assert browser.get("/static/js/app.js").content_type in {"text/javascript", "application/javascript"}
    assert browser.get("/static/logo.svg").content_type == "image/svg+xml"
    # Not a static path: the app answers.
    assert browser.get("/").text == "the app's page for /"
    assert browser.get("/staticfile").text == "the app's page for /staticfile"


def test_the_longest_url_wins(browser: TestApp) -> None:
    assert browser.get("/static/img/from-images.png").body == "\x89PNG".encode()
    # Under /static/img only the images directory counts, though static/img has a file of that name.
    assert browser.get("/static/img/from-static.png", status=404).status_int == 404


def test_a_conditional_request_gets_304(browser: TestApp) -> None:
    first = browser.get("/static/style.css")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = browser.get("/static/style.css", headers={"If-None-Match": first.headers["ETag"]}, status=304)
    assert again.body == b""
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert browser.get("/static/style.css", headers=since, status=304).body == b""
    head = browser.head("/static/style.css")
    assert head.headers["Content-Length"] == str(len("body { color: teal }\n"))


@pytest.mark.parametrize(
    "path",
    [
        "/static",
        "/static/",
        "/static/js",
        "/static/js/",
        "/static/missing.css",
        "/static/../secret.txt",
        "/static/js/../../secret.txt",
        "/static/escape.txt",
        "/static/outside/secret.txt",
        "/static//style.css",
    ],
)
def test_no_directory_listing_no_escape_and_no_fall_through_to_the_app(browser: TestApp, path: str) -> None:
    response = browser.get(path, status=404)
    assert "secret" not in response.text and "the app's page" not in response.text
    assert response.text == "Not Found\n"


def test_a_link_that_stays_inside_is_served_and_only_get_and_head_are_allowed(browser: TestApp) -> None:
    assert browser.get("/static/same.css").text == "body { color: teal }\n"
    assert browser.post("/static/style.css", status=405).headers["Allow"] == "GET, HEAD"


def test_a_file_changed_while_it_runs_is_served_as_it_is_now(browser: TestApp, site: Path) -> None:
    assert browser.get("/static/style.css").text == "body { color: teal }\n"
    (site / "static" / "style.css").write_text("body { color: orange; margin: 0 }\n")
    (site / "static" / "new.css").write_text("p {}\n")
    assert browser.get("/static/style.css").text == "body { color: orange; margin: 0 }\n"
    assert browser.get("/static/new.css").text == "p {}\n"


def test_without_static_directories_the_app_is_returned_as_it_is() -> None:
    assert with_static(page, []) is page
