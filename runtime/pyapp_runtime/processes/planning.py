"""Turning a release into the programs that run it on this host (see :mod:`pyapp_runtime.processes.programs`).

Planning writes each program's payload and the release's configuration copy, and
takes the ports it needs from the host's range; nothing starts yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..appconfig.values import load_values
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..settings import HostSettings
from ..supervision import program_name
from ..webservers import Upstream
from .placement import placement
from .ports import PortRegistry
from .programs import (
    Planned,
    process_program_name,
    release_tag,
    socket_dir,
)
from .specs import process_programs, release_config_file, scheduler_program, web_programs

__all__ = ["plan_release", "render_config"]


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
    """The programs of *launch*: WSGI daemons, processes, then the task scheduler.

    *config* is the values the release runs with; ``None`` reads the stored ones (and
    the release reads a copy of the app's current configuration file). *tag* names
    the programs (default: the release's; see :func:`~pyapp_runtime.processes.programs.generation_tag`).
    """
    own = settings.for_app(app.name)
    place = placement(app.host, app.name)
    values = dict(config) if config is not None else (load_values(app.config_file) or {})
    text = render_config(launch, values) if config is not None else None
    tag = tag or release_tag(launch.release)
    config_file = release_config_file(app, launch, text, tag)
    sockets = socket_dir(app)
    sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
    planned: list[Planned] = []
    if launch.wsgi:
        port = None
        if own.listen == "port":
            owner = program_name(app.name, f"web-{tag}")
            port = ports.assign([owner])[owner]
            upstream = Upstream.tcp("127.0.0.1", port)
        else:
            upstream = Upstream.unix(sockets / f"web-{tag}.sock")
        listen, waitress = place.waitress_options(app.name, upstream, socket_perms=settings.socket_perms)
        if port is not None and own.copies > 1:
            listen["reuse_port"] = True
        planned += web_programs(
            app, launch, own, sockets=sockets, port=port, mount_path=place.mount_path, waitress=waitress,
            listen=listen, config=values, config_file=config_file, stop_wait=own.stop_wait, tag=tag,
        )  # fmt: skip
    wanted = [
        program_name(app.name, process_program_name(process.name, index, tag))
        for process in launch.processes
        if process.port
        for index in range(process.count)
    ]
    assigned = ports.assign(wanted) if wanted else {}
    planned += process_programs(
        app, launch, ports={k.partition("@")[2]: v for k, v in assigned.items()},
        mount_path=place.mount_path if place.mounted else None, config_file=config_file,
        stop_wait=own.stop_wait, tag=tag,
    )  # fmt: skip
    scheduler = scheduler_program(app, launch, store=store)
    if scheduler is not None:
        planned.append(scheduler)
    return planned
