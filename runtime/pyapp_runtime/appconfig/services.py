"""An installed app's services (spec section 3.9): the operator's values in ``apps/<name>/services.yaml``.

A description declares the resources it needs (a database, a cache, a mail
server...); the host gives each one's value to every process of the app as one
variable (section 5.3). The values are the operator's and hold credentials, so the
file is mode 0600, written atomically, and journaled with the configuration::

    db: postgresql://blog:s3cret@db.internal:5432/blog
    cache: sqlite:///srv/pyapp/apps/blog/data/cache.sqlite3

:func:`resolve` carries the stored values to a release's declared services: values
of services still declared are kept, the operator's ``NAME=VALUE`` assignments are
checked and applied, a required ``sqlite`` service without a value is provisioned in
the app's data directory, and every problem (a required service without a value, a
value of the wrong form, a name the app does not declare) is reported at once by
:class:`~pyapp_runtime.errors.BadServices`. Values leave the host only through
:func:`mask`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from apppackage.description import Service
from apppackage.errors import InvalidPackage, Problem, pointer
from apppackage.files import write_atomic
from apppackage.safeyaml import dump_yaml, load_yaml

from .._plain import Plain
from ..errors import BadServices

__all__ = [
    "MASK",
    "SERVICES_FILE",
    "WELL_KNOWN",
    "ResolvedServices",
    "ServiceInfo",
    "ServicesInfo",
    "ServicesResult",
    "check_value",
    "describe",
    "load_services",
    "mask",
    "provisioned_value",
    "resolve",
    "write_services",
]

SERVICES_FILE = "services.yaml"
MASK = "****"

WELL_KNOWN: Mapping[str, tuple[tuple[str, ...], str]] = {
    "postgresql": (("postgresql",), "postgresql://user:password@host:port/database"),
    "mysql": (("mysql",), "mysql://user:password@host:port/database"),
    "sqlite": (("sqlite",), "sqlite:///absolute/path/to/file.db"),
    "mongodb": (("mongodb",), "mongodb://user:password@host:port/database"),
    "redis": (("redis",), "redis://[:password@]host:port/number"),
    "smtp": (("smtp", "smtps"), "smtp://[user:password@]host:port (smtps:// for implicit TLS)"),
    "http": (("http", "https"), "http://host:port/path or https://..."),
}
"""The well-known types of section 3.9: the URL schemes a value may have, and its form."""

_HEADER = (
    "# The values of the app's services (mode 0600). Change them with: pyapp services {app} set NAME=VALUE\n"
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def mask(value: str) -> str:
    """*value* fit to show: a URL's password and query values replaced by ``****``; anything else ``****``."""
    if not _URL.match(value):
        return MASK
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return MASK
    if "@" in value[len(parts.scheme) + 3 + len(parts.netloc) :]:
        # A password with an unescaped "/", "?" or "#" ends the host part early: hide all of it.
        return f"{parts.scheme}://{MASK}"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = hostport
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{user}@{hostport}"
    out = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.query:
        # Query strings carry tokens as often as passwords do.
        out += "?" + "&".join(f"{p.partition('=')[0]}={MASK}" for p in parts.query.split("&"))
    if parts.fragment:
        out += f"#{MASK}"
    return out


def check_value(service: Service, value: Any) -> str | None:
    """What is wrong with *value* for *service* (``None``: nothing); the message shows it masked."""
    if not isinstance(value, str) or not value:
        return "the value is empty: give a non-empty string"
    if "\0" in value:
        return "the value holds a NUL character, which no environment variable can carry"
    known = WELL_KNOWN.get(service.type)
    if known is None:
        return None  # another type: the app and its hosts agree on the value (section 3.9)
    schemes, form = known
    expected = f"expected a {service.type} URL: {form}"
    if any(c.isspace() or ord(c) < 32 for c in value) or not _URL.match(value):
        return f"{mask(value)} is not a URL; {expected}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"{mask(value)} is not a valid URL ({exc}); {expected}"
    if parts.scheme not in schemes:
        return f"{mask(value)} has the scheme {parts.scheme}://; {expected}"
    if service.type == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.path.rstrip("/") == "":
            return f"{mask(value)} does not name an absolute file path; {expected}"
    elif not parts.hostname:
        return f"{mask(value)} names no host; {expected}"
    return None


