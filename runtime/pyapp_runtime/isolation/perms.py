"""Who may read and write what under a host's home, when the runtime runs as root.

::

    $PYAPP_HOME/                  root 0711      traversed, never listed
      apps/                       root 0711
      apps/<name>/                root:<app> 0751   the web server's workers pass through to its
                                                    static files and its socket, nobody lists it
        releases/                 root 0755      code: readable, never writable by the app
        config.yaml services.yaml app-config.*      root:<app> 0640
        run/                      root:<app> 0750   the host's records and each program's payload
                                                    (0640): the app reads them, never changes them
        sockets/                  <app>:<web> 2750  its sockets (0660) and pid files: the web
                                                    server's workers' group connects
        output/                   root:<app> 0750   supervisord's logs of its programs, hooks.log
        data/ tmp/ logs/ tasks/   <app> 0750     its own
        backups/                  root 0700
      supervisor/ programs/       root 0711      each program's process file is its app's (0600)
      server-packages/ host-packages/  0755      shared code
      anything else               go-rwx         the management server's state, host.yaml, ports...

An app without a user of its own changes nothing here, but for its ``run/`` on a root host: root:<web>
2750, where it binds its sockets (0660, :func:`share_sockets`).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
from collections.abc import Iterable
from pathlib import Path

from ..layout import AppLayout, HostLayout
from .identity import AppIdentity, remove_user, remove_user_allowed

__all__ = [
    "OPEN_ENTRIES",
    "SOCKETS_DIR",
    "TASKS_DIR",
    "close_host",
    "forget_identity",
    "open_shared",
    "own_tree",
    "share_sockets",
    "wall_app",
    "wall_run",
    "web_group",
]

SOCKETS_DIR = "sockets"
"""``apps/<name>/sockets``: where an app with a user of its own binds its sockets and writes pid files."""
TASKS_DIR = "tasks"
"""``apps/<name>/tasks``: the task scheduler's run store (``DaemonManager.store_dir``)."""
OPEN_ENTRIES = {"apps": 0o711, "supervisor": 0o711, "server-packages": 0o755, "host-packages": 0o755}
"""Entries of the home other users may pass (their modes); ``webservers`` keeps its own rules."""
WORKER_USERS = ("www-data", "nobody")


def web_group(worker_user: str | None = None) -> int | None:
    """The group of the web server's workers (*worker_user*, else the first of ``www-data``, ``nobody``)."""
    for name in [worker_user] if worker_user else WORKER_USERS:
        try:
            return pwd.getpwnam(name).pw_gid
        except KeyError:
            continue
    with contextlib.suppress(KeyError):
        return grp.getgrnam("www-data").gr_gid
    return None


def _set(path: Path, uid: int, gid: int, mode: int) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid, follow_symlinks=False)
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)


def own_tree(path: Path, uid: int, gid: int) -> None:
    """Give *path* and everything under it to *uid*:*gid*: links themselves, never their targets, each
    entry reached through its directory's descriptor (a directory swapped for a link meanwhile is not
    followed)."""
    os.chown(path, uid, gid, follow_symlinks=False)
    for _root, dirs, files, fd in os.fwalk(path, follow_symlinks=False):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)


def _inside(path: Path, base: Path) -> bool:
    """Whether *path*, links resolved, is *base* or lies under it (and is no link itself)."""
    real, top = os.path.realpath(path), os.path.realpath(base)
    return not os.path.islink(path) and (real == top or real.startswith(top + os.sep))


def close_host(layout: HostLayout) -> None:
    """The home's own modes (see the module's docstring)."""
    home = layout.home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o711)  # noqa: S103 -- passed through, never listed
    layout.apps_dir.mkdir(exist_ok=True)
    for entry in os.scandir(home):
        if entry.is_symlink() or entry.name == "webservers":
            continue
        info = entry.stat(follow_symlinks=False)
        mode = OPEN_ENTRIES.get(entry.name)
        if mode is None:
            mode = stat.S_IMODE(info.st_mode) & 0o700
        if stat.S_IMODE(info.st_mode) != mode:
            os.chmod(entry.path, mode)
    programs = layout.home / "supervisor" / "programs"
    if programs.is_dir():
        os.chmod(programs, 0o711)  # noqa: S103 -- each app opens its own process file
    open_shared(layout)


def open_shared(layout: HostLayout) -> None:
    """Let every app read the shared packages: each entry is built in a private staging directory (0700)
    and renamed into place."""
    for name, mode in OPEN_ENTRIES.items():
        if mode != 0o755 or not (layout.home / name).is_dir():
            continue
        for entry in os.scandir(layout.home / name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            if stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode) != 0o755:
                os.chmod(entry.path, 0o755)  # noqa: S103 -- shared code, read by every app


def wall_app(app: AppLayout, identity: AppIdentity, *, writable: Iterable[str | Path] = ()) -> None:
    """Apply the modes of the module's docstring to app *app*, whose user is *identity*'s."""
    uid, gid = identity.uid, identity.gid
    app.dir.mkdir(parents=True, exist_ok=True)
    _set(app.dir, 0, gid, 0o751)
    for file in (app.config_file, app.services_file, *app.app_config_files):
        if file.exists():
            _set(file, 0, gid, 0o640)
    tasks = app.dir / TASKS_DIR  # its scheduler's run store, which the host's commands read too
    own = [app.data, app.tmp, app.logs, tasks, *map(Path, writable)]
    for directory in own:
        if not _inside(directory, app.dir):  # a link the app made (a writable directory in its data)
            continue
        directory.mkdir(parents=True, exist_ok=True)
        if (
            directory == tasks or os.lstat(directory).st_uid != uid
        ):  # made by the host (an install, a restore)
            own_tree(directory, uid, gid)
        os.chmod(directory, 0o750)  # noqa: S103 -- its group is the app's own
    sockets = app.dir / SOCKETS_DIR
    sockets.mkdir(exist_ok=True)
    web = web_group()
    _set(sockets, uid, gid if web is None else web, 0o2750)
    app.run.mkdir(exist_ok=True)
    _set(app.run, 0, gid, 0o750)
    (app.dir / "output").mkdir(
        exist_ok=True
    )  # what root writes of its processes' output: see AppLayout.output
    _set(app.dir / "output", 0, gid, 0o750)
    wall_run(app, identity)
    if app.backups.is_dir():
        _set(app.backups, 0, 0, 0o700)


def share_sockets(directory: Path, *, owner: int = 0) -> None:
    """Let the web server's workers' group into *directory* (*owner*'s), where an app binds its sockets
    (0660): new files there take the group (set-group-id)."""
    web = web_group()
    if web is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    info = os.lstat(directory)
    if info.st_uid in (0, owner) and not stat.S_ISLNK(info.st_mode):
        _set(directory, owner, web, 0o2750)


def forget_identity(app: AppLayout) -> None:
    """Remove app *app*'s user and group (if pyapp made them); what stays of the app becomes root's first,
    so that no later user given the same ids inherits it."""
    if os.geteuid() != 0 or not remove_user_allowed(app.name, app.host.home):
        return
    if app.dir.exists():
        own_tree(app.dir, 0, 0)
    remove_user(app.name, app.host.home)


def wall_run(app: AppLayout, identity: AppIdentity) -> None:
    """Let the app read, not change, what the host wrote in its ``run/`` (payloads, configuration copies)."""
    for entry in os.scandir(app.run):
        if entry.is_file(follow_symlinks=False):
            _set(Path(entry.path), 0, identity.gid, 0o640)
