"""The description of an application, ``metadata.yaml`` (spec section 3).

The ``Raw...`` typed dicts are the stored shape; :class:`Description` is the model,
a tree of frozen keyword-only dataclasses mirroring the spec's fields. Each part
reads its stored shape with ``from_dict`` (already checked: :meth:`Description.from_dict`
checks the whole document first) and writes it with ``to_dict``, which leaves out
every key that holds its default. The defaults are the dataclass field defaults
below and nowhere else: ``from_dict`` passes only the keys the document gives, and
``to_dict`` compares each field with its declared default.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypedDict, cast

from ._shape import given, keyed, stored
from ._variables import env_name, service_variable
from ._versions import SPEC_VERSION
from .errors import InvalidDescription

__all__ = [
    "DEFAULT_HOOK_TIMEOUT",
    "HOOK_NAMES",
    "SPEC_VERSION",
    "START_MODES",
    "UPDATE_STRATEGIES",
    "Asgi",
    "Command",
    "Dependencies",
    "Description",
    "Health",
    "Hook",
    "Process",
    "RawAsgi",
    "RawCommand",
    "RawDependencies",
    "RawDescription",
    "RawHealth",
    "RawHook",
    "RawProcess",
    "RawRequires",
    "RawService",
    "RawTask",
    "RawUpdates",
    "RawWsgi",
    "Requires",
    "Service",
    "StartMode",
    "StaticDir",
    "Task",
    "UpdateStrategy",
    "Updates",
    "Wsgi",
    "env_name",
    "service_variable",
]

HOOK_NAMES = ("install", "verify", "pre-update", "post-update", "backup", "uninstall")
DEFAULT_HOOK_TIMEOUT = 300.0
DEFAULT_TASK_TIMEOUT = 300.0
DEFAULT_CONFIG_FILE = "configuration.yaml"

UpdateStrategy = Literal["always-latest", "one-branch", "latest-tag"]
StartMode = Literal["beside", "after-stop"]
UPDATE_STRATEGIES: tuple[UpdateStrategy, ...] = ("always-latest", "one-branch", "latest-tag")
"""Which revision a host deploys from version control (section 3.18)."""
START_MODES: tuple[StartMode, ...] = ("beside", "after-stop")
"""How a new release takes over from the running one (section 3.18)."""


class RawRequires(TypedDict, total=False):
    """``requires`` as stored (section 3.3)."""

    python: str
    os: list[str]
    deb: list[str]
    rpm: list[str]
    external: list[str]


class RawDependencies(TypedDict, total=False):
    """``dependencies`` as stored (section 3.5)."""

    packages: list[str]
    requirements: str
    shared: list[str]
    local: list[str]


class RawWsgi(TypedDict, total=False):
    """``wsgi`` as stored (section 3.6); ``app`` is required."""

    app: str
    factory: bool


class RawAsgi(TypedDict, total=False):
    """``asgi`` as stored (section 3.16); ``app`` is required."""

    app: str
    factory: bool


class RawService(TypedDict, total=False):
    """One service under ``services`` as stored (section 3.9); ``type`` is required."""

    type: str
    variable: str
    required: bool
    summary: str


class RawCommand(TypedDict, total=False):
    """The mapping form of a command (section 3.11); a command that gives only ``call`` is its reference."""

    call: str
    help: str


class RawProcess(TypedDict, total=False):
    """One process under ``processes`` as stored (section 3.12)."""

    call: str
    command: str
    args: list[str]
    count: int
    port: bool


class RawHook(TypedDict, total=False):
    """The mapping form of a hook (section 3.13); a hook that gives only ``call`` is its reference."""

    call: str
    timeout: float


class RawTask(TypedDict, total=False):
    """One task under ``tasks`` as stored (section 3.14)."""

    call: str
    every: int
    cron: str
    timeout: float


class RawHealth(TypedDict, total=False):
    """``health`` as stored (section 3.15)."""

    path: str
    timeout: float
    start: float


class RawUpdates(TypedDict, total=False):
    """``updates`` as stored (section 3.18)."""

    strategy: UpdateStrategy
    branch: str
    tag_pattern: str
    prereleases: bool
    start: StartMode


class RawDescription(TypedDict, total=False):
    """``metadata.yaml`` as stored (section 3); ``pyapp``, ``name`` and ``version`` are required."""

    pyapp: str
    name: str
    version: str
    summary: str
    license: str
    homepage: str
    authors: list[str]
    requires: RawRequires
    paths: list[str]
    data: list[str]
    dependencies: RawDependencies
    wsgi: RawWsgi
    asgi: RawAsgi
    config: str
    writable: list[str]
    services: dict[str, RawService]
    static: dict[str, str]
    commands: dict[str, str | RawCommand]
    processes: dict[str, RawProcess]
    hooks: dict[str, str | RawHook]
    tasks: dict[str, RawTask]
    health: RawHealth
    updates: RawUpdates
    data_version: int


@dataclass(frozen=True, kw_only=True)
class Requires:
    """What the host must provide (section 3.3)."""

    python: str | None = None
    os: tuple[str, ...] = ()
    deb: tuple[str, ...] = ()
    rpm: tuple[str, ...] = ()
    external: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: RawRequires) -> Requires:
        values = given(d, python=str, os=tuple, deb=tuple, rpm=tuple, external=tuple)
        if values.get("python") == "":
            # The empty specifier allows every version, as no python does (section 3.3): read as none,
            # so that a description equals itself written out and read back.
            del values["python"]
        return cls(**values)

    def to_dict(self) -> RawRequires:
        out = stored(self)
        if out.get("python") == "":
            # The empty specifier allows every version, as no python does (section 3.3): never written.
            del out["python"]
        return cast(RawRequires, out)


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """Third-party distributions (section 3.5). ``shared`` ``("*",)`` lets every one be shared."""

    packages: tuple[str, ...] = ()
    requirements: str | None = None
    shared: tuple[str, ...] = ("*",)
    local: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: RawDependencies) -> Dependencies:
        return cls(**given(d, packages=tuple, requirements=str, shared=tuple, local=tuple))

    def to_dict(self) -> RawDependencies:
        return cast(RawDependencies, stored(self))

    def is_shared(self, distribution: str) -> bool:
        """Whether *distribution* may go to the host's shared server-packages (section 3.5)."""
        from .pypa import canonical_name

        name = canonical_name(distribution)
        if name in {canonical_name(d) for d in self.local}:
            return False
        return "*" in self.shared or name in {canonical_name(d) for d in self.shared}


