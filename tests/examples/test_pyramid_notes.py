"""examples/pyramid-notes: a Pyramid app with settings, data, static files, hooks, commands and a task.

It is installed with ``pyapp install`` and reached over its daemon's socket (see conftest.py). The
install hook writes a welcome note: every count includes it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sysconfig
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from testkit import app_process

from apppackage import AppPackage, HookFailed

if TYPE_CHECKING:
    from conftest import Installed, Served
    from pyapp_tools.building.builder import BuildResult

# Pyramid 2.1 and WebOb import deprecated parts of the standard library and setuptools.
pytestmark = [
    pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:pkg_resources is deprecated as an API:UserWarning"),
    pytest.mark.filterwarnings(
        "ignore:Deprecated call to `pkg_resources.declare_namespace:DeprecationWarning"
    ),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SETTINGS = {"admin_email": "admin@example.org"}
SECRET = "s3ssion-secret-0123456789abcdef-XYZ"
PREFIX = "/apps/notes"  # a mount path (SCRIPT_NAME)
URL = f"http://localhost{PREFIX}"
WELCOME = "Welcome to Notes. This note was written when the application was installed."
PRUNE_WAIT = 240.0
"""How long a test waits for the scheduler's first run of ``prune`` (due 60 s after it starts)."""

PROBE = """\
import importlib, json, sys
names = ("pyramid", "webob", "zope.interface", "venusian")
files = {n: importlib.import_module(n).__file__ for n in names}
print(json.dumps({"files": files, "sys_path": sys.path}))
"""


@pytest.fixture
def notes(install: Any) -> Installed:
    return install("pyramid-notes", SETTINGS)


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def add_notes(d: Installed, *texts: str, tag: str | None = None) -> None:
    for text in texts:
        argv = [*(["--tag", tag] if tag else []), text]
        result = d.run_command("add-note", *argv)
        assert result.returncode == 0, result.output


def count(d: Installed, *argv: str) -> str:
    result = d.run_command("count", *argv)
    assert result.returncode == 0, result.output
    return str(result.output.strip())


def last_prune(d: Installed) -> dict[str, Any]:
    """The scheduler's first finished run of ``prune`` (``pyapp tasks``), once there is one."""
    finished: list[dict[str, Any]] = []

    def ran() -> bool:
        runs = d.json("tasks", d.name, "--task", "prune")
        finished[:] = [r for r in runs if r["status"] != "running"]
        return bool(finished)

    d.wait_until(ran, "a run of the prune task", PRUNE_WAIT)
    return finished[-1]


def test_validates(pyapp_for: Callable[[str], BuildResult]) -> None:
    for path in (EXAMPLES / "pyramid-notes", pyapp_for("pyramid-notes").path):
        with AppPackage(path) as package:
            assert package.validate() == [], path


# -- the web application -------------------------------------------------------------


def test_uses_pyramid_from_the_hosts_server_packages(notes: Installed, tmp_path: Path) -> None:
    import pyramid  # this test process has its own copy, which the app must not get

    runner_site = sysconfig.get_paths()["purelib"]
    assert Path(pyramid.__file__ or "").is_relative_to(runner_site)
    assert notes.web().get("/").status_int == 200
    sites = {d["name"]: Path(d["path"]) for d in notes.report["dependencies"]}
    dists = {
        "pyramid": "pyramid",
        "webob": "webob",
        "zope.interface": "zope-interface",
        "venusian": "venusian",
    }
    for dist in dists.values():
        assert sites[dist].parent == notes.home / "server-packages", sites[dist]
    # The daemon itself has zope.interface's compiled part loaded from there.
    maps = Path(f"/proc/{app_process(notes.process('web')['pid'])}/maps").read_text()
    loaded = {line.split()[-1] for line in maps.splitlines() if "/zope/interface/_zope_interface_c" in line}
    assert loaded and all(Path(f).is_relative_to(sites["zope-interface"]) for f in loaded), loaded
    # The daemon's own start (interpreter, bootstrap, environment, payload), running the probe instead
    # of serving: its imports resolve as the daemon's do.
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    daemon = notes.launch_of("web")
    run = notes.start(
        daemon, tmp_path / "probe.log", kind="process", ref="runpy:run_path", argument=[str(probe)]
    )
    assert run.proc.wait(timeout=120) == 0, run.output()
    seen = json.loads(run.output().splitlines()[-1])
    for module, dist in dists.items():
        assert Path(seen["files"][module]).is_relative_to(sites[dist]), module
    assert runner_site not in seen["sys_path"]


