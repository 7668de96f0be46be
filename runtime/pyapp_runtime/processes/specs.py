"""How each program of a release starts: its payload, its environment and its supervisord spec.

A web daemon (WSGI or ASGI) or process starts as ``python -s -S _bootstrap.py run/<name>.json``:
the payload holds everything it needs (``sys.path``, variables, where to listen, the
waitress or uvicorn settings, the configuration values of a factory), computed here from the
release's ``launch.json``, so its start reads no YAML and validates nothing. The task
scheduler runs the host's own code: ``python -m pyapp_runtime.taskrun``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apppackage.environment import Environment
from apppackage.files import write_atomic
from apppackage.hooks import BOOTSTRAP, serving_modules, write_payload

from ..errors import HostError
from ..layout import AppLayout
from ..releases.launch import LaunchSpec
from ..settings import AppDaemonSettings
from ..supervision import ProcessSpec
from .programs import SCHEDULER, Planned, Program, process_program_name, release_tag, web_program_name
from .reuseport import hold_file

__all__ = [
    "base_environment",
    "host_package_dir",
    "process_programs",
    "release_config_file",
    "scheduler_program",
    "serving_sys_path",
    "waitress_dir",
    "web_programs",
    "write_program_payload",
]

GRACE = 5
"""Seconds between SIGTERM and SIGKILL when a task runs past its timeout (apppackage.hooks)."""

_KEEP_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ")


HOST_PACKAGES = "host-packages"


def host_package_dir(home: Path, module: str) -> Path:
    """A site directory holding only the host's own copy of the package *module*
    (``<home>/host-packages/<module>-<version>``): ``waitress``, ``whitenoise``, ``uvicorn`` and what
    it needs (:func:`apppackage.hooks.serving_modules`).

    The web daemon of an app that does not bundle it finds it there, after the app's
    own ``sys.path``. It is a copy, made once per version, so that the daemons keep
    running whatever becomes of the tools' environment. A module that is one file is copied
    as that file.
    """
    import importlib
    from importlib.metadata import version

    try:
        package = importlib.import_module(module)
        target = home / HOST_PACKAGES / f"{module}-{version(module)}"
    except ImportError:  # pragma: no cover - both come with the tools
        raise HostError(
            f"{module} is not installed with pyapp's tools: install it (pip install 'apppackage[tools]')"
        ) from None
    if not _provides(target, module):
        import shutil

        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        source = Path(str(package.__file__))
        if source.name == "__init__.py":
            shutil.copytree(source.parent, staging / module, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, staging / source.name)
        try:
            os.rename(staging, target)
        except OSError:  # another command made it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def waitress_dir(home: Path) -> Path:
    """The host's own waitress (see :func:`host_package_dir`)."""
    return host_package_dir(home, "waitress")


def _provides(entry: str | Path, module: str) -> bool:
    return Path(entry, module, "__init__.py").is_file() or Path(entry, f"{module}.py").is_file()


def serving_sys_path(home: Path, launch: LaunchSpec) -> tuple[str, ...]:
    """The release's ``sys.path``, followed by the host's copy of each module its web daemon imports that
    the app does not bring: waitress (or uvicorn and what it needs, for an ASGI app) and WhiteNoise, for
    an app with static directories (section 3.10)."""
    needed = serving_modules(asgi=launch.asgi is not None and launch.wsgi is None, static=bool(launch.static))
    extra = [
        str(host_package_dir(home, module))
        for module in needed
        if not any(_provides(entry, module) for entry in launch.sys_path)
    ]
    return (*launch.sys_path, *extra)


