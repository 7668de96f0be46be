"""Concurrent commands are serialised by the app's lock; a killed install leaves a consistent host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyapp_runtime import AppLocked, Host

HOLDER = """\
import sys
from pathlib import Path
from pyapp_runtime.locking import AppLock
lock = AppLock(Path(sys.argv[1]), "probe", operation="holding for a test").acquire()
print("locked", flush=True)
sys.stdin.read()
"""

FIELDS = {"greeting": {"type": "string", "default": "Hello"}, "sleep": {"type": "string"}}


@pytest.fixture(scope="module")
def probes(module_factory):
    return {v: module_factory.probe(v, fields=FIELDS) for v in ("1.0.0", "2.0.0")}


def start_pyapp(home: Path, *args: object) -> subprocess.Popen[str]:
    """The real command line in the background, with PYAPP_HOME=*home*."""
    argv = [str(Path(sys.executable).with_name("pyapp")), *map(str, args)]
    env = {**os.environ, "PYAPP_HOME": str(home)}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def hold_lock(home: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home / "apps" / "probe.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    return proc


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until *path* exists (the hook started), failing if *proc* ends first."""
    deadline = time.monotonic() + 120
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the install ended before its hook started:\n{out}\n{err}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def kill_install(proc: subprocess.Popen[str], hook_pid_file: Path) -> None:
    """kill -9 the install, and the hook it started (which runs in a session of its own)."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    os.kill(int(hook_pid_file.read_text()), signal.SIGKILL)


def test_a_second_command_fails_naming_the_lock_holder(home, probes, pyapp_cli):
    holder = hold_lock(home)
    try:
        with pytest.raises(AppLocked) as info:
            Host(home).install(probes["1.0.0"])
        assert info.value.pid == holder.pid
        assert f"locked by process {holder.pid} (holding for a test)" in str(info.value)
        proc = pyapp_cli("install", probes["1.0.0"], home=home)
        assert proc.returncode == 1
        assert f"process {holder.pid}" in proc.stderr and "--wait" in proc.stderr
        # With --wait, the install goes ahead as soon as the holder is done.
        waiting = start_pyapp(home, "install", probes["1.0.0"], "--wait", "120", "--json")
    finally:
        holder.communicate("")
    out, err = waiting.communicate(timeout=240)
    assert waiting.returncode == 0, err
    assert json.loads(out)["action"] == "installed"


def test_a_killed_first_install_is_undone_by_the_next_command(home, probes, pyapp_cli):
    proc = start_pyapp(home, "install", probes["1.0.0"], "--set", "sleep=install-1.0.0")
    app = home / "apps" / "probe"
    wait_for(app / "data" / "pid-install", proc)
    kill_install(proc, app / "data" / "pid-install")
    assert (home / "apps" / "probe.journal").exists() and (app / "releases").is_dir()
    listed = pyapp_cli("list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert not app.exists() and not (home / "apps" / "probe.journal").exists()
    assert pyapp_cli("install", probes["1.0.0"], home=home).returncode == 0


@pytest.mark.parametrize("hook", ["pre-update-1.0.0", "post-update-2.0.0"])
def test_a_killed_update_leaves_the_previous_release_current(home, probes, pyapp_cli, app_snapshot, hook):
    host = Host(home)
    host.install(probes["1.0.0"])
    host.set_config("probe", ["greeting=Before"])
    before = app_snapshot(home)
    app = home / "apps" / "probe"
    (app / "data" / f"sleep-{hook}").touch()
    proc = start_pyapp(home, "install", probes["2.0.0"], "--set", "greeting=After")
    name = hook.rsplit("-", 1)[0]
    wait_for(app / "data" / f"pid-{name}", proc)
    kill_install(proc, app / "data" / f"pid-{name}")
    assert len(os.listdir(app / "releases")) == 2  # the new release was built
    shown = pyapp_cli("show", "probe", "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["recovered"].startswith("undid the interrupted install")
    assert data["version"] == "1.0.0"
    after = app_snapshot(home)
    assert after == before
    assert [p for p in os.listdir(app / "releases") if p.startswith(".")] == []
    assert host.run_command("probe", "probe", capture=True).returncode == 0
    # The next install goes through.
    (app / "data" / f"sleep-{hook}").unlink()
    assert host.install(probes["2.0.0"]).version == "2.0.0"


CRASH_AFTER_SWITCH = """\
import os, sys
from pyapp_runtime import Host
from pyapp_runtime.lifecycle.journal import Journal

update = Journal.update
def update_then_die(self, **state):
    update(self, **state)
    if state.get("step") == "activated":
        os._exit(9)  # the process dies right after switching current, before its commit
Journal.update = update_then_die
Host(sys.argv[1]).install(sys.argv[2], settings=["greeting=After"])
"""


def test_a_crash_right_after_the_switch_is_undone(home, probes, app_snapshot):
    host = Host(home)
    old = host.install(probes["1.0.0"])
    host.set_config("probe", ["greeting=Before"])
    before = app_snapshot(home)
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_SWITCH, str(home), str(probes["2.0.0"])], check=False
    )
    assert proc.returncode == 9
    app = home / "apps" / "probe"
    assert os.readlink(app / "current") != f"releases/{old.release}"  # it had switched
    assert "greeting: After" in (app / "config.yaml").read_text()
    assert host.recover("probe") == f"undid the interrupted install; release {old.release} is current"
    assert app_snapshot(home) == before
    assert host.run_command("probe", "probe", capture=True).returncode == 0


def test_leftover_staging_dirs_are_removed(home, probes):
    host = Host(home)
    host.install(probes["1.0.0"])
    stray = home / "apps" / "probe" / "releases" / ".staging-crashed"
    (stray / "src").mkdir(parents=True)
    assert host.recover("probe") is None
    assert not stray.exists()
