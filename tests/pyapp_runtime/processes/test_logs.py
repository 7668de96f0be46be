"""Reading an app's logs: the last lines, and following them as they grow, across rotations."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pyapp_runtime.processes.logs import LogFile, follow, last_lines, log_ends


def test_last_lines_reads_the_end_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "web.log"
    log.write_text("".join(f"line {i}\n" for i in range(10000)))
    assert last_lines(log, 3) == ["line 9997", "line 9998", "line 9999"]
    assert last_lines(tmp_path / "missing.log", 3) == []


def test_follow_yields_new_lines_also_after_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    path.write_text("old\n")
    seen: list[str] = []
    watching = threading.Event()
    done = threading.Event()

    def stop() -> bool:
        # follow() asks before each look at the files, after it has noted where they end.
        watching.set()
        return done.is_set()

    def reader() -> None:
        for _log, line in follow([LogFile(process="web", path=str(path))], interval=0.02, stop=stop):
            seen.append(line)

    def wait_for(lines: list[str]) -> None:
        deadline = time.monotonic() + 30
        while seen != lines:
            assert time.monotonic() < deadline, f"follow() yielded {seen}, not {lines}"
            time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert watching.wait(30), "follow() did not start"
        with open(path, "a") as f:
            f.write("first\nsec")  # one write: follow() reads the half line along with the whole one
            f.flush()
            wait_for(["first"])
            f.write("ond\n")
        wait_for(["first", "second"])
        os.rename(path, tmp_path / "web.log.1")
        path.write_text("after rotation\n")
        wait_for(["first", "second", "after rotation"])
    finally:
        done.set()
        thread.join()
    assert seen == ["first", "second", "after rotation"]


def test_what_is_written_between_the_last_lines_and_following_is_shown_once(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    path.write_text("a\nb\npart")  # a line being written
    log = LogFile(process="web", path=str(path))
    ends = log_ends([log])
    assert ends[str(path)][1] == len("a\nb\n")
    assert last_lines(path, 5, end=ends[str(path)][1]) == ["a", "b"]
    with open(path, "a") as f:
        f.write("ial\nc\n")  # written after the last lines were shown, before following started
    seen: list[str] = []
    for _log, line in follow([log], interval=0.01, since=ends, stop=lambda: len(seen) >= 2):
        seen.append(line)
    assert seen == ["partial", "c"]