@dataclass(frozen=True, kw_only=True)
class Wsgi:
    """The WSGI part (section 3.6)."""

    app: str
    factory: bool = False

    @classmethod
    def from_dict(cls, d: RawWsgi) -> Wsgi:
        return cls(**given(d, app=str, factory=bool))

    def to_dict(self) -> RawWsgi:
        return cast(RawWsgi, stored(self))


@dataclass(frozen=True, kw_only=True)
class Asgi:
    """The ASGI part, the alternative to :class:`Wsgi` (section 3.16)."""

    app: str
    factory: bool = False

    @classmethod
    def from_dict(cls, d: RawAsgi) -> Asgi:
        return cls(**given(d, app=str, factory=bool))

    def to_dict(self) -> RawAsgi:
        return cast(RawAsgi, stored(self))


@dataclass(frozen=True, kw_only=True)
class Service:
    """A resource the host provides, given to the app as one variable (section 3.9).

    ``variable`` left empty is the default, ``PYAPP_SERVICE_<NAME>``, filled in from ``name``.
    """

    _key: ClassVar[str] = "name"

    name: str
    type: str
    variable: str = ""
    required: bool = True
    summary: str = ""

    def __post_init__(self) -> None:
        if not self.variable:
            object.__setattr__(self, "variable", service_variable(self.name))

    @classmethod
    def from_dict(cls, name: str, d: RawService) -> Service:
        """The service stored as *d* under ``services`` → *name*."""
        return cls(name=name, **given(d, type=str, variable=str, required=bool, summary=str))

    def to_dict(self) -> RawService:
        out = stored(self)
        if self.variable == service_variable(self.name):
            del out["variable"]
        return cast(RawService, out)


@dataclass(frozen=True, kw_only=True)
class StaticDir:
    """A directory served as static files under a URL path (section 3.10)."""

    _key: ClassVar[str] = "url"

    url: str
    dir: str

    @classmethod
    def from_dict(cls, url: str, d: str) -> StaticDir:
        """The directory *d* stored under ``static`` → *url*."""
        return cls(url=url, dir=d)

    def to_dict(self) -> str:
        return self.dir


@dataclass(frozen=True, kw_only=True)
class Command:
    """A named command: ``call(argv) -> int | None`` (section 3.11)."""

    _key: ClassVar[str] = "name"

    name: str
    call: str
    help: str = ""

    @classmethod
    def from_dict(cls, name: str, d: str | RawCommand) -> Command:
        """The command stored as *d* (a reference or a mapping) under ``commands`` → *name*."""
        return cls(name=name, **given(_call_mapping(d), call=str, help=str))

    def to_dict(self) -> str | RawCommand:
        return cast("str | RawCommand", _call_or_mapping(stored(self)))


@dataclass(frozen=True, kw_only=True)
class Process:
    """A long-running part other than the WSGI app (section 3.12)."""

    _key: ClassVar[str] = "name"

    name: str
    call: str | None = None
    command: str | None = None
    args: tuple[str, ...] = ()
    count: int = 1
    port: bool = False

    @classmethod
    def from_dict(cls, name: str, d: RawProcess) -> Process:
        """The process stored as *d* under ``processes`` → *name*."""
        return cls(name=name, **given(d, call=str, command=str, args=tuple, count=int, port=bool))

    def to_dict(self) -> RawProcess:
        return cast(RawProcess, stored(self))


