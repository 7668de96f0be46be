"""What stands between one app and the rest of the host, and how each of its processes starts behind it.

:func:`app_walls` says it (``pyapp show``: ``identity``, ``confinement``, ``limits``);
:func:`raise_walls` also makes it so -- the app's user created, its files' owners and
modes set (:mod:`.perms`) -- before anything of the app runs. Then
:meth:`AppWalls.launcher` starts a hook, task or command, and
:meth:`AppWalls.supervised` a supervised program: as the app's user, with its limits,
in its sandbox (the task scheduler, the host's own code, runs as the app's user
outside the sandbox and starts each task in one).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from apppackage.hooks import Launcher

from ..errors import HostError
from ..layout import AppLayout, HostLayout
from ..releases.launch import LaunchSpec
from ..settings import HostSettings
from ..supervision import ProcessSpec
from .identity import AppIdentity, app_identity, ensure_user, own_identity
from .limits import Limits
from .perms import TASKS_DIR, close_host, open_shared, share_sockets, wall_app, wall_run
from .sandbox import SandboxPaths, bwrap_works, interpreter_paths, keepterm_argv, sandbox_argv

__all__ = ["AppWalls", "app_walls", "raise_walls", "scheduler_walls"]


@dataclass(frozen=True, kw_only=True)
class AppWalls:
    """App *app*'s identity, confinement and limits on this host."""

    app: AppLayout
    identity: AppIdentity
    confinement: str
    """``bubblewrap`` or ``none``."""
    confinement_reason: str = ""
    bwrap: str | None = None
    limits: Limits

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity.to_dict(),
            "confinement": {"kind": self.confinement, "reason": self.confinement_reason},
            "limits": self.limits.to_dict(),
        }

    def seal_run(self) -> None:
        """Let the app read, not change, what the host wrote in its ``run/`` (payloads, configuration)."""
        if self.identity.isolated and os.geteuid() == 0 and self.app.run.is_dir():
            wall_run(self.app, self.identity)
            open_shared(self.app.host)  # the host's waitress may just have been copied there

    def own_sockets(self, sockets: Path) -> None:
        """Let the app bind in *sockets* when it is a short directory outside its own (a home whose paths
        are too long for unix sockets): its parents passed through, it the app's, in the web group."""
        if not self._switch() or self.app.dir in sockets.parents:
            return
        for parent in (sockets.parent.parent, sockets.parent):
            os.chmod(parent, 0o711)  # noqa: S103 -- passed through, never listed
        share_sockets(sockets, owner=self.identity.uid)

    def _switch(self) -> bool:
        return self.identity.isolated and os.geteuid() == 0 and self.identity.uid >= 0

    def _sandbox(
        self, launch: LaunchSpec, *, new_session: bool, readable: tuple[str, ...] = (), sockets: str = ""
    ) -> tuple[str, ...]:
        if self.bwrap is None:
            return ()
        pythons = (*interpreter_paths(launch.python), *interpreter_paths(sys.executable))
        # The host's own packages (its waitress and WhiteNoise, for a WSGI daemon that brings none) are
        # shared code too.
        shared = str(self.app.host.home / "host-packages")
        readable = (
            launch.root,
            *launch.sys_path,
            shared,
            *pythons,
            launch.config_file,
            str(self.app.run),
            *readable,
        )
        own = (launch.data_path, launch.tmp_path, launch.log_path, *launch.writable.values())
        writable = (*own, sockets) if sockets else own
        paths = SandboxPaths(readable=tuple(readable), writable=writable, chdir=launch.data_path)
        return sandbox_argv(self.bwrap, paths, new_session=new_session)

    def launcher(self, launch: LaunchSpec, *, readable: tuple[str, ...] = ()) -> Launcher:
        """How a hook, task or command of *launch* starts (:func:`apppackage.hooks.run_callable`);
        *readable*: more paths its sandbox sees (a staged configuration file)."""
        prefix = (*self.limits.prefix(), *self._sandbox(launch, new_session=True, readable=readable))
        payloads = launch.tmp_path if self.bwrap is not None else None
        if not self._switch():
            return Launcher(prefix=prefix, payload_dir=payloads)
        return Launcher(
            user=self.identity.uid,
            group=self.identity.gid,
            prefix=prefix,
            payload_dir=payloads or launch.tmp_path,
        )

    def supervised(
        self, spec: ProcessSpec, launch: LaunchSpec, *, sockets: Path, scheduler: bool = False
    ) -> ProcessSpec:
        """*spec* run as the app's user, with its limits and in its sandbox, where it may write in
        *sockets* (its socket directory) too. The *scheduler* runs outside, told the walls of its tasks
        (``--walls``: it cannot read ``host.yaml``)."""
        environment = dict(spec.environment)
        argv = spec.argv
        prefix: tuple[str, ...] = self.limits.prefix()
        if scheduler:
            told = {"confinement": {"kind": self.confinement}, "limits": self.limits.to_dict()}
            argv = (*argv, "--walls", json.dumps(told, sort_keys=True))
        elif self.bwrap is not None:
            sandbox = self._sandbox(launch, new_session=False, sockets=str(sockets))
            prefix = keepterm_argv(sys.executable, (*prefix, *sandbox))
        user = None
        if self._switch():
            user = self.identity.user
            environment.update(HOME=launch.data_path, USER=user, LOGNAME=user)
        return replace(
            spec, argv=argv, user=user, prefix=prefix, environment=environment,
            unit_settings=self.unit_settings(launch, sockets),
        )  # fmt: skip

    def unit_settings(self, launch: LaunchSpec, sockets: Path) -> tuple[tuple[str, str], ...]:
        """The systemd equivalent: the system read-only, the app's own directories writable, the other
        apps and the host's state inaccessible, its limits."""
        host = self.app.host
        own = [launch.data_path, launch.tmp_path, launch.log_path, *launch.writable.values(), str(sockets)]
        own.append(str(self.app.dir / TASKS_DIR))  # the scheduler's run store
        others = [str(host.apps_dir / n) for n in host.app_names() if n != self.app.name]
        if host.home.is_dir():
            shared = ("apps", "server-packages", "host-packages", "webservers")
            others += [str(p) for p in sorted(host.home.iterdir()) if p.name not in shared]
        others.append(str(self.app.backups))
        homes = [host.home, Path(launch.python), Path(os.path.realpath(launch.python)), Path(sys.executable)]
        return (
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            # Home directories hidden, unless the host or its interpreter lives in one: then read-only.
            ("ProtectHome", "read-only" if any(_under(p, "/home", "/root") for p in homes) else "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("ReadWritePaths", " ".join(f"-{p}" for p in dict.fromkeys(own))),
            ("InaccessiblePaths", " ".join(f"-{p}" for p in others)),
            *self.limits.unit_settings(),
        )


def scheduler_walls(app: AppLayout, raw: str) -> AppWalls:
    """The walls of the tasks the scheduler of *app* starts, from its ``--walls`` (:meth:`AppWalls.to_dict`):
    it runs as the app's user already, so they start as it, in their sandbox where one can be made."""
    given = json.loads(raw)
    limits = Limits(**given.get("limits", {}))
    if given.get("confinement", {}).get("kind") != "bubblewrap":
        return AppWalls(
            app=app, identity=own_identity("run by its scheduler"), confinement="none", limits=limits
        )
    bwrap = bwrap_works()
    return AppWalls(
        app=app, identity=own_identity("run by its scheduler"), confinement="bubblewrap" if bwrap else "none",
        confinement_reason="" if bwrap else "bwrap cannot make a sandbox for the scheduler", bwrap=bwrap,
        limits=limits,
    )  # fmt: skip


def _under(path: Path, *bases: str) -> bool:
    return any(path == Path(b) or Path(b) in path.parents for b in bases)


def app_walls(
    layout: HostLayout, name: str, settings: HostSettings, *, python: str | None = None
) -> AppWalls:
    """What app *name* runs behind, as things are (nothing is created)."""
    app = layout.app(name)
    identity = app_identity(layout.home, name, python=python or sys.executable, enabled=settings.app_users)
    bwrap, reason = None, ""
    switch = identity.isolated and os.geteuid() == 0
    if settings.confinement == "none":
        reason = "confinement: none in host.yaml"
    else:
        if switch and identity.uid < 0:
            reason = "the app's user is not created yet"
        else:
            bwrap = bwrap_works(identity.uid, identity.gid) if switch else bwrap_works()
            if bwrap is None:
                reason = "bubblewrap (bwrap) is not installed, or cannot make a sandbox here"
                if settings.confinement == "bubblewrap":
                    raise HostError(f"confinement: bubblewrap in host.yaml, and {reason}: install bubblewrap")
    return AppWalls(
        app=app, identity=identity, confinement="bubblewrap" if bwrap else "none", confinement_reason=reason,
        bwrap=bwrap, limits=settings.limits_for(name),
    )  # fmt: skip


def raise_walls(
    layout: HostLayout, name: str, settings: HostSettings, *, launch: LaunchSpec | None = None
) -> AppWalls:
    """:func:`app_walls`, made so: the app's user created, the home's and the app's files closed."""
    python = launch.python if launch is not None else None
    identity = app_identity(layout.home, name, python=python or sys.executable, enabled=settings.app_users)
    if identity.isolated:
        ensure_user(identity, name, layout.home)
        walls = app_walls(layout, name, settings, python=python)
        close_host(layout)
        wall_app(walls.app, walls.identity, writable=launch.writable.values() if launch else ())
        return walls
    walls = app_walls(layout, name, settings, python=python)
    if os.geteuid() == 0:  # the app runs as root: its sockets are shared with the web server all the same
        share_sockets(walls.app.run)
    return walls