def provisioned_value(service: Service, data_path: Path) -> str | None:
    """The value the host gives *service* by itself, or ``None`` when it cannot (only ``sqlite`` it can)."""
    if service.type != "sqlite":
        return None
    path = Path(data_path).absolute() / f"{service.name}.sqlite3"
    return "sqlite://" + quote(str(path), safe="/")


def load_services(path: Path) -> dict[str, str]:
    """The values stored in *path* by service name (``{}`` when there is no such file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        raw = load_yaml(data, path.name)
    except InvalidPackage as exc:
        problems: Sequence[Problem] = exc.problems
    else:
        if raw is None:
            return {}
        if isinstance(raw, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            return dict(raw)
        problems = [
            Problem(file=path.name, path="", message="must map service names to their values (strings)")
        ]
    raise BadServices(
        f"{path}: the service values cannot be read:",
        problems,
        "fix the file, or give the values again: pyapp services APP set NAME=VALUE",
    )


def write_services(path: Path, values: Mapping[str, str], *, app: str = "APP") -> None:
    """Write *values* to *path* atomically, mode 0600."""
    body = dump_yaml(dict(values)) if values else "{}\n"
    write_atomic(path, _HEADER.format(app=app) + body, mode=0o600)


@dataclass(frozen=True, kw_only=True)
class ResolvedServices:
    """The values a release's services get, and how they came to be."""

    values: Mapping[str, str]
    """By service name, only declared services (in their declared order)."""
    provisioned: tuple[str, ...] = ()
    """Services the host provisioned now (a required ``sqlite`` service without a value)."""
    assigned: tuple[str, ...] = ()
    """Services the operator gave a value (``NAME=VALUE``)."""
    unset: tuple[str, ...] = ()
    """Optional services whose value the operator removed."""
    unused: Mapping[str, str] = field(default_factory=dict)
    """Stored values of services the release does not declare: kept for a rollback, given to no process."""

    def changed(self, stored: Mapping[str, str]) -> tuple[str, ...]:
        """The services whose value differs from *stored* (set, changed or removed)."""
        names = sorted(set(stored) | set(self.values))
        return tuple(n for n in names if stored.get(n) != self.values.get(n))

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": {name: mask(value) for name, value in self.values.items()},
            "provisioned": list(self.provisioned),
            "assigned": list(self.assigned),
            "unset": list(self.unset),
            "unused": sorted(self.unused),
        }

    def stored(self) -> dict[str, str]:
        """What the services file holds after this: the values, and the unused ones kept."""
        return {**self.unused, **self.values}


def _pairs(
    given: Iterable[str] | Mapping[str, str], file: str, problems: list[Problem]
) -> list[tuple[str, Any]]:
    if isinstance(given, Mapping):
        return [(str(k), v) for k, v in given.items()]
    out = []
    for text in given:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            # The text may be a bare secret: show it masked.
            problems.append(Problem(file=file, path="", message=f"{mask(text)}: expected NAME=VALUE"))
            continue
        out.append((name.strip(), value))
    return out


