"""``pyapp logs`` as a user runs it: a real host running the app's process under supervisord.

The app, ``chatter``, has one process, ``echo``, that says each line it is asked to: the test drops a
file ``say-<n>`` in the app's data directory and the process prints ``said: <the file's text>``, which
supervisord writes to the process's log.
"""

from __future__ import annotations

import itertools
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from testkit import stop_supervisord

from apppackage.record import render_record
from apppackage.sources import DirectorySource

pytestmark = pytest.mark.slow

PYAPP = str(Path(sys.executable).with_name("pyapp"))
DEADLINE = 120  # seconds: generous, for a busy machine; a test that passes never waits this long

CHATTER = '''\
"""A process that says each line it is asked to (a file say-<n> in its data directory)."""
import os, time


def run(*args):
    data = os.environ["PYAPP_DATA_PATH"]
    print("chatter: listening", flush=True)
    while True:
        for name in sorted(os.listdir(data)):
            if name.startswith("say-"):
                path = os.path.join(data, name)
                with open(path) as f:
                    print("said:", f.read(), flush=True)
                os.unlink(path)
        time.sleep(0.05)
'''


def build_chatter(directory: Path) -> Path:
    """The chatter app as a .pyapp (a zip with its RECORD)."""
    src = directory / "chatter"
    (src / "src" / "chatter").mkdir(parents=True)
    (src / "src" / "chatter" / "__init__.py").write_text(CHATTER)
    meta = {
        "pyapp": "1.0",
        "name": "chatter",
        "version": "1.0.0",
        "processes": {"echo": {"call": "chatter:run"}},
    }
    (src / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    files = {n: (src / n).read_bytes() for n in DirectorySource(src).names() if n != "RECORD"}
    files["RECORD"] = render_record(files).encode()
    out = directory / "chatter-1.0.0.pyapp"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(name, files[name])
    return out


@pytest.fixture
def home() -> Iterator[Path]:
    """A host directory with a short path (unix sockets) and a port range of its own, run with daemons on.

    Its supervisord is shut down afterwards.
    """
    base = Path(tempfile.mkdtemp(prefix="pyapp-l-", dir="/tmp"))
    home = base / "home"
    home.mkdir()
    low = random.randrange(20000, 29000)
    (home / "host.yaml").write_text(yaml.safe_dump({"ports": f"{low}-{low + 40}"}))
    try:
        yield home
    finally:
        stop_supervisord(home / "supervisor")
        shutil.rmtree(base, ignore_errors=True)


def pyapp(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYAPP_DAEMONS": "1"}
    return subprocess.run(
        [PYAPP, *map(str, args), "--home", str(home)], env=env, capture_output=True, text=True, timeout=240
    )


class Chatter:
    """The installed chatter app: ask its process to say something."""

    def __init__(self, home: Path) -> None:
        self.data = home / "apps" / "chatter" / "data"
        self._count = itertools.count(1)

    def say(self, text: str) -> None:
        n = next(self._count)
        scratch = self.data / f".say-{n}"
        scratch.write_text(text)
        scratch.rename(self.data / f"say-{n}")  # the process never sees half a file


class Following:
    """A running ``pyapp logs ... -f``: its stdout, line by line, as it comes."""

    def __init__(self, *args: str, home: Path) -> None:
        env = {**os.environ, "PYAPP_DAEMONS": "1"}
        self.proc = subprocess.Popen(
            [PYAPP, "logs", *args, "-f", "--home", str(home)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next_line(self, wait: float) -> str | None:
        """The next line printed, or ``None`` when none comes within *wait* seconds."""
        try:
            line = self._queue.get(timeout=max(wait, 0.0))
        except queue.Empty:
            return None
        if line is None:
            _, err = self.proc.communicate()
            pytest.fail(f"pyapp logs -f ended ({self.proc.returncode}): {err}; printed: {self.lines}")
        self.lines.append(line)
        return line

    def expect(self, wanted: str) -> None:
        """Wait until *wanted* is printed."""
        deadline = time.monotonic() + DEADLINE
        while self.next_line(deadline - time.monotonic()) != wanted:
            assert time.monotonic() < deadline, f"{wanted!r} not printed; printed: {self.lines}"

    def until_following(self, chatter: Chatter, prefix: str) -> None:
        """Ask the process to say ``ping <n>`` until a ping is printed: from then on the command follows.

        The command starts following the logs just after it has printed their last lines; a line
        written in between is never printed, so a ping may be lost and another is sent (after a
        pause that only paces the pings: no answer in it is no failure).
        """
        deadline = time.monotonic() + DEADLINE
        for n in itertools.count(1):
            assert time.monotonic() < deadline, f"no ping printed; printed: {self.lines}"
            chatter.say(f"ping {n}")
            pause = time.monotonic() + 5
            while (line := self.next_line(min(pause, deadline) - time.monotonic())) is not None:
                if line.startswith(f"{prefix}said: ping "):
                    return

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the command ends; its exit status and stderr (what it printed is in ``lines``)."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        self._reader.join(timeout=60)
        while (line := self._queue.get(timeout=60)) is not None:
            self.lines.append(line)
        return self.proc.returncode, err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def wait_until_logs_show(lines: list[str], *args: str, home: Path) -> None:
    """Run ``pyapp logs chatter ARGS`` until it prints *lines* (the process writes them meanwhile)."""
    deadline = time.monotonic() + DEADLINE
    while (shown := pyapp("logs", "chatter", *args, home=home)).stdout.splitlines() != lines:
        assert shown.returncode == 0, shown.stderr
        assert time.monotonic() < deadline, f"pyapp logs chatter {args} printed {shown.stdout!r}, not {lines}"
        time.sleep(0.1)


@pytest.fixture
def chatter(home: Path, tmp_path: Path) -> Chatter:
    """The chatter app installed and running, its process's first line in its log."""
    installed = pyapp("install", build_chatter(tmp_path), home=home)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    wait_until_logs_show(["chatter: listening"], "--process", "echo", "-n", "1", home=home)
    return Chatter(home)


def test_logs_shows_the_last_lines_of_each_process_or_of_one(home: Path, chatter: Chatter) -> None:
    for text in ("one", "two", "three"):
        chatter.say(text)
    wait_until_logs_show(["said: two", "said: three"], "--process", "echo", "-n", "2", home=home)

    every = pyapp("logs", "chatter", "-n", "3", home=home)
    assert every.returncode == 0, every.stderr
    header, *lines = every.stdout.splitlines()
    # Several logs (the process's and the hooks'): each that has lines is headed by its process.
    assert re.fullmatch(
        rf"==> echo#0 \({re.escape(str(home))}/apps/chatter/logs/echo-0-\w+\.log\) <==", header
    )
    assert lines == ["said: one", "said: two", "said: three"]

    unknown = pyapp("logs", "chatter", "--process", "nope", home=home)
    assert unknown.returncode == 1
    assert "chatter has no process 'nope' with a log (known: echo#0, hooks)" in unknown.stderr


@pytest.mark.parametrize("only", [False, True], ids=["every-process", "one-process"])
def test_logs_follow_prints_each_new_line_as_it_is_written(home: Path, chatter: Chatter, only: bool) -> None:
    chatter.say("before")
    select = ["--process", "echo"] if only else []
    # With one log the lines are printed as they are; with several, after the process they come from.
    prefix = "" if only else "echo#0: "
    wait_until_logs_show(["said: before"], "--process", "echo", "-n", "1", home=home)

    following = Following("chatter", *select, "-n", "1", home=home)
    try:
        following.expect("said: before")  # the last line, as -n 1 asks
        following.until_following(chatter, prefix)
        for n in range(1, 4):
            chatter.say(f"line {n}")
            following.expect(f"{prefix}said: line {n}")
        status, err = following.interrupt()
    finally:
        following.close()
    assert status == 0, err
    # Each line once, in order (pings aside), after the last line of the log as it was.
    head = [] if only else [f"==> echo#0 ({next((home / 'apps/chatter/logs').glob('echo-0-*.log'))}) <=="]
    printed = [line for line in following.lines if not line.startswith(f"{prefix}said: ping ")]
    assert printed == [*head, "said: before", *(f"{prefix}said: line {n}" for n in range(1, 4))]