def base_environment() -> dict[str, str]:
    """The variables of the host's environment a supervised process keeps (the rest is the app's)."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP_VARIABLES or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _web_options(
    launch: LaunchSpec,
    settings: AppDaemonSettings,
    *,
    listen: Mapping[str, Any],
    server: Mapping[str, Any],
    config: Mapping[str, Any],
    pid_file: Path,
    check: str | None,
) -> dict[str, Any]:
    web = launch.web
    assert web is not None
    options = {
        "listen": dict(listen),
        # On a shared port, a socket of its own answers the health check (only the host connects).
        **({"check": {"unix": check, "perms": "600"}, "hold": str(hold_file(check))} if check else {}),
        "factory": web.factory,
        # Only a factory is given the values; they may hold secrets (the payload is 0600).
        "config": dict(config) if web.factory else {},
        # Answered by the daemon itself wherever no web server answers them first (section 3.10).
        "static": [[s.url, s.dir] for s in launch.static],
        "pid_file": str(pid_file),
        "drain": max(1, settings.stop_wait - 1),
    }
    if launch.wsgi is not None:
        options.update(threads=settings.threads, waitress=dict(server))
    else:  # ASGI: *server* holds the mount path and uvicorn's settings
        options.update(asgi=True, **server)
    return options


def write_program_payload(
    run_dir: Path,
    name: str,
    *,
    env: Any,
    kind: str,
    ref: str,
    argument: Any,
    label: str,
    cwd: str,
) -> Path:
    """Write ``run/<name>.json`` (mode 0600), the bootstrap payload of program *name*; it stays."""
    run_dir.mkdir(parents=True, exist_ok=True)
    temp = write_payload(
        env, kind=kind, ref=ref, argument=argument, name=label, cwd=cwd, directory=run_dir, delete=False
    )
    target = run_dir / f"{name}.json"
    os.replace(temp, target)
    return target


def web_programs(
    app: AppLayout,
    launch: LaunchSpec,
    settings: AppDaemonSettings,
    *,
    sockets: Path,
    port: int | None,
    mount_path: str,
    server: Mapping[str, Any],
    listen: Mapping[str, Any],
    config: Mapping[str, Any],
    config_file: Path | None,
    stop_wait: int,
    tag: str,
) -> list[Planned]:
    """The web daemons of *launch* (one, or ``processes`` of them sharing *port*), named with *tag*;
    *server* holds the settings of its server (:meth:`~.placement.Placement.server_options`).

    On a port, each also listens on a unix socket of its own (``check_socket``): the port
    is shared with the other generation while they switch, the health check must reach
    this daemon.
    """
    web = launch.web
    assert web is not None
    copies = settings.copies
    out = []
    for index in range(copies):
        name = web_program_name(tag, index, copies)
        socket = str(sockets / f"{name}.sock") if port is None else None
        check = str(sockets / f"{name}.sock") if port is not None else None
        where = {"unix": socket, "perms": listen.get("perms")} if socket else dict(listen)
        pid_file = sockets / f"{name}.pid"  # where the daemon may write (its own directory)
        env = launch.environment(config_file=config_file, socket=socket, port=port, mount_path=mount_path)
        env = Environment(sys_path=serving_sys_path(app.host.home, launch), variables=env.variables)
        options = _web_options(
            launch, settings, listen=where, server=server, config=config, pid_file=pid_file, check=check
        )
        payload = write_program_payload(
            app.run, name, env=env, kind="serve", ref=web.app, argument=options, label="web",
            cwd=launch.data_path,
        )  # fmt: skip
        # Named after the release, not the generation: a reload goes on writing the same log.
        log = str(app.output / f"{web_program_name(release_tag(launch.release), index, copies)}.log")
        spec = ProcessSpec(
            app=app.name, name=name, argv=(launch.python, "-s", "-S", str(BOOTSTRAP), str(payload)),
            environment={**base_environment(), **env.variables}, cwd=launch.data_path, stdout_log=log,
            stop_wait=stop_wait, restart="always", description=f"{app.name} {launch.version}: web",
        )  # fmt: skip
        program = Program(
            app=app.name, name=name, role="web", process="web", index=index, release=launch.release,
            socket=socket, port=port, log=log, pid_file=str(pid_file), generation=_generation(launch, tag),
            check_socket=check,
        )  # fmt: skip
        out.append(Planned(program=program, spec=spec))
    return out


def process_programs(
    app: AppLayout,
    launch: LaunchSpec,
    *,
    ports: Mapping[str, int],
    mount_path: str | None,
    config_file: Path | None,
    stop_wait: int,
    tag: str,
) -> list[Planned]:
    """The copies of each process of the description (section 3.12); *ports* by program name."""
    out = []
    for process in launch.processes:
        for index in range(process.count):
            name = process_program_name(process.name, index, tag)
            port = ports.get(name) if process.port else None
            args = [a.replace("{port}", str(port)) if port is not None else a for a in process.args]
            env = launch.environment(
                config_file=config_file, process=process.name, port=port, mount_path=mount_path
            )
            command = process.command
            payload = write_program_payload(
                app.run, name, env=env, kind="command" if command else "process", ref=process.call or "",
                argument=args, label=command or process.name, cwd=launch.data_path,
            )  # fmt: skip
            log = str(
                app.output / f"{process_program_name(process.name, index, release_tag(launch.release))}.log"
            )
            spec = ProcessSpec(
                app=app.name, name=name, argv=(launch.python, "-s", "-S", str(BOOTSTRAP), str(payload)),
                environment={**base_environment(), **env.variables}, cwd=launch.data_path, stdout_log=log,
                stop_wait=stop_wait, restart="always",
                description=f"{app.name} {launch.version}: process {process.name} #{index}",
            )  # fmt: skip
            program = Program(
                app=app.name, name=name, role="process", process=process.name, index=index,
                release=launch.release, port=port, log=log, generation=_generation(launch, tag),
            )  # fmt: skip
            out.append(Planned(program=program, spec=spec))
    return out


def scheduler_program(app: AppLayout, launch: LaunchSpec, *, store: Path) -> Planned | None:
    """The app's task scheduler (``<app>@tasks``), or ``None`` when the release has no tasks.

    It runs with the host's interpreter (it is the host's code); each task runs in a
    fresh interpreter of the app's. Its stop wait outlasts the longest task timeout,
    so a stop lets the running tasks end.
    """
    if not launch.tasks:
        return None
    longest = max(t.timeout for t in launch.tasks)
    log = str(app.output / f"{SCHEDULER}.log")
    argv = (
        sys.executable, "-m", "pyapp_runtime.taskrun", "--release", launch.root, "--app-dir", str(app.dir),
        "--store", str(store),
    )  # fmt: skip
    spec = ProcessSpec(
        app=app.name, name=SCHEDULER, argv=argv, environment=base_environment(), cwd=launch.data_path,
        stdout_log=log, stop_wait=int(longest) + 2 * GRACE, restart="always",
        description=f"{app.name} {launch.version}: tasks",
    )  # fmt: skip
    program = Program(
        app=app.name, name=SCHEDULER, role="tasks", process=SCHEDULER, release=launch.release, log=log
    )
    return Planned(program=program, spec=spec)


def _generation(launch: LaunchSpec, tag: str) -> str:
    return "" if tag == release_tag(launch.release) else tag


def release_config_file(app: AppLayout, launch: LaunchSpec, text: str | None, tag: str) -> Path | None:
    """The configuration file the programs tagged *tag* read (``run/config-<tag>.<ext>``, mode 0600).

    *text* is the rendered file; ``None`` copies the live one (``PYAPP_CONFIG_FILE`` of the
    app). A release started before its activation thus reads its own values. ``None``
    when the release has no configuration file at all.
    """
    if not launch.config_file:
        return None
    live = Path(launch.config_file)
    target = app.run / f"config-{tag}{live.suffix}"
    if text is None:
        try:
            text = live.read_text("utf-8")
        except FileNotFoundError:
            text = ""
    write_atomic(target, text)
    return target
