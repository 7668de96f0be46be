"""``releases/<id>/.pyapp/launch.json``: everything a process of a release needs to start.

Written once when the release is built, from the description and the host's
paths (:func:`apppackage.environment.build_environment`); read with
:meth:`LaunchSpec.read` by whatever starts the app's daemons, commands, hooks and
tasks, with no YAML parsing or schema validation on the start path (spec section 5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from apppackage.description import (
    Asgi,
    Command,
    Description,
    Health,
    Hook,
    Process,
    Service,
    StaticDir,
    Task,
    Updates,
    Wsgi,
)
from apppackage.environment import Environment, HostPaths, build_environment, process_variables

from ..appconfig.services import load_services
from ..errors import HostError

__all__ = ["LAUNCH_FORMAT", "LAUNCH_JSON", "LaunchSpec", "build_launch"]

LAUNCH_JSON = "launch.json"
LAUNCH_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """The start-up facts of one release on one host (all paths absolute).

    Its parts are the description's own (:mod:`apppackage.description`), with what the
    host resolved: a process naming a command has that command's ``call``, a static
    directory is an absolute path, every service has its variable.
    """

    format: int = LAUNCH_FORMAT
    name: str
    version: str
    release: str
    root: str
    python: str
    sys_path: tuple[str, ...]
    variables: Mapping[str, str]
    config_file: str
    data_path: str
    tmp_path: str
    log_path: str
    run_path: str
    writable: Mapping[str, str] = field(default_factory=dict)
    wsgi: Wsgi | None = None
    asgi: Asgi | None = None
    """The ASGI application (section 3.16), the alternative to ``wsgi`` (absent from older launch files)."""
    processes: tuple[Process, ...] = ()
    commands: tuple[Command, ...] = ()
    hooks: tuple[Hook, ...] = ()
    tasks: tuple[Task, ...] = ()
    health: Health = field(default_factory=Health)
    static: tuple[StaticDir, ...] = ()
    services: tuple[Service, ...] = ()
    services_file: str = ""
    """The app's ``services.yaml`` (the operator's service values); empty in releases built before it."""
    updates: Updates = field(default_factory=Updates)
    """How a new release takes over from this one (section 3.18; the default in older launch files)."""

    @property
    def web(self) -> Wsgi | Asgi | None:
        """What the release's web daemons serve: its WSGI or its ASGI application (``None``: no HTTP)."""
        return self.wsgi if self.wsgi is not None else self.asgi

    def hook(self, name: str) -> Hook | None:
        return next((h for h in self.hooks if h.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """``launch.json`` (format 1): every field, the parts as plain JSON."""
        return {
            "format": self.format,
            "name": self.name,
            "version": self.version,
            "release": self.release,
            "root": self.root,
            "python": self.python,
            "sys_path": list(self.sys_path),
            "variables": dict(self.variables),
            "config_file": self.config_file,
            "data_path": self.data_path,
            "tmp_path": self.tmp_path,
            "log_path": self.log_path,
            "run_path": self.run_path,
            "writable": dict(self.writable),
            "wsgi": _record(self.wsgi) if self.wsgi is not None else None,
            "asgi": _record(self.asgi) if self.asgi is not None else None,
            "processes": [_record(p) for p in self.processes],
            "commands": {c.name: c.call for c in self.commands},
            "hooks": {h.name: {"call": h.call, "timeout": h.timeout} for h in self.hooks},
            "tasks": [_record(t) for t in self.tasks],
            "health": _record(self.health),
            "static": [_record(s) for s in self.static],
            "services": [_record(s) for s in self.services],
            "services_file": self.services_file,
            "updates": _record(self.updates),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LaunchSpec:
        if raw.get("format") != LAUNCH_FORMAT:
            raise HostError(f"launch.json format {raw.get('format')!r} is not {LAUNCH_FORMAT}")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in raw.items() if k in known}
        data["sys_path"] = tuple(data.get("sys_path", ()))
        data["wsgi"] = Wsgi(**data["wsgi"]) if data.get("wsgi") else None
        data["asgi"] = Asgi(**data["asgi"]) if data.get("asgi") else None
        data["processes"] = tuple(
            Process(**{**p, "args": tuple(p["args"])}) for p in data.get("processes", ())
        )
        data["commands"] = tuple(Command(name=n, call=c) for n, c in data.get("commands", {}).items())
        data["hooks"] = tuple(Hook(name=n, **h) for n, h in data.get("hooks", {}).items())
        data["tasks"] = tuple(Task(**t) for t in data.get("tasks", ()))
        data["health"] = Health(**data.get("health", {}))
        data["static"] = tuple(StaticDir(**s) for s in data.get("static", ()))
        data["services"] = tuple(Service(**s) for s in data.get("services", ()))
        data["updates"] = Updates(**data.get("updates", {}))
        return cls(**data)

    @classmethod
    def read(cls, release_dir: Path) -> LaunchSpec:
        """Read ``<release_dir>/.pyapp/launch.json``."""
        path = release_dir / ".pyapp" / LAUNCH_JSON
        try:
            raw = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise HostError(f"{path}: cannot read the release's launch file: {exc}") from None
        return cls.from_dict(raw)

    def write(self, release_dir: Path) -> Path:
        path = release_dir / ".pyapp" / LAUNCH_JSON
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", "utf-8")
        return path

    def environment(
        self,
        *,
        config_file: str | Path | None = None,
        services: Mapping[str, str] | None = None,
        process: str | None = None,
        port: int | None = None,
        socket: str | Path | None = None,
        mount_path: str | None = None,
    ) -> Environment:
        """The environment of section 5 for a process of this release (what ``build_environment`` gives).

        *config_file* replaces ``PYAPP_CONFIG_FILE`` (a staged file, before activation).
        *services* gives the services' values by name; by default they are read from the
        app's services file as it is now (spec section 3.9: a service without a value gets
        no variable).
        """
        if services is None and self.services and self.services_file:
            services = load_services(Path(self.services_file))
        variables = dict(self.variables)
        if config_file is not None:
            variables["PYAPP_CONFIG_FILE"] = str(config_file)
        variables.update(
            process_variables(
                declared=[(s.name, s.variable) for s in self.services],
                services=services,
                process=process,
                port=port,
                socket=socket,
                mount_path=mount_path,
            )
        )
        return Environment(sys_path=self.sys_path, variables=variables)

    def host_paths(self, *, config_file: str | Path | None = None) -> HostPaths:
        """The :class:`HostPaths` this release was built with (for :class:`apppackage.AppPackage` calls)."""
        root = Path(self.root)
        return HostPaths(
            root=root,
            data_path=Path(self.data_path),
            tmp_path=Path(self.tmp_path),
            log_path=Path(self.log_path),
            config_file=Path(config_file or self.config_file),
        )


def build_launch(
    description: Description,
    host: HostPaths,
    *,
    release: str,
    run_path: Path,
    python: str,
    services_file: Path | None = None,
) -> LaunchSpec:
    """The launch facts of *description* installed with *host* paths."""
    env = build_environment(description, host)
    calls = {c.name: c.call for c in description.commands}
    return LaunchSpec(
        name=description.name,
        version=description.version,
        release=release,
        root=str(host.root),
        python=python,
        sys_path=env.sys_path,
        variables=dict(env.variables),
        config_file=str(host.config_file or ""),
        data_path=str(host.data_path),
        tmp_path=str(host.tmp_path),
        log_path=str(host.log_path),
        run_path=str(run_path),
        writable={w: str(host.writable_path(w)) for w in description.writable},
        wsgi=description.wsgi,
        asgi=description.asgi,
        processes=tuple(
            replace(p, call=p.call or calls.get(p.command or "", "")) for p in description.processes
        ),
        commands=tuple(Command(name=c.name, call=c.call) for c in description.commands),
        hooks=description.hooks,
        tasks=description.tasks,
        health=description.health,
        static=tuple(replace(s, dir=str(host.root / s.dir)) for s in description.static),
        services=description.services,
        services_file=str(services_file or ""),
        updates=description.updates,
    )


def _record(part: Any) -> dict[str, Any]:
    """A part of the description as ``launch.json`` holds it: every field, tuples as lists."""
    return {f.name: list(v) if isinstance(v := getattr(part, f.name), tuple) else v for f in fields(part)}
