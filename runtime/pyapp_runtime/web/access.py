"""Letting the web server's workers reach the apps' sockets and static files.

When the runtime runs as root, the web server's workers run as an unprivileged user
(``www-data``, ``nobody``...): before a configuration is applied they are let traverse
(``o+x``) the host's directories that lead to the apps' sockets and static
directories, and read those directories. Directories outside the host's home (a
short socket directory of its own, and those above the home) are left as they are:
when the workers cannot traverse one, the mount is refused naming it
(:mod:`pyapp_runtime.web.verify`), never opened behind the operator's back.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from ..webservers import Routes

__all__ = ["grant_access"]


def grant_access(home: Path, routes: Routes) -> None:
    """As root, let the web server's workers (another user) reach the sockets and static files of *routes*."""
    if os.geteuid() != 0:
        return
    targets: list[tuple[Path, int]] = []
    for mount in routes.mounts.values():
        if mount.upstream is not None and mount.upstream.socket is not None:
            targets.append((Path(mount.upstream.socket).parent, stat.S_IXOTH))
        for item in mount.static:
            targets.append((Path(item.directory), stat.S_IXOTH | stat.S_IROTH))
    for target, first in targets:
        # Both ways there: through the links (current -> releases/<id>) and the real path.
        for path in (target, target.resolve()):
            if not path.is_relative_to(home):
                continue  # a directory of its own (a short socket directory): left as it is
            bits = first
            for directory in [path, *path.parents]:
                with contextlib.suppress(OSError):
                    mode = directory.stat().st_mode
                    if mode & bits != bits:
                        directory.chmod(stat.S_IMODE(mode) | bits)
                bits = stat.S_IXOTH
                if directory == home:
                    break
