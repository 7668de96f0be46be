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

from .errors import InvalidDescription, Problem, pointer

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
    "check_description",
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


def _env_name(name: str) -> str:
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
    if s.variable != f"PYAPP_SERVICE_{_env_name(s.name)}":
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
                variable=s.get("variable", f"PYAPP_SERVICE_{_env_name(name)}"),
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


def check_description(
    raw: Any, file: str = "metadata.yaml"
) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
    """Check *raw* against spec section 3.

    Returns ``(errors, warnings, clean)``: every error with its path; warnings for
    keys ignored because the document declares a newer minor version (section 3.1);
    and the document with those keys removed.
    """
    from .schema import schema_problems

    if not isinstance(raw, Mapping):
        return [Problem(file=file, path="", message="must be a mapping of keys to values")], [], {}
    clean: dict[str, Any] = copy.deepcopy(dict(raw))
    warnings: list[Problem] = []
    version_problem = _check_spec_version(clean.get("pyapp"), file)
    if version_problem is not None:
        return [version_problem], [], clean
    problems = schema_problems("metadata", clean, file)
    if _is_newer_minor(clean.get("pyapp")):
        # Section 3.1: a newer minor version may only add keys; ignore them with a warning.
        unknown = [p for p in problems if p.message.startswith("unknown key")]
        for p in unknown:
            _delete(clean, p.path)
            warnings.append(Problem(file=file, path=p.path, message=p.message.split(" (")[0] + " ignored"))
        problems = schema_problems("metadata", clean, file)
    # Every error at once: what the schema cannot say is checked even when it found something.
    reported = {p.path for p in problems}
    problems += [p for p in _semantic_problems(clean, file) if p.path not in reported]
    return sorted(problems, key=lambda p: p.path), warnings, clean


def _is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts digits such as '²' that ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _check_spec_version(value: Any, file: str) -> Problem | None:
    if not isinstance(value, str) or "." not in value:
        return None  # the schema reports it
    major, _, minor = value.partition(".")
    if not (_is_number(major) and _is_number(minor)):
        return None
    if int(major) != int(SPEC_VERSION.split(".")[0]):
        return Problem(
            file=file,
            path="/pyapp",
            message=f"specification version {value} is not supported; this implementation reads "
            f'{SPEC_VERSION.split(".")[0]}.x (upgrade apppackage, or declare pyapp: "{SPEC_VERSION}")',
        )
    return None


def _is_newer_minor(value: Any) -> bool:
    try:
        return int(str(value).split(".")[1]) > int(SPEC_VERSION.split(".")[1])
    except (IndexError, ValueError):
        return False


def _delete(doc: dict[str, Any], path: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    node: Any = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node.pop(parts[-1], None)


def _semantic_problems(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """What JSON Schema cannot say: PEP 440/508 syntax, cross references, cron fields."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    problems: list[Problem] = []

    def add(message: str, *parts: object) -> None:
        problems.append(Problem(file=file, path=pointer(*parts), message=message))

    def mapping(value: Any) -> Mapping[str, Any]:
        # The schema reports values of the wrong type; these checks skip them.
        return value if isinstance(value, Mapping) else {}

    version = raw.get("version")
    if isinstance(version, str) and version:
        try:
            Version(version)
        except InvalidVersion:
            add(f"{version!r} is not a PEP 440 version (e.g. 1.0.2)", "version")
    python = mapping(raw.get("requires")).get("python")
    if isinstance(python, str):
        try:
            SpecifierSet(python)
        except InvalidSpecifier:
            add(f"{python!r} is not a PEP 440 version specifier (e.g. >=3.10)", "requires", "python")
    packages = mapping(raw.get("dependencies")).get("packages")
    for i, req in enumerate(packages if isinstance(packages, list) else ()):
        if not isinstance(req, str) or not req:
            continue
        try:
            Requirement(req)
        except InvalidRequirement as exc:
            add(f"{req!r} is not a PEP 508 requirement: {exc}", "dependencies", "packages", i)
    commands = mapping(raw.get("commands"))
    for name, proc in mapping(raw.get("processes")).items():
        command = mapping(proc).get("command")
        if isinstance(command, str) and command not in commands:
            add(f"names the command {command!r}, which is not under /commands", "processes", name, "command")
    for name, task in mapping(raw.get("tasks")).items():
        cron = mapping(task).get("cron")
        if isinstance(cron, str):
            reason = cron_problem(cron)
            if reason:
                add(reason, "tasks", name, "cron")
    for name, proc in mapping(raw.get("processes")).items():
        args = mapping(proc).get("args")
        if mapping(proc).get("port") is True or not isinstance(args, list):
            continue
        for i, arg in enumerate(args):
            if isinstance(arg, str) and "{port}" in arg:
                add("uses {port}, but the process gets no port: add port: true", "processes", name, "args", i)
    for url in mapping(raw.get("static")):
        if isinstance(url, str) and {".", ".."} & set(url.split("/")):
            add("a URL path must not have '.' or '..' segments", "static", url)
    variables: dict[str, str] = {}
    for name, service in mapping(raw.get("services")).items():
        variable = mapping(service).get("variable", f"PYAPP_SERVICE_{_env_name(str(name))}")
        if not isinstance(variable, str):
            continue
        if variable in _RESERVED_VARIABLES or variable.startswith(("PYAPP_WRITABLE_", "PYTHON")):
            add(
                f"variable {variable} is set by the host for another purpose (section 5.3): choose another",
                "services",
                name,
                "variable",
            )
        elif variable in variables:
            add(
                f"variable {variable} is already used by service {variables[variable]!r}",
                "services",
                name,
                "variable",
            )
        variables[variable] = name
    return problems


# The variables of section 5.3 that a service must not take.
_RESERVED_VARIABLES = frozenset(
    {
        "PYAPP_NAME", "PYAPP_VERSION", "PYAPP_ROOT", "PYAPP_CONFIG_FILE", "PYAPP_DATA_PATH", "PYAPP_TMP_PATH",
        "TMPDIR", "PYAPP_LOG_PATH", "PYAPP_PROCESS", "PYAPP_PORT", "PYAPP_SOCKET", "PYAPP_MOUNT_PATH",
        "SCRIPT_NAME",
    }
)  # fmt: skip

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)


def cron_problem(expression: str) -> str | None:
    """Return why a five-field cron *expression* is invalid, or ``None`` (section 3.14)."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}"
    for text, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            base, _, step = item.partition("/")
            if step and not (_is_number(step) and int(step) > 0):
                return f"{label} field {text!r}: step {step!r} must be a positive number"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2:
                return f"{label} field {text!r}: {base!r} is not a number or range"
            values = []
            for b in bounds:
                value = names.get(b.lower()) if b.lower() in names else (int(b) if _is_number(b) else None)
                if value is None or not low <= value <= high:
                    return f"{label} field {text!r}: {b!r} is not in {low}-{high}"
                values.append(value)
            if len(values) == 2 and values[0] > values[1]:
                return f"{label} field {text!r}: range {base!r} runs backwards"
    return None
