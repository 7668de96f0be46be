"""``pyapp_runtime.hostevents``: the host's own events, appended as JSON lines and read from an offset."""

from __future__ import annotations

from pathlib import Path

import pyapp_runtime.hostevents as hostevents
import pytest
from pyapp_runtime.hostevents import read_events, record_event


def test_events_are_read_from_where_the_last_read_stopped_and_after_a_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    assert read_events(path) == ([], 0)
    record_event(path, "supervisord", "started it again")
    record_event(path, "crash", "web keeps exiting\nits output", app="hello", failed=True)
    events, offset = read_events(path)
    assert [(e.kind, e.app, e.outcome) for e in events] == [
        ("supervisord", None, "succeeded"),
        ("crash", "hello", "failed"),
    ]
    assert events[1].message == "web keeps exiting\nits output"
    assert path.stat().st_mode & 0o077 == 0  # an app's output may say what only its owner should read
    with open(path, "ab") as f:
        f.write(b'{"time": 1, "kind": "boot"')  # a line being written: read once it is whole
    assert read_events(path, offset) == ([], offset)

    monkeypatch.setattr(hostevents, "MAX_BYTES", 10)
    record_event(path, "recovered", "runs again", app="hello")
    assert path.with_name("events.jsonl.1").exists()
    events, _ = read_events(path, offset)  # the file is new and shorter: read from its start
    assert [e.kind for e in events] == ["recovered"]
