"""Turning a release into the programs that run it on this host (see :mod:`pyapp_runtime.processes.programs`).

Planning writes each program's payload and the release's configuration copy, and
takes the ports it needs from the host's range; nothing starts yet. A port is the
app's (:func:`~pyapp_runtime.processes.programs.port_owner`), not the generation's:
each generation binds it with ``SO_REUSEPORT``, so that the old and the new one
share it while they switch and a client of the port never sees it move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..appconfig.values import filled_values
from ..isolation.walls import app_walls, raise_walls
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..settings import HostSettings
from ..webservers import Upstream
from .placement import placement
from .ports import PortRegistry
from .programs import (
    Planned,
    port_owner,
    process_program_name,
    release_tag,
    socket_dir,
)
from .reuseport import enable_migration
from .runstate import AppRunState
from .specs import process_programs, release_config_file, scheduler_program, web_programs

__all__ = ["plan_release", "render_config", "walled_scheduler"]


def render_config(launch: LaunchSpec, values: Mapping[str, Any]) -> str:
    """*values* as the file the release reads (its spec's format)."""
    from apppackage.package import AppPackage

    with AppPackage(Path(launch.root)) as package:
        return package.config_spec.render(dict(values))


def plan_release(
    app: AppLayout,
    launch: LaunchSpec,
    *,
    settings: HostSettings,
    ports: PortRegistry,
    store: Path,
    config: Mapping[str, Any] | None,
    tag: str | None = None,
) -> list[Planned]:
    """The programs of *launch*: web daemons (WSGI or ASGI), processes, then the task scheduler.

    *config* is the values the release runs with; ``None`` reads the stored ones (and
    the release reads a copy of the app's current configuration file). *tag* names
    the programs (default: the release's; see :func:`~pyapp_runtime.processes.programs.generation_tag`).
    """
    own = settings.for_app(app.name)
    walls = raise_walls(app.host, app.name, settings, launch=launch)  # its user, its files' modes
    place = placement(app.host, app.name)
    values = dict(config) if config is not None else filled_values(app.config_file, Path(launch.root))
    text = render_config(launch, values) if config is not None else None
    tag = tag or release_tag(launch.release)
    config_file = release_config_file(app, launch, text, tag)
    sockets = socket_dir(app)
    sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
    walls.own_sockets(sockets)  # a short directory outside the app's: the app binds there too
    if (own.listen == "port" and launch.web) or any(p.port for p in launch.processes):
        enable_migration()  # before a generation shares a port with another (see reuseport)
    planned: list[Planned] = []
    if launch.web:
        port = None
        if own.listen == "port":
            owner = port_owner(app.name, "web")
            port = ports.assign([owner])[owner]
            upstream = Upstream.tcp("127.0.0.1", port)
        else:
            upstream = Upstream.unix(sockets / f"web-{tag}.sock")
        listen, server = place.server_options(
            app.name, upstream, socket_perms=settings.socket_perms, asgi=launch.wsgi is None
        )
        if port is not None:
            # Shared by the copies of one generation, and by two generations while they switch:
            # once healthy, the new one takes the connections from the running one's (reuseport).
            running = [p for p in AppRunState.load(app).programs if p.role == "web" and p.port == port]
            listen.update(reuse_port=True, steer=[len(running), own.copies])
        planned += web_programs(
            app, launch, own, sockets=sockets, port=port, mount_path=place.mount_path, server=server,
            listen=listen, config=values, config_file=config_file, stop_wait=own.stop_wait, tag=tag,
        )  # fmt: skip
    wanted = {
        process_program_name(process.name, index, tag): port_owner(app.name, process.name, index)
        for process in launch.processes
        if process.port
        for index in range(process.count)
    }
    assigned = ports.assign(wanted.values()) if wanted else {}
    planned += process_programs(
        app, launch, ports={name: assigned[owner] for name, owner in wanted.items()},
        mount_path=place.mount_path if place.mounted else None, config_file=config_file,
        stop_wait=own.stop_wait, tag=tag,
    )  # fmt: skip
    scheduler = scheduler_program(app, launch, store=store)
    if scheduler is not None:
        planned.append(scheduler)
    walls.seal_run()
    # As the app's user, in its sandbox (the scheduler, the host's code, outside: each task has its own).
    return [
        replace(
            p, spec=walls.supervised(p.spec, launch, sockets=sockets, scheduler=p.program.role == "tasks")
        )
        for p in planned
    ]


def walled_scheduler(
    app: AppLayout, launch: LaunchSpec, *, settings: HostSettings, store: Path
) -> Planned | None:
    """The app's task scheduler (:func:`~.specs.scheduler_program`), as the app's user."""
    scheduler = scheduler_program(app, launch, store=store)
    if scheduler is None:
        return None
    walls = app_walls(app.host, app.name, settings, python=launch.python)
    spec = walls.supervised(scheduler.spec, launch, sockets=socket_dir(app), scheduler=True)
    return replace(scheduler, spec=spec)
