"""examples/pyramid-notes: a Pyramid app with settings, data, static files, hooks, commands and a task."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from apppackage import HookFailed

if TYPE_CHECKING:
    from conftest import Deployment, Served
    from pyapp_tools.building.builder import BuildResult

# Pyramid 2.1 and WebOb import deprecated parts of the standard library and setuptools.
pytestmark = [
    pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:pkg_resources is deprecated as an API:UserWarning"),
    pytest.mark.filterwarnings(
        "ignore:Deprecated call to `pkg_resources.declare_namespace:DeprecationWarning"
    ),
]

SETTINGS = {"admin_email": "admin@example.org"}
PREFIX = "/apps/notes"  # a mount path (SCRIPT_NAME)
URL = f"http://localhost{PREFIX}"


@pytest.fixture
def notes(deploy: Any) -> Deployment:
    return deploy("pyramid-notes", SETTINGS)


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def add_notes(d: Deployment, *texts: str, tag: str | None = None) -> None:
    for text in texts:
        argv = [*(["--tag", tag] if tag else []), text]
        result = d.package.run_command("add-note", argv, d.host, capture=True)
        assert result.returncode == 0, result.output


def test_validates(notes: Deployment) -> None:
    assert notes.package.validate() == []


# -- the web application -------------------------------------------------------------


def test_uses_pyramid_from_its_own_site_packages(notes: Deployment) -> None:
    import pyramid  # this test process has its own copy, which the app must not get

    runner_site = sysconfig.get_paths()["purelib"]
    assert Path(pyramid.__file__ or "").is_relative_to(runner_site)
    with notes.web() as app:
        assert app.get("/").status_int == 200
        for name in ("pyramid", "webob", "zope.interface", "venusian"):
            assert Path(sys.modules[name].__file__ or "").is_relative_to(notes.site_packages), name
        assert runner_site not in sys.path


def test_links_carry_the_mount_prefix(notes: Deployment) -> None:
    add_notes(notes, "First", tag="idea")
    with notes.web(PREFIX) as app:
        page = app.get("/")
        hrefs = [h for h in links(page.text) if not h.startswith("mailto:")]
        assert hrefs, page.text
        assert all(h.startswith(f"{URL}/") for h in hrefs), hrefs
        assert f"{URL}/static/notes.css" in hrefs
        assert f"{URL}/?tag=idea" in hrefs
        css = app.get("/static/notes.css")
        assert css.content_type == "text/css"
        assert ".theme-dark" in css.text


def test_settings_shape_the_page(deploy: Any) -> None:
    d = deploy(
        "pyramid-notes",
        {
            "site_title": "Ann & Bob's <notes>",
            "theme": "sepia",
            "page_size": 2,
            "admin_email": "ann@example.org",
            "tags": ["work", "home"],
        },
    )
    add_notes(d, "one", "two", "three")
    with d.web() as app:
        page = app.get("/")
    assert "<h1>Ann &amp; Bob&#x27;s &lt;notes&gt;</h1>" in page.text
    assert "<notes>" not in page.text
    assert '<body class="theme-sepia">' in page.text
    assert page.text.count('<article class="note">') == 2
    assert '<a rel="next" href="http://localhost/?page=2">older</a>' in page.text
    assert 'href="mailto:ann@example.org"' in page.text
    assert ">work</a>" in page.text
    assert ">idea</a>" not in page.text


def test_sign_up_and_write_a_note(notes: Deployment) -> None:
    sessions = notes.host.writable_path("sessions")
    with notes.web(PREFIX) as app:
        signup = app.get("/").forms[0]
        assert signup.action == f"{URL}/signup"
        signup["name"] = "Ann O'Neil"
        welcomed = signup.submit(status=303)
        assert welcomed.location == f"{URL}/"
        cookie = welcomed.headers["Set-Cookie"]
        assert cookie.startswith("notes_session=")
        assert "Path=/apps/notes;" in cookie
        assert "HttpOnly" in cookie
        page = welcomed.follow()
        assert "Welcome, Ann O&#x27;Neil." in page.text
        form = page.forms[0]
        form["text"] = "<script>alert(1)</script> & more"
        form["tag"] = "todo"
        page = form.submit(status=303).follow()
        assert "Note added." in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page.text
        assert "<script>" not in page.text
        note_url = next(h for h in links(page.text) if re.fullmatch(rf"{URL}/notes/\d+", h))
        note = app.get(note_url.removeprefix("http://localhost"))  # WebTest takes the prefix off again
        assert "&lt;script&gt;" in note.text
        assert "1 note" in app.get("/", {"tag": "todo"}).text
        assert "0 notes" in app.get("/", {"tag": "idea"}).text

        # The session lives in the sessions dir; the cookie holds only its signed id.
        session_file = sessions / f"{app.cookies['notes_session'].partition('.')[0]}.json"
        assert json.loads(session_file.read_text())["data"]["author"] == "Ann O'Neil"
        signed_out = app.get("/").forms[1].submit(status=303).follow()
        assert "Sign up to write notes" in signed_out.text
        assert not session_file.exists()


def test_a_forged_session_cookie_is_ignored(notes: Deployment) -> None:
    sessions = notes.host.writable_path("sessions")
    forged_id = "a" * 43
    (sessions / f"{forged_id}.json").write_text('{"created": 0, "data": {"author": "Mallory"}}')
    with notes.web() as app:
        app.set_cookie("notes_session", f"{forged_id}.not-the-signature")
        page = app.get("/")
    assert "Sign up to write notes" in page.text
    assert "Mallory" not in page.text


def test_posting_needs_the_csrf_token(notes: Deployment) -> None:
    with notes.web() as app:
        app.post("/notes", {"text": "sneaky"}, status=400)
        app.post("/signup", {"name": "Mallory"}, status=400)
        assert "0 notes" in app.get("/").text


def test_with_signup_off_there_are_no_forms(deploy: Any) -> None:
    d = deploy("pyramid-notes", {**SETTINGS, "allow_signup": False})
    with d.web() as app:
        page = app.get("/")
        assert "<form" not in page.text
        # Refused: with no form there is no CSRF token (400), and signing up is off anyway (403).
        app.post("/signup", {"name": "Ann"}, status=[400, 403])


def test_health_and_not_found(notes: Deployment) -> None:
    add_notes(notes, "a note")
    with notes.web() as app:
        assert app.get("/health").json == {"status": "ok", "notes": 1}
        missing = app.get("/x<y>", status=404)
        assert "/x&lt;y&gt;" in missing.text
        assert "<y>" not in missing.text


# -- hooks, commands, task -----------------------------------------------------------


def test_install_creates_the_data_once(notes: Deployment) -> None:
    first = notes.package.run_hook("install", notes.host, config=notes.config)
    assert first is not None
    assert "created the database" in first.output
    assert (notes.host.writable_path("notes") / "notes.sqlite").is_file()
    second = notes.package.run_hook("install", notes.host, config=notes.config)
    assert second is not None
    assert "already installed" in second.output
    assert count(notes) == "1"  # the welcome note, written once
    with notes.web() as app:
        assert "Welcome to Notes." in app.get("/").text


def test_backup_copies_the_data(notes: Deployment, tmp_path: Path) -> None:
    add_notes(notes, "keep me")
    backup = tmp_path / "backup"
    notes.package.run_hook("backup", notes.host, config=notes.config, backup_path=str(backup))
    with sqlite3.connect(backup / "notes.sqlite") as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
    db.close()


def test_backup_without_a_path_fails(notes: Deployment) -> None:
    with pytest.raises(HookFailed, match="backup_path"):
        notes.package.run_hook("backup", notes.host, config=notes.config)


def count(d: Deployment, *argv: str) -> str:
    result = d.package.run_command("count", list(argv), d.host, capture=True)
    assert result.returncode == 0, result.output
    return result.output.strip()


def test_commands(notes: Deployment) -> None:
    run = notes.package.run_command
    added = run("add-note", ["--tag", "idea", "--author", "Ann", "Buy", "milk"], notes.host, capture=True)
    assert (added.returncode, added.output) == (0, "added note 1\n")
    assert (count(notes), count(notes, "--tag", "idea"), count(notes, "--tag", "todo")) == ("1", "1", "0")
    unknown = run("add-note", ["--tag", "nope", "x"], notes.host, capture=True)
    assert unknown.returncode == 2
    assert "unknown tag 'nope' (tags: idea, todo, reading)" in unknown.output
    empty = run("add-note", [" "], notes.host, capture=True)
    assert (empty.returncode, "needs some text" in empty.output) == (2, True)
    usage = run("add-note", [], notes.host, capture=True)
    assert usage.returncode == 2
    assert "usage: add-note" in usage.output
    assert count(notes) == "1"


def test_commands_read_the_configured_tags(deploy: Any) -> None:
    d = deploy("pyramid-notes", {**SETTINGS, "tags": ["work"]})
    assert d.package.run_command("add-note", ["--tag", "work", "x"], d.host, capture=True).returncode == 0
    assert d.package.run_command("add-note", ["--tag", "idea", "x"], d.host, capture=True).returncode == 2


def test_prune_task_deletes_old_notes_and_sessions(deploy: Any) -> None:
    d = deploy("pyramid-notes", {**SETTINGS, "keep_days": 7})
    add_notes(d, "new")
    with sqlite3.connect(d.host.writable_path("notes") / "notes.sqlite") as db:
        db.execute(
            "INSERT INTO notes (text, author, created) VALUES ('old', 'test', ?)", (time.time() - 8 * 86400,)
        )
    db.close()
    sessions = d.host.writable_path("sessions")
    stale, fresh = sessions / f"{'a' * 43}.json", sessions / f"{'b' * 43}.json"
    for path in (stale, fresh):
        path.write_text('{"created": 0, "data": {}}')
    os.utime(stale, (time.time() - 30 * 86400,) * 2)

    result = d.package.run_task("prune", d.host, config=d.config)

    assert "pruned 1 notes and 1 sessions" in result.output
    assert count(d) == "1"
    assert (stale.exists(), fresh.exists()) == (False, True)


def test_prune_keeps_notes_when_keep_days_is_zero(notes: Deployment) -> None:
    add_notes(notes, "one")
    result = notes.package.run_task("prune", notes.host, config=notes.config)
    assert "pruned 0 notes" in result.output
    assert count(notes) == "1"


# -- pyapp run -------------------------------------------------------------------------


@pytest.mark.slow
def test_pyapp_run_installs_then_serves_the_built_package(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli: Callable[..., Any]
) -> None:
    built = pyapp_for("pyramid-notes")
    served = serve_cli(built.path, "--set", "site_title=Team notes")
    status, kind, page = served.get("/")
    health = served.get_json("/health")
    css = served.get("/static/notes.css")
    missing = served.get("/nothing")
    code, output = served.stop()
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert "<h1>Team notes</h1>" in page
    # The first run with a state dir runs the install hook, which writes the welcome note.
    assert "Welcome to Team notes." in page
    assert "Ran the install hook of notes 1.0.0" in output
    assert health == {"status": "ok", "notes": 1}
    assert f'href="{served.url}static/notes.css"' in page
    assert css[:2] == (200, "text/css; charset=UTF-8") and ".theme-dark" in css[2]
    assert missing[0] == 404
    assert (code, "Traceback" in output, "Warning" in output) == (0, False, False)

    # Later runs with the same state dir do not install again.
    counted = cli("pyapp", "command", built.path, "count")
    assert (counted.returncode, counted.stdout) == (0, "1\n")
    assert "install hook" not in counted.stderr
