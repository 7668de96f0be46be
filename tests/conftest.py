"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
WHEELHOUSE_LIST = Path(__file__).with_name("wheelhouse.txt")

# Hosts in tests start no app processes unless a test turns them on (Host(settings=...), or
# PYAPP_DAEMONS=1 for a command): a supervisord started by a test would outlive the session.
os.environ.setdefault("PYAPP_DAEMONS", "0")

# A suite started in the background by a shell runs with SIGINT ignored, and every command a test
# starts would inherit that: tests that stop a command with Ctrl-C (SIGINT) would wait for nothing.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _no_supervisord_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end, stop every supervisord (and so its apps) started under this session's temp dirs.

    A test that runs a host with a clean environment (no PYAPP_DAEMONS) starts one when
    it installs an app with a web part; SIGTERM makes supervisord stop its programs and exit.
    """
    yield

    base = str(tmp_path_factory.getbasetemp()) + os.sep
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "supervisor.supervisord" in argv and "-c" in argv[:-1]:
            config = argv[argv.index("-c") + 1]
            if config.startswith(base):
                with contextlib.suppress(OSError):
                    os.kill(int(entry), signal.SIGTERM)


@pytest.fixture(scope="session", autouse=True)
def _no_app_users_left() -> Iterator[None]:
    """At the end, remove the apps' users and groups (``pyapp-*``, made by pyapp) this session created and
    left, unless a process still runs as one (another session's, then)."""
    import grp
    import pwd

    before = {entry.pw_name for entry in pwd.getpwall()}
    yield
    if os.geteuid() != 0:
        return
    from pyapp_runtime.isolation.identity import COMMENT, USER_PREFIX

    def running() -> set[int]:
        uids = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):
                uids.add(os.stat(f"/proc/{pid}").st_uid)
        return uids

    left = [
        entry
        for entry in pwd.getpwall()
        if entry.pw_name not in before
        and entry.pw_name.startswith(USER_PREFIX)
        and entry.pw_gecos.startswith(COMMENT)
    ]
    deadline = time.monotonic() + 30  # the apps of a supervisord just stopped take a moment to end
    while left and {e.pw_uid for e in left} & running() and time.monotonic() < deadline:
        time.sleep(0.5)
    busy = running()
    for entry in left:
        name = entry.pw_name
        if entry.pw_uid in busy:
            continue
        subprocess.run(["userdel", name], capture_output=True, check=False)
        with contextlib.suppress(KeyError):
            grp.getgrnam(name)
            subprocess.run(["groupdel", name], capture_output=True, check=False)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """A local folder of wheels (tests/wheelhouse.txt), downloaded once and shared by every test and worker.

    Tests build and install packages from it with no network. ``PYAPP_TEST_WHEELHOUSE``
    points elsewhere; the default is ``.cache/wheelhouse`` in the checkout.
    """
    target = Path(os.environ.get("PYAPP_TEST_WHEELHOUSE", ROOT / ".cache" / "wheelhouse"))
    target.mkdir(parents=True, exist_ok=True)
    stamp = target / ".complete"
    wanted = WHEELHOUSE_LIST.read_text()
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != wanted:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                 "-d", str(target), "-r", str(WHEELHOUSE_LIST)],
                check=True,
            )  # fmt: skip
            stamp.write_text(wanted)
    return target


@pytest.fixture
def clean_environ() -> Iterator[None]:
    """Restore os.environ after a test that changes it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
