"""The description of an application, ``metadata.yaml`` (spec section 3).

:class:`RawDescription` is the stored shape; :class:`Description` is the model, a
tree of frozen keyword-only dataclasses with ``from_dict`` / ``to_dict``.
Defaults live here and nowhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .errors import InvalidDescription

__all__ = [
    "DEFAULT_HOOK_TIMEOUT",
    "HOOK_NAMES",
    "SPEC_VERSION",
    "Command",
    "Dependencies",
    "Description",
    "Health",
    "Hook",
    "Process",
    "RawDescription",
    "Requires",
    "Service",
    "StaticDir",
    "Task",
    "Wsgi",
    "env_name",
]

SPEC_VERSION = "1.0"
"""The version of the specification this library implements."""

HOOK_NAMES = ("install", "verify", "pre-update", "post-update", "backup", "uninstall")
DEFAULT_HOOK_TIMEOUT = 300.0
DEFAULT_TASK_TIMEOUT = 300.0
DEFAULT_CONFIG_FILE = "configuration.yaml"


class RawDescription(TypedDict, total=False):
    """``metadata.yaml`` as stored (spec section 3)."""

    pyapp: str
    name: str
    version: str
    summary: str
    license: str
    homepage: str
    authors: list[str]
    requires: dict[str, Any]
    paths: list[str]
    dependencies: dict[str, Any]
    wsgi: dict[str, Any]
    config: str
    writable: list[str]
    services: dict[str, dict[str, Any]]
    static: dict[str, str]
    commands: dict[str, Any]
    processes: dict[str, dict[str, Any]]
    hooks: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    health: dict[str, Any]


def env_name(name: str) -> str:
    """The upper-case form of *name* used in variable names: non-alphanumerics become ``_`` (section 5.3)."""
    return "".join(c if c.isalnum() else "_" for c in name.upper())


@dataclass(frozen=True, kw_only=True)
class Requires:
    """What the host must provide (section 3.3)."""

    python: str | None = None
    os: tuple[str, ...] = ()
    deb: tuple[str, ...] = ()
    rpm: tuple[str, ...] = ()
    external: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """Third-party distributions (section 3.5). ``shared`` ``("*",)`` lets every one be shared."""

    packages: tuple[str, ...] = ()
    requirements: str | None = None
    shared: tuple[str, ...] = ("*",)
    local: tuple[str, ...] = ()

    def is_shared(self, distribution: str) -> bool:
        """Whether *distribution* may go to the host's shared server-packages (section 3.5)."""
        norm = _normalize_dist(distribution)
        if norm in {_normalize_dist(d) for d in self.local}:
            return False
        return "*" in self.shared or norm in {_normalize_dist(d) for d in self.shared}


def _normalize_dist(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, kw_only=True)
class Wsgi:
    """The WSGI part (section 3.6)."""

    app: str
    factory: bool = False


@dataclass(frozen=True, kw_only=True)
class Service:
    """A resource the host provides, given to the app as one variable (section 3.9)."""

    name: str
    type: str
    variable: str
    required: bool = True
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class StaticDir:
    """A directory served as static files under a URL path (section 3.10)."""

    url: str
    dir: str


@dataclass(frozen=True, kw_only=True)
class Command:
    """A named command: ``call(argv) -> int | None`` (section 3.11)."""

    name: str
    call: str
    help: str = ""


@dataclass(frozen=True, kw_only=True)
class Process:
    """A long-running part other than the WSGI app (section 3.12)."""

    name: str
    call: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    count: int = 1
    port: bool = False


@dataclass(frozen=True, kw_only=True)
class Hook:
    """A lifecycle hook: ``call(context)`` (section 3.13)."""

    name: str
    call: str
    timeout: float = DEFAULT_HOOK_TIMEOUT


@dataclass(frozen=True, kw_only=True)
class Task:
    """A recurring task: ``call(context)`` every N seconds or on a cron schedule (section 3.14)."""

    name: str
    call: str
    every: int | None = None
    cron: str | None = None
    timeout: float = DEFAULT_TASK_TIMEOUT