@dataclass(frozen=True, kw_only=True)
class Hook:
    """A lifecycle hook: ``call(context)`` (section 3.13)."""

    _key: ClassVar[str] = "name"

    name: str
    call: str
    timeout: float = DEFAULT_HOOK_TIMEOUT

    @classmethod
    def from_dict(cls, name: str, d: str | RawHook) -> Hook:
        """The hook stored as *d* (a reference or a mapping) under ``hooks`` → *name*."""
        return cls(name=name, **given(_call_mapping(d), call=str, timeout=float))

    def to_dict(self) -> str | RawHook:
        return cast("str | RawHook", _call_or_mapping(stored(self)))


@dataclass(frozen=True, kw_only=True)
class Task:
    """A recurring task: ``call(context)`` every N seconds or on a cron schedule (section 3.14)."""

    _key: ClassVar[str] = "name"

    name: str
    call: str
    every: int | None = None
    cron: str | None = None
    timeout: float = DEFAULT_TASK_TIMEOUT

    @classmethod
    def from_dict(cls, name: str, d: RawTask) -> Task:
        """The task stored as *d* under ``tasks`` → *name*."""
        return cls(name=name, **given(d, call=str, every=int, cron=str, timeout=float))

    def to_dict(self) -> RawTask:
        return cast(RawTask, stored(self))


@dataclass(frozen=True, kw_only=True)
class Health:
    """How a host tells the app is up (section 3.15)."""

    path: str = "/"
    timeout: float = 5.0
    start: float = 30.0

    @classmethod
    def from_dict(cls, d: RawHealth) -> Health:
        return cls(**given(d, path=str, timeout=float, start=float))

    def to_dict(self) -> RawHealth:
        return cast(RawHealth, stored(self))


@dataclass(frozen=True, kw_only=True)
class Updates:
    """The update policy (section 3.18): which revision a host deploys from version control, and how a new
    release takes over. ``branch`` applies to ``one-branch``, ``tag_pattern`` and ``prereleases`` to
    ``latest-tag``."""

    strategy: UpdateStrategy = "always-latest"
    branch: str = "main"
    tag_pattern: str = "v*"
    prereleases: bool = False
    start: StartMode = "beside"

    @classmethod
    def from_dict(cls, d: RawUpdates) -> Updates:
        return cls(**given(d, strategy=str, branch=str, tag_pattern=str, prereleases=bool, start=str))

    def to_dict(self) -> RawUpdates:
        return cast(RawUpdates, stored(self))


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
    data: tuple[str, ...] = ()
    dependencies: Dependencies = field(default_factory=Dependencies)
    wsgi: Wsgi | None = None
    asgi: Asgi | None = None
    config: str | None = None
    writable: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    static: tuple[StaticDir, ...] = ()
    commands: tuple[Command, ...] = ()
    processes: tuple[Process, ...] = ()
    hooks: tuple[Hook, ...] = ()
    tasks: tuple[Task, ...] = ()
    health: Health = field(default_factory=Health)
    updates: Updates = field(default_factory=Updates)
    data_version: int = 0
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
        return cls.from_checked(clean)

    @classmethod
    def from_checked(cls, clean: Mapping[str, Any]) -> Description:
        """The model of a ``clean`` document :func:`check_description` accepted, not checked again."""
        return cls(
            **given(
                clean,
                pyapp=str,
                name=str,
                version=str,
                summary=str,
                license=str,
                homepage=str,
                authors=tuple,
                requires=Requires.from_dict,
                paths=tuple,
                data=tuple,
                dependencies=Dependencies.from_dict,
                wsgi=Wsgi.from_dict,
                asgi=Asgi.from_dict,
                config=str,
                writable=tuple,
                services=keyed(Service.from_dict),
                static=keyed(StaticDir.from_dict),
                commands=keyed(Command.from_dict),
                processes=keyed(Process.from_dict),
                hooks=keyed(Hook.from_dict),
                tasks=keyed(Task.from_dict),
                health=Health.from_dict,
                updates=Updates.from_dict,
                data_version=int,
            ),
            extensions={k: copy.deepcopy(v) for k, v in clean.items() if k.startswith("x-")},
        )

    def to_dict(self) -> RawDescription:
        """The stored shape, without keys that hold their default; extension keys come last."""
        out = stored(self)
        out.pop("extensions", None)
        out.update(copy.deepcopy(dict(self.extensions)))
        return cast(RawDescription, out)


# -- the bare reference a command or hook may be -----------------------------


def _call_mapping(d: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """A command or hook given as a bare reference is its mapping form with only ``call``."""
    return {"call": d} if isinstance(d, str) else d


def _call_or_mapping(d: dict[str, Any]) -> str | dict[str, Any]:
    """A command or hook that holds only ``call`` is stored as that bare reference."""
    return d["call"] if d.keys() == {"call"} else d
