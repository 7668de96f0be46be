"""Reading an app's log files: the last lines, and following them as they grow.

Each supervised program writes its standard output and error to ``logs/<program>.log``
(supervisord rotates it: ``.log.1``, ``.log.2``...); the host's hook runs go to
``logs/hooks.log``. :func:`last_lines` reads the end of a file without reading all of
it; :func:`follow` yields new lines as they are written, across rotations.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NoSuchProcess
from .programs import SCHEDULER, release_tag

if TYPE_CHECKING:
    from ..layout import AppLayout
    from .runstate import DaemonStatus

__all__ = ["LogFile", "Mark", "app_logs", "follow", "last_lines", "log_ends"]

_CHUNK = 65536
_WEB_LOG = re.compile(r"web-(?P<tag>[0-9a-f]{12})(?:-(?P<index>\d+))?\.log")
_PROCESS_LOG = re.compile(r"(?P<name>.+)-(?P<index>\d+)-(?P<tag>[0-9a-f]{12})\.log")


@dataclass(frozen=True, kw_only=True)
class LogFile:
    """One log file and the process it belongs to (``web``, ``queue#1``, ``tasks``, ``hooks``)."""

    process: str
    path: str

    def to_dict(self) -> dict[str, str]:
        return {"process": self.process, "path": self.path}


def _release_logs(app: AppLayout, release: str) -> list[LogFile]:
    """The log files the programs of *release* wrote, named as :mod:`.specs` names them, by process."""
    tag = release_tag(release)
    out = []
    for path in sorted(app.output.glob("*.log")):
        if path.name == f"{SCHEDULER}.log":
            out.append(LogFile(process=SCHEDULER, path=str(path)))
        elif match := _WEB_LOG.fullmatch(path.name):
            if match["tag"] == tag:
                out.append(
                    LogFile(
                        process="web" if match["index"] is None else f"web#{match['index']}", path=str(path)
                    )
                )
        elif (match := _PROCESS_LOG.fullmatch(path.name)) and match["tag"] == tag:
            out.append(LogFile(process=f"{match['name']}#{match['index']}", path=str(path)))
    return out


def app_logs(
    app: AppLayout,
    statuses: Sequence[DaemonStatus],
    *,
    process: str | None = None,
    release: str | None = None,
) -> list[LogFile]:
    """The log files of *app*'s processes (*statuses*) and hook runs; only *process*'s when given.

    With *release*, the logs its programs left are there too when they no longer run (a
    stopped app's, say).
    """
    files = [LogFile(process=s.process, path=s.log) for s in statuses if s.log]
    listed = {f.path for f in files}
    if release is not None:
        files += [f for f in _release_logs(app, release) if f.path not in listed]
    files.append(LogFile(process="hooks", path=str(app.output / "hooks.log")))
    if process is None:
        return files
    chosen = [f for f in files if process in (f.process, f.process.partition("#")[0])]
    if not chosen:
        raise NoSuchProcess(app.name, process, sorted({f.process for f in files}))
    return chosen


def last_lines(
    path: str | os.PathLike[str], count: int, *, end: int | None = None, max_bytes: int | None = None
) -> list[str]:
    """The last *count* lines of the file at *path* (without their line ends); ``[]`` when it is missing.

    *end* reads only what lies before that offset (see :func:`log_ends`); *max_bytes* reads no more than
    that many bytes from the end (the first line then starts where reading began).
    """
    if count <= 0:
        return []
    try:
        f = open(path, "rb")  # noqa: SIM115 -- closed below, read backwards in chunks
    except FileNotFoundError:
        return []
    with f:
        f.seek(0, os.SEEK_END)
        position = f.tell() if end is None else min(end, f.tell())
        limit = position - max_bytes if max_bytes is not None else 0
        data = b""
        while position > max(limit, 0) and data.count(b"\n") <= count:
            step = min(_CHUNK, position - max(limit, 0))
            position -= step
            f.seek(position)
            data = f.read(step) + data
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-count:]


Mark = tuple[int, int]
"""Where reading a log file goes on: its inode and an offset in it."""


def log_ends(files: Sequence[LogFile]) -> dict[str, Mark]:
    """Where the complete lines of each of *files* end now (after its last line end).

    Show :func:`last_lines` up to these offsets, then :func:`follow` from them: no line
    written in between is lost, none is shown twice, and a line being written is shown
    once whole.
    """
    marks = {}
    for log in files:
        try:
            with open(log.path, "rb") as f:
                inode, position = os.fstat(f.fileno()).st_ino, f.seek(0, os.SEEK_END)
                while position > 0:
                    step = min(_CHUNK, position)
                    f.seek(position - step)
                    newline = f.read(step).rfind(b"\n")
                    if newline >= 0:
                        position = position - step + newline + 1
                        break
                    position -= step
        except FileNotFoundError:
            inode, position = 0, 0
        marks[log.path] = (inode, position)
    return marks


def follow(
    files: Sequence[LogFile],
    *,
    interval: float = 0.25,
    stop: Callable[[], bool] | None = None,
    since: Mapping[str, Mark] | None = None,
) -> Iterator[tuple[LogFile, str]]:
    """Yield ``(file, line)`` for each line appended to *files*, until *stop* returns true.

    It starts where the files' complete lines end now, or at the marks *since* (see
    :func:`log_ends`); a line being written there is yielded once whole. A file that is
    rotated (replaced by a new one of the same name) or truncated is read again from its
    start.
    """
    positions = dict(since) if since is not None else log_ends(files)
    partial: dict[str, bytes] = {}
    while stop is None or not stop():
        for log in files:
            inode, offset = positions[log.path]
            try:
                st = os.stat(log.path)
            except FileNotFoundError:
                continue
            if st.st_ino != inode or st.st_size < offset:
                inode, offset = st.st_ino, 0
            if st.st_size == offset:
                positions[log.path] = (inode, offset)
                continue
            with open(log.path, "rb") as f:
                f.seek(offset)
                data = partial.pop(log.path, b"") + f.read()
                offset = f.tell()
            positions[log.path] = (inode, offset)
            *complete, rest = data.split(b"\n")
            if rest:
                partial[log.path] = rest
            for line in complete:
                yield log, line.decode("utf-8", "replace")
        time.sleep(interval)
