"""Who an app's processes run as: a system user and group of its own when the runtime runs as root.

``pyapp-<app>`` (names longer than 32 characters, or holding characters a user name
cannot, end with 8 hex digits of a hash instead). The user is created on first need
(``useradd --system``, no home, no login shell) and removed with the app; its comment
marks it as pyapp's, and a user of that name that is not pyapp's is never taken over or
removed. On a host run by another user, or where an app's user could not reach the
interpreter, the runtime's code or the home, every app runs as the runtime's own user:
the :class:`AppIdentity` says so and why.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HostError

__all__ = [
    "COMMENT",
    "USER_PREFIX",
    "AppIdentity",
    "app_identity",
    "closed_paths",
    "ensure_user",
    "own_identity",
    "remove_user",
    "remove_user_allowed",
    "user_name",
]

USER_PREFIX = "pyapp-"
COMMENT = "pyapp app"
"""The start of the comment (GECOS) of every user the runtime creates: only those it removes."""
NAME_MAX = 32
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]*$")


def user_name(app: str) -> str:
    """The system user (and group) of app *app*: ``pyapp-<app>``, or shortened with a hash."""
    name = USER_PREFIX + app
    if len(name) <= NAME_MAX and _USER_NAME.match(name):
        return name
    digest = hashlib.sha256(app.encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9_-]", "_", app)[: NAME_MAX - len(USER_PREFIX) - 9]
    return f"{USER_PREFIX}{stem}-{digest}"


@dataclass(frozen=True, kw_only=True)
class AppIdentity:
    """As whom an app's processes run. ``isolated``: a user of its own; else ``reason`` says why not."""

    user: str
    group: str
    uid: int
    gid: int
    isolated: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "group": self.group,
            "uid": self.uid,
            "gid": self.gid,
            "isolated": self.isolated,
            "reason": self.reason,
        }


def own_identity(reason: str) -> AppIdentity:
    """This process's own user, as an app's identity that is not a user of its own (*reason*)."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return AppIdentity(user=user, group=group, uid=uid, gid=gid, isolated=False, reason=reason)


def closed_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The paths among *paths* that another (unprivileged) user cannot reach: a directory on the way
    without ``o+x``, or the path itself without ``o+x`` (a directory, passed through) or ``o+r`` (a
    file). Absent paths are left out."""
    out = []
    for given in paths:
        path = Path(os.path.realpath(given))
        try:
            info = path.stat()
        except OSError:
            continue
        for directory in path.parents:
            if not directory.stat().st_mode & stat.S_IXOTH:
                out.append(f"{given} (through {directory})")
                break
        else:
            if not info.st_mode & (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else stat.S_IROTH):
                out.append(str(given))
    return out


def _needed_paths(home: Path, python: str) -> list[str]:
    import apppackage

    here = Path(__file__).resolve().parents[1]
    return [str(home.parent), python, sys.executable, str(here), str(Path(apppackage.__file__).parent)]


def app_identity(home: Path, app: str, *, python: str, enabled: bool = True) -> AppIdentity:
    """Who app *app* of the host at *home* runs as, without creating anything (see :func:`ensure_user`)."""
    if os.geteuid() != 0:
        return own_identity(
            "the runtime does not run as root: every app runs as its user, and confinement is the only wall"
        )
    if not enabled:
        return own_identity("app_users is off in host.yaml: every app runs as root")
    if shutil.which("useradd") is None:
        return own_identity("useradd is not installed: apps cannot get users of their own")
    closed = closed_paths(_needed_paths(home, python))
    if closed:
        return own_identity(
            "an app's user could not reach " + ", ".join(closed) + ": let other users through (chmod o+rx)"
        )
    name = user_name(app)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return AppIdentity(user=name, group=name, uid=-1, gid=-1, isolated=True, reason="not created yet")
    return AppIdentity(
        user=name, group=grp.getgrgid(entry.pw_gid).gr_name, uid=entry.pw_uid, gid=entry.pw_gid, isolated=True
    )


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    # useradd and userdel refuse while another holds /etc/passwd's lock: they are tried again.
    for _attempt in range(20):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 10 and "lock" not in done.stderr:
            return done
        time.sleep(0.2)
    return done


def _comment(app: str, home: Path) -> str:
    # The comment names the app and its host: a user of another host's app is never taken over.
    return f"{COMMENT} {app} {home}".replace(":", "_").replace(",", "_")


def _pyapps(entry: pwd.struct_passwd) -> bool:
    return entry.pw_gecos.startswith(COMMENT + " ")


def _left_behind(entry: pwd.struct_passwd, app: str) -> bool:
    """Whether *entry* is pyapp's user of *app* on a host that no longer has that app."""
    prefix = f"{COMMENT} {app} "
    if not entry.pw_gecos.startswith(prefix):
        return False
    return not (Path(entry.pw_gecos[len(prefix) :]) / "apps" / app).exists()


def ensure_user(identity: AppIdentity, app: str, home: Path) -> AppIdentity:
    """*identity* with its user created when it is isolated and does not exist yet."""
    if not identity.isolated:
        return identity
    comment = _comment(app, home)
    try:
        entry = pwd.getpwnam(identity.user)
    except KeyError:
        done = _run(
            [
                "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin", "--comment", comment, identity.user,
            ]
        )  # fmt: skip
        if done.returncode not in (0, 9):  # 9: another command made it meanwhile
            raise HostError(
                f"cannot create the user {identity.user} for {app}: {done.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(identity.user)
    if entry.pw_gecos != comment and _left_behind(entry, app):
        # Its host has no such app any more (removed without pyapp, a deleted test home): taken over.
        _run(["usermod", "--comment", comment, identity.user])
        entry = pwd.getpwnam(identity.user)
    if entry.pw_gecos != comment:
        whose = "the app of another host" if _pyapps(entry) else "not one pyapp made"
        raise HostError(
            f"a user {identity.user} exists and is {whose} ({entry.pw_gecos!r}): remove or rename it so that"
            f" {app} of {home} can have a user of its own"
        )
    group = grp.getgrgid(entry.pw_gid).gr_name
    return AppIdentity(user=entry.pw_name, group=group, uid=entry.pw_uid, gid=entry.pw_gid, isolated=True)


def remove_user_allowed(app: str, home: Path) -> bool:
    """Whether app *app* of the host at *home* has a user pyapp made (and this process may remove it)."""
    if os.geteuid() != 0:
        return False
    try:
        return pwd.getpwnam(user_name(app)).pw_gecos == _comment(app, home)
    except KeyError:
        return False


def remove_user(app: str, home: Path) -> bool:
    """Remove app *app*'s user and group, if pyapp made them for the host at *home*; whether it did."""
    if not remove_user_allowed(app, home):
        return False
    name = user_name(app)
    _run(["userdel", name])
    try:
        grp.getgrnam(name)
    except KeyError:
        pass
    else:
        _run(["groupdel", name])
    return True