def test_links_carry_the_mount_prefix(notes: Installed) -> None:
    add_notes(notes, "First", tag="idea")
    notes.mount(PREFIX)
    app = notes.web(PREFIX)
    page = app.get("/")
    hrefs = [h for h in links(page.text) if not h.startswith("mailto:")]
    assert hrefs, page.text
    assert all(h.startswith(f"{URL}/") for h in hrefs), hrefs
    assert f"{URL}/static/notes.css" in hrefs
    assert f"{URL}/?tag=idea" in hrefs
    css = app.get("/static/notes.css")
    assert css.content_type == "text/css"
    assert ".theme-dark" in css.text


def test_settings_shape_the_page(install: Any) -> None:
    d = install(
        "pyramid-notes",
        {
            "site_title": "Ann & Bob's <notes>",
            "theme": "sepia",
            "page_size": 2,
            "admin_email": "ann@example.org",
            "tags": ["work", "home"],
            "session_secret": SECRET,
        },
    )
    add_notes(d, "one", "two", "three")
    page = d.web().get("/")
    # Every setting shapes the page but the secret one (section 4.5), shown on no page.
    assert SECRET not in page.text and SECRET not in d.web().get("/health").text
    assert "<h1>Ann &amp; Bob&#x27;s &lt;notes&gt;</h1>" in page.text
    assert "<notes>" not in page.text
    assert '<body class="theme-sepia">' in page.text
    assert page.text.count('<article class="note">') == 2
    assert '<a rel="next" href="http://localhost/?page=2">older</a>' in page.text
    assert 'href="mailto:ann@example.org"' in page.text
    assert ">work</a>" in page.text
    assert ">idea</a>" not in page.text


def test_sign_up_and_write_a_note(notes: Installed) -> None:
    sessions = notes.writable_path("sessions")
    notes.mount(PREFIX)
    app = notes.web(PREFIX)
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


def test_a_forged_session_cookie_is_ignored(notes: Installed) -> None:
    sessions = notes.writable_path("sessions")
    forged_id = "a" * 43
    (sessions / f"{forged_id}.json").write_text('{"created": 0, "data": {"author": "Mallory"}}')
    app = notes.web()
    app.set_cookie("notes_session", f"{forged_id}.not-the-signature")
    page = app.get("/")
    assert "Sign up to write notes" in page.text
    assert "Mallory" not in page.text


def test_posting_needs_the_csrf_token(notes: Installed) -> None:
    app = notes.web()
    app.post("/notes", {"text": "sneaky"}, status=400)
    app.post("/signup", {"name": "Mallory"}, status=400)
    assert '<p class="total">1 note</p>' in app.get("/").text  # the welcome note only
    assert count(notes) == "1"


def test_with_signup_off_there_are_no_forms(install: Any) -> None:
    d = install("pyramid-notes", {**SETTINGS, "allow_signup": False})
    app = d.web()
    page = app.get("/")
    assert "<form" not in page.text
    # Refused: with no form there is no CSRF token (400), and signing up is off anyway (403).
    app.post("/signup", {"name": "Ann"}, status=[400, 403])


def test_health_and_not_found(notes: Installed) -> None:
    add_notes(notes, "a note")
    app = notes.web()
    assert app.get("/health").json == {"status": "ok", "notes": 2}  # the welcome note and this one
    missing = app.get("/x<y>", status=404)
    assert "/x&lt;y&gt;" in missing.text
    assert "<y>" not in missing.text


# -- hooks, commands, task -----------------------------------------------------------


