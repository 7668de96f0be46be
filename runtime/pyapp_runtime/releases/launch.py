"""``releases/<id>/.pyapp/launch.json``: everything a process of a release needs to start.

Written once when the release is built, from the description and the host's
paths (:func:`apppackage.environment.build_environment`); read with
:meth:`LaunchSpec.read` by whatever starts the app's daemons, commands, hooks and
tasks, with no YAML parsing or schema validation on the start path (spec section 5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from apppackage.description import Description
from apppackage.environment import Environment, HostPaths, build_environment, env_name, process_variables

from ..appconfig.services import load_services
from ..errors import HostError

__all__ = ["LAUNCH_FORMAT", "LAUNCH_JSON", "LaunchSpec", "build_launch"]

LAUNCH_JSON = "launch.json"
LAUNCH_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """The start-up facts of one release on one host (all paths absolute)."""

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
    wsgi: Mapping[str, Any] | None = None
    """``{"app": "module:attr", "factory": bool}`` or ``None``."""
    processes: tuple[Mapping[str, Any], ...] = ()
    """``{"name", "call", "args", "count", "port"}``; a process naming a command has its ``call`` resolved."""
    commands: Mapping[str, str] = field(default_factory=dict)
    hooks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tasks: tuple[Mapping[str, Any], ...] = ()
    health: Mapping[str, Any] = field(default_factory=dict)
    static: tuple[Mapping[str, str], ...] = ()
    services: tuple[Mapping[str, Any], ...] = ()
    services_file: str = ""
    """The app's ``services.yaml`` (the operator's service values); empty in releases built before it."""

    def to_dict(self) -> dict[str, Any]:
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
            "wsgi": dict(self.wsgi) if self.wsgi is not None else None,
            "processes": [dict(p) for p in self.processes],
            "commands": dict(self.commands),
            "hooks": {k: dict(v) for k, v in self.hooks.items()},
            "tasks": [dict(t) for t in self.tasks],
            "health": dict(self.health),
            "static": [dict(s) for s in self.static],
            "services": [dict(s) for s in self.services],
            "services_file": self.services_file,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LaunchSpec:
        if raw.get("format") != LAUNCH_FORMAT:
            raise HostError(f"launch.json format {raw.get('format')!r} is not {LAUNCH_FORMAT}")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in raw.items() if k in known}
        for key in ("sys_path", "processes", "tasks", "static", "services"):
            data[key] = tuple(data.get(key, ()))
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
                declared=[(s["name"], s["variable"]) for s in self.services],
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
    commands = {c.name: c.call for c in description.commands}
    processes = []
    for p in description.processes:
        call = p.call or commands.get(p.command or "", "")
        processes.append(
            {
                "name": p.name,
                "call": call,
                "command": p.command,
                "args": list(p.args),
                "count": p.count,
                "port": p.port,
            }
        )
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
        wsgi={"app": description.wsgi.app, "factory": description.wsgi.factory} if description.wsgi else None,
        processes=tuple(processes),
        commands=commands,
        hooks={h.name: {"call": h.call, "timeout": h.timeout} for h in description.hooks},
        tasks=tuple(
            {"name": t.name, "call": t.call, "every": t.every, "cron": t.cron, "timeout": t.timeout}
            for t in description.tasks
        ),
        health={
            "path": description.health.path,
            "timeout": description.health.timeout,
            "start": description.health.start,
        },
        static=tuple({"url": s.url, "dir": str(host.root / s.dir)} for s in description.static),
        services=tuple(
            {
                "name": s.name,
                "type": s.type,
                "variable": s.variable or f"PYAPP_SERVICE_{env_name(s.name)}",
                "required": s.required,
                "summary": s.summary,
            }
            for s in description.services
        ),
        services_file=str(services_file or ""),
    )