def resolve(
    declared: Sequence[Service],
    stored: Mapping[str, str] | None,
    given: Iterable[str] | Mapping[str, str] = (),
    *,
    app: str,
    data_path: Path,
    unset: Iterable[str] = (),
    what: str = "",
    hint: str | None = None,
    file: str = SERVICES_FILE,
) -> ResolvedServices:
    """The values for *declared*, from *stored*, the operator's *given* ones and what the host provisions.

    *given* is ``NAME=VALUE`` texts (or a mapping); *unset* names optional services to
    leave without a value. Raises :class:`BadServices` listing every problem; *hint*
    says what to do (default: the ``--service`` option and ``pyapp services APP set``).
    """
    by_name = {s.name: s for s in declared}
    known = ", ".join(sorted(by_name)) or "none"
    problems: list[Problem] = []
    stored = dict(stored or {})
    values = {k: v for k, v in stored.items() if k in by_name}
    unused = {k: v for k, v in stored.items() if k not in by_name}
    assigned: list[str] = []
    removed: list[str] = []
    failed: set[str] = set()

    def refuse(name: str, message: str) -> None:
        problems.append(Problem(file=file, path=pointer(name), message=message))
        failed.add(name)

    for name, value in _pairs(given, file, problems):
        service = by_name.get(name)
        if service is None:
            refuse(name, f"{app} declares no service {name!r} (declared: {known})")
        elif (message := check_value(service, value)) is not None:
            refuse(name, message)
        else:
            values[name] = value
            assigned.append(name)
    for name in unset:
        service = by_name.get(name)
        if service is None:
            refuse(name, f"{app} declares no service {name!r} (declared: {known})")
        elif service.required:
            refuse(
                name, f"{app} requires this {service.type} service: it cannot be unset (give another value)"
            )
        else:
            values.pop(name, None)
            removed.append(name)
    for name, value in list(values.items()):
        # A stored value may not fit a new release (a service that changed its type).
        if name not in assigned and (message := check_value(by_name[name], value)) is not None:
            refuse(name, f"the stored value does not fit: {message}")
    provisioned: list[str] = []
    missing: list[str] = []
    for service in declared:
        if not service.required or service.name in values or service.name in failed:
            continue
        value = provisioned_value(service, data_path)
        if value is not None:
            values[service.name] = value
            provisioned.append(service.name)
            continue
        missing.append(service.name)
        summary = f" ({service.summary})" if service.summary else ""
        refuse(service.name, f"the required {service.type} service has no value{summary}")
    if problems:
        raise BadServices(
            f"the services of {what or app} cannot all be provided:",
            problems,
            hint or f"give it with --service NAME=VALUE (or: pyapp services {app} set NAME=VALUE)",
            missing,
        )
    return ResolvedServices(
        values={s.name: values[s.name] for s in declared if s.name in values},
        provisioned=tuple(provisioned), assigned=tuple(assigned), unset=tuple(removed), unused=unused,
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ServiceInfo(Plain):
    """One declared service as ``pyapp services`` shows it (the value masked)."""

    name: str
    type: str
    variable: str
    required: bool
    summary: str
    provided: bool
    provisioned: bool
    """Whether the value is the one the host provisions itself."""
    value: str | None
    """Masked (see :func:`mask`); ``None`` when the host does not provide the service."""


def describe(
    declared: Sequence[Service], values: Mapping[str, str], data_path: Path
) -> tuple[ServiceInfo, ...]:
    """Each declared service with its masked value."""
    out = []
    for s in declared:
        value = values.get(s.name)
        out.append(
            ServiceInfo(
                name=s.name, type=s.type, variable=s.variable, required=s.required, summary=s.summary,
                provided=value is not None,
                provisioned=value is not None and value == provisioned_value(s, data_path),
                value=mask(value) if value is not None else None,
            )
        )  # fmt: skip
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class ServicesInfo(Plain):
    """``pyapp services APP``: the services the current release declares, values masked."""

    name: str
    version: str
    file: str
    services: tuple[ServiceInfo, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ServicesResult(Plain):
    """A change of service values that was checked and written (values masked)."""

    name: str
    file: str
    changed: tuple[str, ...]
    provisioned: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    """Stored services the current release does not declare (kept for a rollback)."""
    restarted: bool = False
    """Whether the app's running processes were restarted to see the new values."""
    services: tuple[ServiceInfo, ...] = ()
