"""Whether a web server's workers, another user when it runs as root, can reach a path.

Reaching a file takes search permission (``x``) on every directory on the way to it, by
the bits that apply to that user: the owner's, the group's (its own group or one it
belongs to), else everybody's. Access control lists are not read: a directory they open
is reported as closed, which errs on the side of saying what to check.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Blocked", "first_blocked"]


@dataclass(frozen=True, kw_only=True)
class Blocked:
    """A directory *user* cannot traverse (``mode``: its permission bits)."""

    user: str
    directory: Path
    mode: int

    def __str__(self) -> str:
        return f"{self.directory} (mode {self.mode:04o})"


def first_blocked(path: Path, user: str) -> Blocked | None:
    """The first directory on the way from ``/`` to *path* (itself included when it is one) that *user*
    cannot traverse; ``None`` when there is none, or *user* is root or unknown."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    if entry.pw_uid == 0:
        return None
    groups = set(os.getgrouplist(user, entry.pw_gid))
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except OSError:
            return None  # gone, or not there yet: nothing to say about the way to it
        if not stat.S_ISDIR(info.st_mode):
            return None
        if info.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return Blocked(user=user, directory=directory, mode=stat.S_IMODE(info.st_mode))
    return None
