"""The data version (spec section 3.19): what each release keeps, which data version the data is in, and the
rollbacks and installs below it refused, naming the backup that brings the data back and how to restore it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.errors import DataVersionTooLow, InstallHookFailed


def release(factory: Any, version: str, data_version: int) -> Path:
    """The probe app at *version*, keeping its data in *data_version*."""
    return factory.probe(version, metadata={"pyapp": "1.1", "data_version": data_version})


def notes(home: Path) -> Path:
    return home / "apps" / "probe" / "data" / "notes.txt"


def updated(home: Path, factory: Any, *, backup: bool = True) -> Host:
    """probe 1.0.0 (data version 1) with its data, updated to 2.0.0 (data version 2), which migrated it."""
    host = Host(home)
    host.install(release(factory, "1.0.0", 1))
    notes(home).write_text("kept as 1.0.0 keeps it")
    host.install(release(factory, "2.0.0", 2), backup=backup)
    notes(home).write_text("migrated by 2.0.0")
    return host


def test_each_release_records_its_data_version_and_the_data_follows_the_updates(
    home: Path, factory: Any
) -> None:
    host = Host(home)
    host.install(release(factory, "1.0.0", 1))
    assert host.show("probe").data_version == {"data_version": 1, "since": "the install of probe 1.0.0"}

    update = host.install(release(factory, "2.0.0", 2))

    info = host.show("probe").to_dict()
    assert info["data_version"] == {"data_version": 2, "since": "the update to probe 2.0.0"}
    assert [(r["version"], r["data_version"]) for r in info["releases"]] == [("2.0.0", 2), ("1.0.0", 1)]
    assert info["updates"] == {"strategy": "always-latest", "start": "beside"}
    # The backup taken first keeps the data version of the release that made it, and where the update went.
    assert update.backup is not None
    assert (update.backup.data_version, update.backup.to_version) == (1, "2.0.0")
    (backup,) = host.backups("probe")
    assert (backup.data_version, backup.to_version, backup.to_data_version) == (1, "2.0.0", 2)
    # An update that keeps the data version keeps what put the data there.
    host.install(release(factory, "2.1.0", 2))
    assert host.show("probe").data_version == {"data_version": 2, "since": "the update to probe 2.0.0"}


def test_a_rollback_below_the_data_version_is_refused_naming_both_the_backup_and_the_commands(
    home: Path, factory: Any, app_snapshot: Any
) -> None:
    host = updated(home, factory)
    (backup,) = host.backups("probe")
    before = app_snapshot(home)

    with pytest.raises(DataVersionTooLow) as refused:
        host.rollback("probe")

    message = str(refused.value)
    assert message.splitlines() == [
        "refused to roll probe back to 1.0.0: probe 1.0.0 keeps its data in data version 1, and the data of "
        "probe is in data version 2 (since the update to probe 2.0.0), which the code of probe 1.0.0 may not "
        "read (spec section 3.19)",
        f"The backup {backup.name} was taken before the update to 2.0.0, with the data in data version 1: "
        "restore it, then roll back:",
        f"  pyapp restore probe {backup.path}",
        "  pyapp rollback probe",
        "Without the restore, pyapp rollback probe --force does it on the data as it is.",
    ]
    assert refused.value.backup == str(backup.path)
    assert app_snapshot(home) == before  # nothing changed
    assert host.release("probe").version == "2.0.0"
    assert notes(home).read_text() == "migrated by 2.0.0"


def test_restoring_that_backup_then_rolling_back_brings_back_the_old_release_with_its_data(
    home: Path, factory: Any
) -> None:
    host = updated(home, factory)
    with pytest.raises(DataVersionTooLow) as refused:
        host.rollback("probe", to="1.0.0")
    archive = refused.value.backup
    assert archive is not None

    restored = host.restore("probe", archive)

    assert restored.data_version == 1
    assert restored.note is not None and "pyapp rollback probe --to 1.0.0" in restored.note
    assert notes(home).read_text() == "kept as 1.0.0 keeps it"
    rolled = host.rollback("probe", to="1.0.0")
    assert (rolled.from_version, rolled.version, rolled.data_version) == ("2.0.0", "1.0.0", 1)
    assert rolled.warnings == ()
    assert host.release("probe").version == "1.0.0"
    assert notes(home).read_text() == "kept as 1.0.0 keeps it"
    state = host.show("probe").data_version
    assert state == {"data_version": 1, "since": f"the restore of {Path(archive).name}"}
    # Forward again: 2.0.0's code reads data version 1 no worse than at its update, so nothing is refused.
    assert host.rollback("probe").version == "2.0.0"


def test_without_such_a_backup_the_refusal_says_so_and_force_rolls_back_on_the_data_as_it_is(
    home: Path, factory: Any
) -> None:
    host = updated(home, factory, backup=False)

    with pytest.raises(DataVersionTooLow) as refused:
        host.rollback("probe", to="1.0.0")

    assert refused.value.backup is None
    lines = str(refused.value).splitlines()
    assert lines[1].startswith(
        "No backup taken before the update that raised the data version above 1 is kept"
    )
    assert lines[2] == "To do it on the data as it is: pyapp rollback probe --to 1.0.0 --force"
    forced = host.rollback("probe", to="1.0.0", force=True)
    assert forced.version == "1.0.0" and forced.data_version == 2
    assert forced.warnings == (
        "probe 1.0.0 keeps its data in data version 1 and the data stays in data version 2, which its code "
        "may not read (rolled back with --force)",
    )
    assert notes(home).read_text() == "migrated by 2.0.0"
    # The data is still in data version 2: 2.0.0 reads it, and a release of data version 1 stays refused.
    assert host.show("probe").data_version == {"data_version": 2, "since": "the update to probe 2.0.0"}
    assert host.rollback("probe").version == "2.0.0"


def test_the_backup_named_is_the_newest_one_taken_before_the_update_that_raised_the_data_version(
    home: Path, factory: Any
) -> None:
    host = Host(home, keep_releases=4)
    host.install(release(factory, "1.0.0", 1))
    before_1_1 = host.install(release(factory, "1.1.0", 1)).backup  # to 1.1.0: the data version stayed 1
    raising = host.install(release(factory, "2.0.0", 2)).backup
    after = host.install(release(factory, "2.1.0", 2)).backup  # made by 2.0.0, in data version 2
    assert before_1_1 and raising and after

    for target in ("1.0.0", "1.1.0"):
        with pytest.raises(DataVersionTooLow) as refused:
            host.rollback("probe", to=target)
        assert refused.value.backup == raising.archive, target
        assert refused.value.raised_by == "2.0.0"
    assert host.rollback("probe", to="2.0.0").version == "2.0.0"  # the same data version


def test_an_older_package_over_newer_data_is_refused_the_same_way_unless_forced(
    home: Path, factory: Any
) -> None:
    host = updated(home, factory)
    (backup,) = host.backups("probe")
    older = release(factory, "1.0.0", 1)

    with pytest.raises(DataVersionTooLow) as refused:
        host.install(older)

    lines = str(refused.value).splitlines()
    assert lines[0].startswith("refused to install probe 1.0.0: probe 1.0.0 keeps its data in data version 1")
    assert lines[2:] == [
        f"  pyapp restore probe {backup.path}",
        f"  pyapp install {older} --force",  # --force: 1.0.0 is older than 2.0.0
        f"Without the restore, pyapp install {older} --force does it on the data as it is.",
    ]
    assert host.release("probe").version == "2.0.0"
    # A newer version that lowers the data version needs no --force once the data is restored.
    with pytest.raises(DataVersionTooLow) as newer:
        host.install(release(factory, "2.0.1", 1))
    assert f"  pyapp install {factory.root / 'probe-2.0.1.pyapp'}" in str(newer.value).splitlines()

    forced = host.install(older, force=True)

    assert forced.action == "downgraded"
    assert any("the data stays in data version 2" in w for w in forced.warnings)
    assert host.show("probe").data_version == {"data_version": 2, "since": "the update to probe 2.0.0"}


def test_a_failed_update_leaves_the_data_version_as_it_was(home: Path, factory: Any) -> None:
    host = Host(home)
    host.install(release(factory, "1.0.0", 1))
    (home / "apps" / "probe" / "data" / "fail-verify-2.0.0").write_text("")

    with pytest.raises(InstallHookFailed):
        host.install(release(factory, "2.0.0", 2))

    assert host.show("probe").data_version == {"data_version": 1, "since": "the install of probe 1.0.0"}


def test_data_kept_by_a_removal_keeps_its_data_version(home: Path, factory: Any) -> None:
    host = updated(home, factory)
    host.remove("probe", keep_data=True)

    with pytest.raises(DataVersionTooLow) as refused:
        host.install(release(factory, "1.0.0", 1))

    assert refused.value.data_version == 2 and refused.value.backup is not None
    assert host.install(release(factory, "2.0.0", 2)).action == "installed"


def test_the_command_line_refuses_shows_and_restores(home: Path, factory: Any, pyapp_cli: Any) -> None:
    host = updated(home, factory)
    (backup,) = host.backups("probe")

    refused = pyapp_cli("rollback", "probe", home=home)
    assert refused.returncode == 1
    assert f"pyapp restore probe {backup.path}" in refused.stderr
    assert "Without the restore, pyapp rollback probe --force does it on the data as it is." in refused.stderr
    as_json = pyapp_cli("rollback", "probe", "--json", home=home)
    assert as_json.returncode == 1 and "data version 2" in json.loads(as_json.stdout)["error"]["message"]

    shown = pyapp_cli("show", "probe", home=home).stdout
    assert "  data version: 2 (since the update to probe 2.0.0)" in shown
    assert "  updates: strategy always-latest, start beside" in shown
    assert "data version 1" in next(line for line in shown.splitlines() if line.strip().startswith("1.0.0-"))

    restored = pyapp_cli("restore", "probe", str(backup.path), home=home)
    assert restored.returncode == 0, restored.stderr
    assert "  data version: 1" in restored.stdout
    assert (
        "roll back to the release that made the backup (pyapp rollback probe --to 1.0.0)" in restored.stderr
    )
    rolled = pyapp_cli("rollback", "probe", home=home)
    assert rolled.returncode == 0, rolled.stderr
    assert "probe: 2.0.0 -> 1.0.0" in rolled.stdout
    assert notes(home).read_text() == "kept as 1.0.0 keeps it"