@dataclass(frozen=True, kw_only=True)
class Health:
    """How a host tells the app is up (section 3.15)."""

    path: str = "/"
    timeout: float = 5.0
    start: float = 30.0


@dataclass(frozen=True, kw_only=True)
class Description:
    """The whole description (section 3). Build it with :meth:`from_dict`."""

    pyapp: str
    name: str
    version: str
    summary: str = ""
    license: str = ""
    homepage: str = ""
    authors: tuple[str, ...] = ()
    requires: Requires = field(default_factory=Requires)
    paths: tuple[str, ...] = ("src",)
    dependencies: Dependencies = field(default_factory=Dependencies)
    wsgi: Wsgi | None = None
    config: str | None = None
    writable: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    static: tuple[StaticDir, ...] = ()
    commands: tuple[Command, ...] = ()
    processes: tuple[Process, ...] = ()
    hooks: tuple[Hook, ...] = ()
    tasks: tuple[Task, ...] = ()
    health: Health = field(default_factory=Health)
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def config_file(self) -> str:
        """The configuration spec path, ``configuration.yaml`` unless ``config`` says otherwise."""
        return self.config or DEFAULT_CONFIG_FILE

    def command(self, name: str) -> Command | None:
        return next((c for c in self.commands if c.name == name), None)

    def hook(self, name: str) -> Hook | None:
        return next((h for h in self.hooks if h.name == name), None)

    def task(self, name: str) -> Task | None:
        return next((t for t in self.tasks if t.name == name), None)

    def process(self, name: str) -> Process | None:
        return next((p for p in self.processes if p.name == name), None)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], file: str = "metadata.yaml") -> Description:
        """Validate *raw* and build the model; raise :class:`InvalidDescription` with every problem."""
        from .checks import check_description

        problems, _warnings, clean = check_description(raw, file)
        if problems:
            raise InvalidDescription(problems, f"{file} is not a valid description:")
        return _build(clean)

    @classmethod
    def from_checked(cls, clean: Mapping[str, Any]) -> Description:
        """The model of a ``clean`` document :func:`check_description` accepted, not checked again."""
        return _build(clean)

    def to_dict(self) -> RawDescription:
        """The stored shape, without keys that hold their default."""
        out: dict[str, Any] = {"pyapp": self.pyapp, "name": self.name, "version": self.version}
        for key in ("summary", "license", "homepage"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.authors:
            out["authors"] = list(self.authors)
        req = {k: v if k == "python" else list(v) for k, v in vars(self.requires).items() if v}
        if req:
            out["requires"] = req
        if self.paths != ("src",):
            out["paths"] = list(self.paths)
        deps: dict[str, Any] = {}
        if self.dependencies.packages:
            deps["packages"] = list(self.dependencies.packages)
        if self.dependencies.requirements:
            deps["requirements"] = self.dependencies.requirements
        if self.dependencies.shared != ("*",):
            deps["shared"] = list(self.dependencies.shared)
        if self.dependencies.local:
            deps["local"] = list(self.dependencies.local)
        if deps:
            out["dependencies"] = deps
        if self.wsgi is not None:
            out["wsgi"] = {"app": self.wsgi.app}
            if self.wsgi.factory:
                out["wsgi"]["factory"] = True
        if self.config is not None:
            out["config"] = self.config
        if self.writable:
            out["writable"] = list(self.writable)
        if self.services:
            out["services"] = {s.name: _service_dict(s) for s in self.services}
        if self.static:
            out["static"] = {s.url: s.dir for s in self.static}
        if self.commands:
            out["commands"] = {
                c.name: {"call": c.call, "help": c.help} if c.help else c.call for c in self.commands
            }
        if self.processes:
            out["processes"] = {p.name: _process_dict(p) for p in self.processes}
        if self.hooks:
            out["hooks"] = {
                h.name: h.call
                if h.timeout == DEFAULT_HOOK_TIMEOUT
                else {"call": h.call, "timeout": h.timeout}
                for h in self.hooks
            }
        if self.tasks:
            out["tasks"] = {t.name: _task_dict(t) for t in self.tasks}
        if self.health != Health():
            out["health"] = {k: v for k, v in vars(self.health).items() if v != getattr(Health(), k)}
        out.update(copy.deepcopy(dict(self.extensions)))
        return out  # type: ignore[return-value]


def _service_dict(s: Service) -> dict[str, Any]:
    d: dict[str, Any] = {"type": s.type}
    if s.variable != f"PYAPP_SERVICE_{env_name(s.name)}":
        d["variable"] = s.variable
    if not s.required:
        d["required"] = False
    if s.summary:
        d["summary"] = s.summary
    return d


def _process_dict(p: Process) -> dict[str, Any]:
    d: dict[str, Any] = {"call": p.call} if p.call else {"command": p.command}
    if p.args:
        d["args"] = list(p.args)
    if p.count != 1:
        d["count"] = p.count
    if p.port:
        d["port"] = True
    return d


def _task_dict(t: Task) -> dict[str, Any]:
    d: dict[str, Any] = {"call": t.call}
    if t.every is not None:
        d["every"] = t.every
    if t.cron is not None:
        d["cron"] = t.cron
    if t.timeout != DEFAULT_TASK_TIMEOUT:
        d["timeout"] = t.timeout
    return d


def _build(raw: Mapping[str, Any]) -> Description:
    req = raw.get("requires", {})
    deps = raw.get("dependencies", {})
    wsgi = raw.get("wsgi")
    health = raw.get("health", {})
    return Description(
        pyapp=raw["pyapp"],
        name=raw["name"],
        version=raw["version"],
        summary=raw.get("summary", ""),
        license=raw.get("license", ""),
        homepage=raw.get("homepage", ""),
        authors=tuple(raw.get("authors", ())),
        requires=Requires(
            python=req.get("python"),
            os=tuple(req.get("os", ())),
            deb=tuple(req.get("deb", ())),
            rpm=tuple(req.get("rpm", ())),
            external=tuple(req.get("external", ())),
        ),
        paths=tuple(raw.get("paths", ("src",))),
        dependencies=Dependencies(
            packages=tuple(deps.get("packages", ())),
            requirements=deps.get("requirements"),
            shared=tuple(deps.get("shared", ("*",))),
            local=tuple(deps.get("local", ())),
        ),
        wsgi=Wsgi(app=wsgi["app"], factory=bool(wsgi.get("factory", False))) if wsgi else None,
        config=raw.get("config"),
        writable=tuple(raw.get("writable", ())),
        services=tuple(
            Service(
                name=name,
                type=s["type"],
                variable=s.get("variable", f"PYAPP_SERVICE_{env_name(name)}"),
                required=s.get("required", True),
                summary=s.get("summary", ""),
            )
            for name, s in raw.get("services", {}).items()
        ),
        static=tuple(StaticDir(url=u, dir=d) for u, d in raw.get("static", {}).items()),
        commands=tuple(
            Command(name=n, call=c, help="")
            if isinstance(c, str)
            else Command(name=n, call=c["call"], help=c.get("help", ""))
            for n, c in raw.get("commands", {}).items()
        ),
        processes=tuple(
            Process(
                name=n,
                call=p.get("call"),
                command=p.get("command"),
                args=tuple(p.get("args", ())),
                count=p.get("count", 1),
                port=p.get("port", False),
            )
            for n, p in raw.get("processes", {}).items()
        ),
        hooks=tuple(
            Hook(name=n, call=h, timeout=DEFAULT_HOOK_TIMEOUT)
            if isinstance(h, str)
            else Hook(name=n, call=h["call"], timeout=float(h.get("timeout", DEFAULT_HOOK_TIMEOUT)))
            for n, h in raw.get("hooks", {}).items()
        ),
        tasks=tuple(
            Task(
                name=n,
                call=t["call"],
                every=t.get("every"),
                cron=t.get("cron"),
                timeout=float(t.get("timeout", DEFAULT_TASK_TIMEOUT)),
            )
            for n, t in raw.get("tasks", {}).items()
        ),
        health=Health(
            path=health.get("path", "/"),
            timeout=float(health.get("timeout", 5.0)),
            start=float(health.get("start", 30.0)),
        ),
        extensions={k: copy.deepcopy(v) for k, v in raw.items() if k.startswith("x-")},
    )
