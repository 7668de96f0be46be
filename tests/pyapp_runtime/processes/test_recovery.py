"""``kill -9`` of a real ``pyapp install`` at each step of an install or update, then recovery.

The command is paused at a step by ``PYAPP_TEST_PAUSE_AT`` (:mod:`pyapp_runtime.faults`) or by a
hook of the test app that blocks, and killed there. The next command that takes the app's lock
recovers it: the app is on the old release or wholly on the new one, it serves, ``pyapp ps``
lists only the programs of its current release, no process of another release runs (supervisord's
programs and /proc), nothing is left in the way of the next command, and its data is intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.settings import HostSettings
from testkit import gone, wait_until

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))
DAEMONS_ON = {"PYAPP_DAEMONS": "1"}

BEFORE_THE_SWITCH = ["started", "built", "hooks-ran", "programs-started", "healthy", "activated"]
"""Steps a crash at which is undone: the old release stays current."""
AFTER_THE_COMMIT = ["committed", "switched", "old-stopped"]
"""Steps a crash at which is finished: the new release is current."""

BLOCKING_HOOK = '''

def post_update(context):
    """A migration that never ends: it says its pid, then waits to be killed."""
    with open(os.path.join(context["data_path"], "hook.pid"), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)
'''


def start_pyapp(home: Path, *args: object, pause_at: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYAPP_HOME": str(home), **DAEMONS_ON}
    if pause_at is not None:
        env.update(PYAPP_TEST_PAUSE_AT=pause_at, PYAPP_TEST_PAUSE_MARKER=str(home.parent / "paused"))
    return subprocess.Popen(
        [PYAPP, *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def kill_when(proc: subprocess.Popen[str], marker: Path) -> None:
    """``kill -9`` *proc* once *marker* exists (it reached its step); fail if it ended before."""

    def reached() -> bool:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended (status {proc.returncode}) before its step:\n{out}\n{err}")
        return marker.exists()

    wait_until(reached, f"the command reaching {marker.name}", timeout=240)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def cli(pyapp_cli: Any, home: Path, *args: str) -> Any:
    proc = pyapp_cli(*args, "--json", home=home, env=DAEMONS_ON)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def app_processes(home: Path, app: str = "webprobe") -> dict[int, str]:
    """Every live process of *app* (by its data path, /proc): pid -> the release root it runs from."""
    marker = f"PYAPP_DATA_PATH={home / 'apps' / app / 'data'}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ and not gone(int(entry)):
            root = next((v for v in environ if v.startswith(b"PYAPP_ROOT=")), b"PYAPP_ROOT=")
            found[int(entry)] = root.decode().partition("=")[2]
    return found


def assert_recovered(home: Path, pyapp_cli: Any, helpers: Any, version: str) -> dict[str, Any]:
    """The app is wholly on *version* and serves; nothing of another release runs or lies around."""
    app = home / "apps" / "webprobe"
    shown = cli(pyapp_cli, home, "show", "webprobe")
    assert shown["version"] == version
    release = shown["release"]
    assert os.readlink(app / "current") == f"releases/{release}"
    status, body = helpers.request(helpers.stable_socket(home, "webprobe"))
    assert (status, body) == (200, f"webprobe {version}")
    ps = [p for p in cli(pyapp_cli, home, "ps") if p["app"] == "webprobe"]
    assert ps and {(p["release"], p["state"]) for p in ps} == {(release, "running")}, ps
    programs = {
        p.name.removesuffix(".conf") for p in (home / "supervisor" / "programs").glob("webprobe@*.conf")
    }
    assert programs == {p["program"] for p in ps}
    roots = app_processes(home)
    assert set(roots.values()) == {str(app / "releases" / release)}, roots
    assert {p["pid"] for p in ps} <= set(roots)
    run = json.loads((app / "run" / "daemons.json").read_text())
    assert run["release"] == release and run["pending"] == [] and run["pending_release"] is None
    assert not (home / "apps" / "webprobe.journal").exists()
    assert [p.name for p in (app / "releases").iterdir() if p.name.startswith(".")] == []
    assert (app / "data" / "keep.txt").read_text() == "precious"
    return dict(shown)


@pytest.fixture
def updating(home: Path, packages: Any, helpers: Any, pyapp_cli: Any) -> tuple[Path, Path]:
    """webprobe 1.0.0 installed and serving, with data; the package of 2.0.0."""
    helpers.write_host_yaml(home)
    old, new = packages.webprobe("1.0.0"), packages.webprobe("2.0.0")
    assert cli(pyapp_cli, home, "install", str(old))["version"] == "1.0.0"
    (home / "apps" / "webprobe" / "data" / "keep.txt").write_text("precious")
    return old, new


@pytest.mark.parametrize("step", BEFORE_THE_SWITCH + AFTER_THE_COMMIT)
def test_an_update_killed_at_a_step_is_undone_or_finished(home, updating, helpers, pyapp_cli, step):
    _old, new = updating
    kill_when(start_pyapp(home, "install", new, pause_at=step), home.parent / "paused")
    version = "2.0.0" if step in AFTER_THE_COMMIT else "1.0.0"
    shown = assert_recovered(home, pyapp_cli, helpers, version)
    if step in BEFORE_THE_SWITCH:
        assert shown["recovered"].startswith("undid the interrupted install"), shown["recovered"]
        # Nothing is in the way of the next update.
        assert cli(pyapp_cli, home, "install", str(new))["action"] == "updated"
        assert_recovered(home, pyapp_cli, helpers, "2.0.0")
    elif step != "old-stopped":
        assert shown["recovered"], "the interrupted switch was finished"


@pytest.mark.parametrize("step", BEFORE_THE_SWITCH + AFTER_THE_COMMIT)
def test_a_first_install_killed_at_a_step(home, packages, helpers, pyapp_cli, step):
    installed = step in AFTER_THE_COMMIT
    helpers.write_host_yaml(home)
    package = packages.webprobe("1.0.0")
    kill_when(start_pyapp(home, "install", package, pause_at=step), home.parent / "paused")
    if not installed:
        assert cli(pyapp_cli, home, "list") == []
        assert cli(pyapp_cli, home, "ps") == []
        assert app_processes(home) == {}
        assert list((home / "supervisor" / "programs").glob("webprobe@*")) == []
        assert not (home / "apps" / "webprobe").exists()
        assert not (home / "apps" / "webprobe.journal").exists()
        cli(pyapp_cli, home, "install", str(package))
    (home / "apps" / "webprobe" / "data" / "keep.txt").write_text("precious")
    assert_recovered(home, pyapp_cli, helpers, "1.0.0")


def test_an_update_killed_in_its_hook_stops_the_hook(home, packages, helpers, pyapp_cli):
    helpers.write_host_yaml(home)
    old = packages.webprobe("1.0.0")
    new = packages.webprobe("2.0.0", extra=BLOCKING_HOOK, hooks={"post-update": "webprobe:post_update"})
    cli(pyapp_cli, home, "install", str(old))
    data = home / "apps" / "webprobe" / "data"
    (data / "keep.txt").write_text("precious")
    kill_when(start_pyapp(home, "install", new), data / "hook.pid")
    hook = int(wait_until(lambda: (data / "hook.pid").read_text(), "the hook's pid"))
    left = [pid for pid, root in app_processes(home).items() if "/releases/2.0.0-" in root]
    shown = assert_recovered(home, pyapp_cli, helpers, "1.0.0")
    assert all(gone(pid) for pid in left)
    if hook in left:
        # Run without a sandbox, the hook outlived the command that started it: recovery stopped it.
        assert "stopped the hook processes" in shown["recovered"] and str(hook) in shown["recovered"]


def test_ps_right_after_a_crash_shows_what_runs_once_recovered(home, updating, helpers, pyapp_cli):
    _old, new = updating
    kill_when(start_pyapp(home, "install", new, pause_at="programs-started"), home.parent / "paused")
    ps = cli(pyapp_cli, home, "ps")  # the first command after the crash
    assert {(p["release"].split("-")[0], p["state"]) for p in ps} == {("1.0.0", "running")}, ps
    assert len(set(app_processes(home).values())) == 1
    assert_recovered(home, pyapp_cli, helpers, "1.0.0")


@pytest.mark.parametrize(("step", "version"), [("healthy", "2.0.0"), ("committed", "1.0.0")])
def test_a_rollback_killed_at_a_step(home, updating, helpers, pyapp_cli, step, version):
    _old, new = updating
    assert cli(pyapp_cli, home, "install", str(new))["version"] == "2.0.0"
    kill_when(start_pyapp(home, "rollback", "webprobe", pause_at=step), home.parent / "paused")
    assert_recovered(home, pyapp_cli, helpers, version)


def test_recover_all_at_boot(home, updating, helpers, pyapp_cli):
    """``Host.recover_all()`` (what a boot or the management server's start runs) recovers every app."""
    _old, new = updating
    kill_when(start_pyapp(home, "install", new, pause_at="healthy"), home.parent / "paused")
    assert len(set(app_processes(home).values())) == 2  # both releases' daemons run
    host = Host(home, settings=HostSettings.load(home).with_environment(DAEMONS_ON))
    done = host.recover_all()
    assert list(done) == ["webprobe"]
    assert done["webprobe"].startswith("undid the interrupted install")
    assert "stopped webprobe@" in done["webprobe"]
    assert host.recover_all() == {}
    assert_recovered(home, pyapp_cli, helpers, "1.0.0")
