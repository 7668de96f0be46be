"""Per-app locks: commands that change an app run one at a time on a host.

The lock is an ``fcntl.flock`` on ``apps/<name>.lock``; the kernel drops it when
its holder dies (even with ``kill -9``), so a lock is never left stale. The file
holds the holder's pid and operation, read by whoever finds it busy. Lock files are
never deleted: a waiter holding the old inode would otherwise lock a file nobody
else sees.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from .errors import AppLocked

__all__ = ["AppLock", "SharedLock", "read_holder"]

POLL_SECONDS = 0.05


def read_holder(path: Path) -> tuple[int | None, str]:
    """The pid and operation written by the lock's holder, as far as they can be read."""
    try:
        info = json.loads(path.read_text("utf-8") or "{}")
    except (OSError, ValueError):
        return None, ""
    pid = info.get("pid") if isinstance(info, dict) else None
    operation = info.get("operation", "") if isinstance(info, dict) else ""
    return (pid if isinstance(pid, int) else None), str(operation)


class AppLock:
    """An exclusive lock on one app; use as a context manager or call :meth:`acquire`/:meth:`release`.

    *wait* is how many seconds to wait for a busy lock before raising
    :class:`AppLocked` (0: fail at once).
    """

    def __init__(self, path: Path, name: str, *, operation: str = "", wait: float = 0.0) -> None:
        self.path = path
        self.name = name
        self.operation = operation
        self.wait = wait
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> AppLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    pid, operation = read_holder(self.path)
                    raise AppLocked(self.name, str(self.path), pid, operation) from None
                time.sleep(POLL_SECONDS)
        info = json.dumps({"pid": os.getpid(), "operation": self.operation, "since": time.time()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def __enter__(self) -> AppLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class SharedLock:
    """A shared/exclusive ``flock`` on a host-wide file (the server-packages lock).

    Installs hold it shared while they place and reference shared dependencies;
    garbage collection takes it exclusively, and only when nobody else holds it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool = False, blocking: bool = True) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
