"""The drop folder: complete files are installed and moved to done/ or failed/ (with the reason)."""

from __future__ import annotations

import os
import shutil
import threading


def drop(api, package, name=None):
    folder = api.services.drop
    folder.ensure()
    target = folder.path / (name or package.name)
    shutil.copy(package, target)
    return folder, target


def test_a_dropped_package_is_installed_then_moved_to_done(api, packages) -> None:
    folder, target = drop(api, packages.hello())
    assert folder.poll() == [], "a file is taken only once it was the same on two looks"
    (outcome,) = folder.poll()
    assert outcome.state == "queued"
    job = api.services.jobs.wait(outcome.job, 60)
    assert job.state == "succeeded", job.error
    assert not target.exists()
    assert (folder.done / target.name).is_file()
    assert api.get("/api/v1/apps/hello").json["version"] == "1.0.0"
    (event,) = api.get("/api/v1/events?app=hello").json["events"]
    assert (event["kind"], event["actor"], event["outcome"]) == ("install", "drop-folder", "succeeded")

    folder, _ = drop(api, packages.hello("1.1.0"))
    folder.poll()
    (outcome,) = folder.poll()
    assert api.services.jobs.wait(outcome.job, 60).result["action"] == "updated"
    assert sorted(p.name for p in folder.done.iterdir()) == ["hello-1.0.0.pyapp", "hello-1.1.0.pyapp"]


def test_broken_packages_end_in_failed_with_their_reason(api, packages) -> None:
    folder, _ = drop(api, packages.junk())
    drop(api, packages.hostile())
    folder.poll()
    outcomes = folder.poll()
    assert sorted(o.state for o in outcomes) == ["failed", "failed"]
    reason = (folder.failed / "evil-1.0.pyapp.reason.txt").read_text()
    assert "'..'" in reason
    assert "not a package" in (folder.failed / "junk-1.0.pyapp.reason.txt").read_text()
    assert (folder.failed / "junk-1.0.pyapp").is_file()
    assert api.get("/api/v1/apps").json["apps"] == []

    drop(api, packages.hello())
    folder.poll()
    api.services.jobs.wait(folder.poll()[0].job, 60)
    drop(api, packages.failing_install())
    folder.poll()
    (outcome,) = folder.poll()
    assert api.services.jobs.wait(outcome.job, 60).state == "failed"
    reason = (folder.failed / "hello-2.0.0.pyapp.reason.txt").read_text()
    assert "hook 'verify' of hello 2.0.0 failed" in reason
    assert api.get("/api/v1/apps/hello").json["version"] == "1.0.0"
    kinds = [(e["kind"], e["outcome"]) for e in api.get("/api/v1/events").json["events"]]
    assert ("drop", "failed") in kinds and ("update", "failed") in kinds


def test_half_written_and_ignored_files_are_left_alone(api, packages) -> None:
    folder = api.services.drop
    folder.ensure()
    data = packages.hello().read_bytes()
    for name in (".hidden.pyapp", "hello.pyapp.part", "hello.pyapp.tmp", "notes.txt"):
        (folder.path / name).write_bytes(data)
    growing = folder.path / "growing.pyapp"
    growing.write_bytes(data[:100])
    with open(folder.path / "held.pyapp", "wb") as writer:
        writer.write(data)
        writer.flush()
        assert folder.poll() == []
        with open(growing, "ab") as more:
            more.write(data[100:200])
        assert folder.poll() == [], "held open for writing, or grew since the last look"
        assert (folder.path / "held.pyapp").exists()
    failed, queued = folder.poll()  # both unchanged since the last look, and nobody writes them now
    assert (failed.file, failed.state, queued.file, queued.state) == (
        "growing.pyapp",
        "failed",
        "held.pyapp",
        "queued",
    )
    api.services.jobs.wait(queued.job, 60)
    for name in (".hidden.pyapp", "hello.pyapp.part", "hello.pyapp.tmp", "notes.txt"):
        assert (folder.path / name).exists()


def test_a_file_for_a_busy_app_waits_for_a_later_look(api, packages) -> None:
    api.install(packages.hello())
    release = threading.Event()
    blocker = api.services.jobs.submit("update", "hello", "test", lambda ctx: {"waited": release.wait(30)})
    folder, target = drop(api, packages.hello("1.3.0"))
    try:
        folder.poll()
        assert [o.state for o in folder.poll()] == ["waiting"]
        assert target.exists()
    finally:
        release.set()
    api.services.jobs.wait(blocker.id, 30)
    outcomes = folder.poll() or folder.poll()
    assert api.services.jobs.wait(outcomes[0].job, 60).state == "succeeded"


def test_files_left_in_work_by_a_stopped_server_are_taken_again(api, packages) -> None:
    folder = api.services.drop
    folder.ensure()
    shutil.copy(packages.hello(), folder.work / "hello-1.0.0.pyapp")
    folder.recover()
    assert os.listdir(folder.work) == []
    folder.poll()
    (outcome,) = folder.poll()
    assert outcome.state == "queued"
    api.services.jobs.wait(outcome.job, 60)
