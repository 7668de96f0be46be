"""Hooks run at the right moments with the right release, and a failing hook undoes the operation."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from pyapp_runtime import Host, InstallHookFailed

from apppackage import HookFailed


@pytest.fixture(scope="module")
def probes(module_factory):
    return {v: module_factory.probe(v) for v in ("1.0.0", "2.0.0")}


def test_first_install_runs_install_then_verify_with_the_new_release(home, probes, read_hook_log):
    result = Host(home).install(probes["1.0.0"])
    calls = read_hook_log(home)
    assert [(c["hook"], c["version"]) for c in calls] == [("install", "1.0.0"), ("verify", "1.0.0")]
    assert calls[0]["from"] is None and calls[0]["to"] == "1.0.0"
    assert calls[0]["root"] == result.path
    assert calls[0]["cwd"] == str(home / "apps" / "probe" / "data")  # hooks run in the data dir
    assert calls[0]["config"] == {"greeting": "Hello"}
    assert [h.hook for h in result.hooks] == ["install", "verify"]
    assert (home / "apps" / "probe" / "logs" / "hooks.log").read_text().count("passed") == 2


def test_update_order_and_which_release_runs_each_hook(home, probes, read_hook_log):
    host = Host(home)
    old = host.install(probes["1.0.0"])
    log = home / "apps" / "probe" / "data" / "hooks.log"
    log.unlink()
    new = host.install(probes["2.0.0"])
    calls = read_hook_log(home)
    assert [(c["hook"], c["version"]) for c in calls] == [
        ("backup", "1.0.0"),
        ("pre-update", "1.0.0"),
        ("post-update", "2.0.0"),
        ("verify", "2.0.0"),
    ]
    assert all((c["from"], c["to"]) == ("1.0.0", "2.0.0") for c in calls)
    assert calls[0]["root"] == old.path and calls[2]["root"] == new.path
    # The backup hook got a new dir outside the release and data paths (in the app's reach: under
    # backups/ or, sandboxed, in its tmp/); its files went into the archive.
    backup_path = Path(calls[0]["backup_path"])
    assert backup_path.is_relative_to(home / "apps" / "probe")
    assert not backup_path.is_relative_to(home / "apps" / "probe" / "data")
    assert not backup_path.is_relative_to(old.path) and not backup_path.is_relative_to(new.path)
    assert new.backup is not None and Path(new.backup.archive).is_file()
    assert [h.hook for h in new.hooks] == ["backup", "pre-update", "post-update", "verify"]
    # The old release's hooks read the live file; the new one's, before activation, a staged copy.
    live = str(home / "apps" / "probe" / "app-config.yaml")
    assert calls[1]["config_file"] == live
    assert calls[2]["config_file"] != live and calls[3]["config_file"] == calls[2]["config_file"]


@pytest.mark.parametrize("hook", ["install", "verify"])
def test_a_failing_first_install_hook_leaves_nothing(home, probes, hook, tmp_path):
    # The marker sits in the app's data dir, which a failed first install removes: plant it through
    # a pre-existing data dir (as left by `remove --keep-data`).
    data = home / "apps" / "probe" / "data"
    data.mkdir(parents=True)
    (data / f"fail-{hook}-1.0.0").touch()
    host = Host(home)
    with pytest.raises(InstallHookFailed) as info:
        host.install(probes["1.0.0"])
    message = str(info.value)
    assert f"hook {hook!r} of probe 1.0.0 failed: exited with status 3" in message
    assert f"{hook} of 1.0.0 fails on purpose" in message
    assert "nothing was installed" in message
    assert isinstance(info.value, HookFailed)
    app = home / "apps" / "probe"
    assert not (app / "current").exists()
    assert os.listdir(app / "releases") == []
    assert not (home / "apps" / "probe.journal").exists()
    assert host.apps() == []


@pytest.mark.parametrize("hook", ["backup", "pre-update", "verify", "post-update"])
def test_a_failing_update_hook_keeps_the_previous_release(home, probes, hook, app_snapshot):
    host = Host(home)
    old = host.install(probes["1.0.0"])
    before = app_snapshot(home)
    data = home / "apps" / "probe" / "data"
    version = "1.0.0" if hook in ("backup", "pre-update") else "2.0.0"
    (data / f"fail-{hook}-{version}").touch()
    with pytest.raises(InstallHookFailed) as info:
        host.install(probes["2.0.0"])
    message = str(info.value)
    assert f"hook {hook!r} of probe {version} failed" in message
    assert f"{hook} of {version} fails on purpose" in message
    assert "nothing changed: probe 1.0.0 is still the current release" in message
    if hook in ("post-update", "verify"):
        # The new release's code may have migrated data: the error says where the backup is.
        assert "the backup taken before the update is" in message
    after = app_snapshot(home)
    assert after == before
    assert after["releases"] == [old.release]
    assert host.release("probe").version == "1.0.0"
    assert host.run_command("probe", "probe", capture=True).returncode == 0


def test_remove_with_backup_keeps_the_archive(home, probes):
    host = Host(home)
    host.install(probes["1.0.0"])
    result = host.remove("probe", backup=True)
    assert result.backup is not None
    with tarfile.open(result.backup.archive) as tar:
        assert "hook/dump.txt" in tar.getnames()
        log = tar.extractfile("data/hooks.log").read().decode()  # the backup hook ran before uninstall
    assert [json.loads(line)["hook"] for line in log.splitlines()] == ["install", "verify", "backup"]
    assert sorted(os.listdir(home / "apps" / "probe")) == ["backups"]
    assert host.apps() == []


def test_uninstall_hook_runs_on_remove_and_a_failure_keeps_the_app(home, probes, read_hook_log):
    host = Host(home)
    host.install(probes["1.0.0"])
    (home / "apps" / "probe" / "data" / "fail-uninstall-1.0.0").touch()
    with pytest.raises(InstallHookFailed, match="nothing was removed"):
        host.remove("probe")
    assert host.release("probe").version == "1.0.0"
    called = read_hook_log(home)[-1]
    assert called["hook"] == "uninstall" and called["version"] == "1.0.0"
    # Spec sections 6.3 and 7.8: no versions and no backup path.
    assert (called["from"], called["to"], called["backup_path"]) == (None, None, None)
    result = host.remove("probe", force=True)
    assert result.version == "1.0.0" and not (home / "apps" / "probe").exists()


def test_on_demand_backup_runs_the_backup_hook(home, probes, read_hook_log):
    host = Host(home)
    host.install(probes["1.0.0"])
    (home / "apps" / "probe" / "data" / "files" / "note.txt").write_text("keep me")
    result = host.backup("probe")
    called = read_hook_log(home)[-1]
    assert called["hook"] == "backup" and called["backup_path"]
    assert (called["from"], called["to"]) == (None, None)  # not an update (spec section 6.3)
    with tarfile.open(result.archive) as tar:
        names = set(tar.getnames())
    assert {"pyapp-backup.json", "config.yaml", "data/files/note.txt", "hook/dump.txt"} <= names
