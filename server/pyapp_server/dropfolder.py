"""The drop folder: a ``.pyapp`` (or ``.zip``) copied into it is installed, or its app updated.

A polling thread looks at the folder every ``drop_interval`` seconds (no inotify needed).
A file is taken only once it is complete: its size and modification time are the same
on two looks in a row and no process has it open for writing. Names starting with
``.`` and ending in ``.part`` or ``.tmp`` are never taken (copy tools write those first).

A file taken is moved to ``.work/`` (so that nothing picks it up twice) and installed as
a job with the actor ``drop-folder``; then it goes to ``done/``, or to ``failed/`` with
``<file>.reason.txt`` saying why. A file whose app has a job running waits for the next
look.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pyramid.config import Configurator

from apppackage.errors import AppPackageError

from .errors import AppBusy, error_body, error_text
from .jobs import Job
from .manager import AppManager

__all__ = ["ACTOR", "DropFolder", "DropOutcome", "DropReport", "DroppedFile", "includeme", "open_for_writing"]

log = logging.getLogger("pyapp_server.drop")

ACTOR = "drop-folder"
SUFFIXES = (".pyapp", ".zip")
IGNORED_SUFFIXES = (".part", ".tmp")


@dataclass(frozen=True, kw_only=True)
class DropOutcome:
    """What one look did with one file: ``queued`` (a job), ``failed`` (refused at once) or ``waiting``."""

    file: str
    state: str
    job: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class DroppedFile:
    """A file the drop folder took: its name, when it was done with, and why it failed (if it did)."""

    file: str
    time: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DropReport:
    """What the drop folder holds (:meth:`DropFolder.report`)."""

    waiting: tuple[str, ...] = ()
    done: tuple[DroppedFile, ...] = ()
    failed: tuple[DroppedFile, ...] = ()


def _mtime(path: Path) -> str:
    """When *path* was last written, ISO 8601 in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))


def open_for_writing(path: Path) -> bool:
    """Whether a process (that this user may inspect) has *path* open for writing (Linux ``/proc``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    try:
        target = os.stat(path)
    except OSError:
        return False
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fd_dir = proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(fd_dir / fd)
                if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino):
                    continue
                flags = (proc / pid / "fdinfo" / fd).read_text().split("flags:", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if int(flags, 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
    return False


def _unique(directory: Path, name: str) -> Path:
    """*directory*/*name*, or ``stem~N.suffix`` when that is taken."""
    target = directory / name
    stem, suffix = os.path.splitext(name)
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = directory / f"{stem}~{n}{suffix}"
        n += 1
    return target


class DropFolder:
    """Watches *path* and installs what is dropped there through *apps*."""

    def __init__(self, path: Path, apps: AppManager, *, interval: float = 2.0) -> None:
        self.path = path
        self.apps = apps
        self.interval = interval
        self.work = path / ".work"
        self.done = path / "done"
        self.failed = path / "failed"
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        for directory in (self.path, self.work, self.done, self.failed):
            directory.mkdir(parents=True, exist_ok=True)

    def candidates(self) -> list[Path]:
        """The files a look considers (complete or not)."""
        try:
            entries = sorted(os.scandir(self.path), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        return [
            Path(e.path)
            for e in entries
            if e.is_file(follow_symlinks=False)
            and not e.name.startswith(".")
            and not e.name.endswith(IGNORED_SUFFIXES)
            and e.name.lower().endswith(SUFFIXES)
        ]

    def poll(self) -> list[DropOutcome]:
        """Look once: take every file that has been complete since the previous look."""
        with self._lock:
            self.ensure()
            outcomes = []
            seen: dict[str, tuple[int, int]] = {}
            for path in self.candidates():
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                key = (st.st_size, st.st_mtime_ns)
                stable = self._seen.get(path.name) == key
                seen[path.name] = key
                if not stable or open_for_writing(path):
                    continue
                outcome = self._take(path)
                outcomes.append(outcome)
                if outcome.state != "waiting":  # a waiting file stays complete: taken on a later look
                    del seen[path.name]
            self._seen = seen
            return outcomes

    def _take(self, path: Path) -> DropOutcome:
        work = _unique(self.work, path.name)
        os.replace(path, work)
        try:
            job = self.apps.install(work, ACTOR, on_done=lambda job: self._finished(work, path.name, job))
        except AppBusy:
            os.replace(work, path)  # back where it was: taken again on a later look
            return DropOutcome(file=path.name, state="waiting")
        except AppPackageError as exc:
            body = error_body(exc)
            message = error_text(body["error"]["message"], body["errors"])
            self._fail(work, path.name, message)
            self.apps.events.record(
                "drop", f"{path.name} refused: {message.splitlines()[0]}", outcome="failed", actor=ACTOR
            )
            return DropOutcome(file=path.name, state="failed", reason=message)
        log.info("drop folder: %s queued as job %s", path.name, job.id)
        return DropOutcome(file=path.name, state="queued", job=job.id)

    def _fail(self, work: Path, name: str, reason: str) -> Path:
        target = _unique(self.failed, name)
        os.replace(work, target)
        target.with_name(target.name + ".reason.txt").write_text(reason.rstrip("\n") + "\n", "utf-8")
        log.warning("drop folder: %s failed: %s", name, reason.splitlines()[0] if reason else "")
        return target

    def _finished(self, work: Path, name: str, job: Job) -> None:
        if job.state == "succeeded":
            os.replace(work, _unique(self.done, name))
            log.info("drop folder: %s done (job %s)", name, job.id)
        else:
            error = job.error or {}
            reason = error_text(str(error.get("message", "the install failed")), error.get("errors", []))
            self._fail(work, name, reason)

    def report(self, limit: int = 20) -> DropReport:
        """What the folder holds: the files waiting to be taken, and the newest *limit* done and failed
        (each failed one with why)."""

        def newest(directory: Path) -> list[Path]:
            try:
                files = [p for p in directory.iterdir() if p.is_file() and not p.name.endswith(".reason.txt")]
            except FileNotFoundError:
                return []
            return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]

        def reason(path: Path) -> str:
            try:
                return path.with_name(path.name + ".reason.txt").read_text("utf-8").strip()
            except OSError:
                return ""

        return DropReport(
            waiting=tuple(p.name for p in self.candidates()),
            done=tuple(DroppedFile(file=p.name, time=_mtime(p)) for p in newest(self.done)),
            failed=tuple(
                DroppedFile(file=p.name, time=_mtime(p), reason=reason(p)) for p in newest(self.failed)
            ),
        )

    # -- the polling thread ----------------------------------------------------------

    def recover(self) -> None:
        """Put back files a stopped server left in ``.work/``: the next looks take them again."""
        self.ensure()
        for path in sorted(self.work.iterdir()):
            os.replace(path, _unique(self.path, path.name))

    def start(self) -> None:
        if self._thread is not None or self.interval <= 0:
            return
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="pyapp-drop-folder", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:
                log.exception("drop folder %s: a look failed", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def includeme(config: Configurator) -> None:
    """Start watching the drop folder once the app is made (unless ``drop_interval`` is 0)."""
    services = config.registry["pyapp.services"]
    if services.settings.drop_interval > 0:
        config.action(None, services.drop.start, order=1000)