def test_install_creates_the_data_once(notes: Installed) -> None:
    (first,) = notes.report["hooks"]
    assert first["hook"] == "install"
    assert "created the database" in first["output"]
    assert (notes.writable_path("notes") / "notes.sqlite").is_file()
    # Removed with its data kept, then installed again: the hook finds the database.
    notes.pyapp("remove", notes.name, "--keep-data")
    (second,) = notes.json("install", notes.package)["hooks"]
    assert second["hook"] == "install"
    assert "already installed" in second["output"]
    assert count(notes) == "1"  # the welcome note, written once
    assert "Welcome to Notes." in notes.web().get("/").text


def test_backup_copies_the_data(notes: Installed, tmp_path: Path) -> None:
    add_notes(notes, "keep me")
    archive = tmp_path / "notes.tar.gz"
    notes.pyapp("backup", notes.name, "-o", archive)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "backup", filter="data")
    with sqlite3.connect(tmp_path / "backup" / "hook" / "notes.sqlite") as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [(WELCOME,), ("keep me",)]
    db.close()


def test_backup_without_a_path_fails(notes: Installed) -> None:
    with pytest.raises(HookFailed, match="backup_path"):
        notes.run_hook("backup")


def test_commands(notes: Installed) -> None:
    added = notes.run_command("add-note", "--tag", "idea", "--author", "Ann", "Buy", "milk")
    assert (added.returncode, added.output) == (0, "added note 2\n")  # note 1 is the welcome note
    assert (count(notes), count(notes, "--tag", "idea"), count(notes, "--tag", "todo")) == ("2", "1", "0")
    unknown = notes.run_command("add-note", "--tag", "nope", "x")
    assert unknown.returncode == 2
    assert "unknown tag 'nope' (tags: idea, todo, reading)" in unknown.output
    empty = notes.run_command("add-note", " ")
    assert (empty.returncode, "needs some text" in empty.output) == (2, True)
    usage = notes.run_command("add-note")
    assert usage.returncode == 2
    assert "usage: add-note" in usage.output
    assert count(notes) == "2"


def test_commands_read_the_configured_tags(install: Any) -> None:
    d = install("pyramid-notes", {**SETTINGS, "tags": ["work"]})
    assert d.run_command("add-note", "--tag", "work", "x").returncode == 0
    assert d.run_command("add-note", "--tag", "idea", "x").returncode == 2


@pytest.mark.slow
def test_prune_task_deletes_old_notes_and_sessions(install: Any) -> None:
    # Installed stopped, so that the scheduler starts once the old data is in place.
    d = install("pyramid-notes", {**SETTINGS, "keep_days": 7}, start=False)
    add_notes(d, "new")
    with sqlite3.connect(d.writable_path("notes") / "notes.sqlite") as db:
        db.execute(
            "INSERT INTO notes (text, author, created) VALUES ('old', 'test', ?)", (time.time() - 8 * 86400,)
        )
    db.close()
    sessions = d.writable_path("sessions")
    stale, fresh = sessions / f"{'a' * 43}.json", sessions / f"{'b' * 43}.json"
    for path in (stale, fresh):
        path.write_text('{"created": 0, "data": {}}')
    os.utime(stale, (time.time() - 30 * 86400,) * 2)

    d.pyapp("start", d.name)
    run = last_prune(d)

    assert run["status"] == "ok", run
    assert "pruned 1 notes and 1 sessions" in run["output"]
    assert count(d) == "2"  # the welcome note and the new one
    assert (stale.exists(), fresh.exists()) == (False, True)


@pytest.mark.slow
def test_prune_keeps_notes_when_keep_days_is_zero(install: Any) -> None:
    d = install("pyramid-notes", SETTINGS, start=False)
    add_notes(d, "one")
    d.pyapp("start", d.name)
    run = last_prune(d)
    assert run["status"] == "ok", run
    assert "pruned 0 notes" in run["output"]
    assert count(d) == "2"  # the welcome note and this one


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
    # Answered by the run itself from the static directory (section 3.10), before Pyramid sees it.
    assert css[0] == 200 and css[1].startswith("text/css") and ".theme-dark" in css[2]
    assert missing[0] == 404
    assert (code, "Traceback" in output, "Warning" in output) == (0, False, False)

    # Later runs with the same state dir do not install again.
    counted = cli("pyapp", "command", built.path, "count")
    assert (counted.returncode, counted.stdout) == (0, "1\n")
    assert "install hook" not in counted.stderr
