"""The host's own settings: how this host runs apps' daemons (``$PYAPP_HOME/host.yaml``).

Every key is optional; the file itself is too::

    daemons: true            # run apps' processes under supervision (PYAPP_DAEMONS=0|1 overrides)
    listen: unix             # unix: a socket under the app's run/; port: a port from `ports`
    ports: 8100-8999         # the range ports are taken from (web daemons with listen: port,
                             # and processes with `port: true`)
    method: threads          # threads: one waitress process with `threads` threads (uvicorn: one);
                             # processes: `processes` waitress (or uvicorn) processes sharing one port
    threads: 4
    processes: 2
    stop_wait: 30            # seconds a stopping daemon gets to finish its requests
    socket_perms: "600"      # mode of the unix sockets (default 600; 660 and the web server's group
                             # for an app with a user of its own, see docs/trust-model.md)
    app_users: true          # as root, each app runs as a system user of its own (pyapp-<app>)
    confinement: auto        # auto: in a bubblewrap sandbox where bwrap works; bubblewrap: always
                             # (an error where it cannot); none: never
    limits: {memory: 1G, nofile: 4096, cpu_weight: 100}   # per process; each key optional
    web_server: none         # which web server serves the routes: none, auto, nginx, apache, lighttpd
                             # (PYAPP_WEB_SERVER overrides it; see docs/web.md)
    apps:                    # per-app overrides of listen, method, threads, processes, stop_wait, limits
      blog: {listen: port, method: processes, processes: 4, limits: {memory: 512M}}

``method: processes`` needs ``listen: port``: the processes bind the same loopback
port with ``SO_REUSEPORT`` and the kernel spreads connections between them (a unix
socket cannot be shared by independent processes). The file is read by the host's
commands, never by an app's processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from apppackage.errors import AppPackageError
from apppackage.safeyaml import load_yaml

from .errors import HostError
from .isolation.limits import Limits, parse_limits
from .webservers.model import KINDS

__all__ = [
    "CONFINEMENTS",
    "DAEMONS_VARIABLE",
    "MEANINGS",
    "SETTINGS_FILE",
    "SETTING_KEYS",
    "WEB_SERVERS",
    "WEB_SERVER_VARIABLE",
    "AppDaemonSettings",
    "BadSettings",
    "HostSettings",
    "environment_overrides",
    "supervisor_available",
]

SETTINGS_FILE = "host.yaml"
DAEMONS_VARIABLE = "PYAPP_DAEMONS"
WEB_SERVER_VARIABLE = "PYAPP_WEB_SERVER"
WEB_SERVERS = ("auto", "none", *KINDS)
"""The values of ``web_server``: ``auto`` is the first of the kinds installed here."""
CONFINEMENTS = ("auto", "bubblewrap", "none")
"""The values of ``confinement``: ``auto`` is bubblewrap where it works here."""

Listen = Literal["unix", "port"]
Method = Literal["threads", "processes"]

_PER_APP = ("listen", "method", "threads", "processes", "stop_wait")
_TOP = (
    "daemons",
    "ports",
    "socket_perms",
    "apps",
    "web_server",
    "app_users",
    "confinement",
    "limits",
    *_PER_APP,
)
SETTING_KEYS = _TOP
"""Every key ``host.yaml`` may hold."""
MEANINGS = {
    "daemons": f"Run the apps' processes under supervision (needs the supervisor distribution);"
    f" ${DAEMONS_VARIABLE}=0 or 1 overrides it.",
    "listen": "How each app's web daemon listens: unix (a socket under the app's run/) or port (a loopback"
    " port from ports).",
    "ports": "The range ports are taken from (web daemons with listen: port, processes with port: true).",
    "method": "threads: one waitress process with `threads` threads (an ASGI app: one uvicorn process);"
    " processes: `processes` waitress (or uvicorn) processes sharing one port (needs listen: port).",
    "threads": "Waitress threads per WSGI daemon process.",
    "processes": "Waitress (or uvicorn) processes per app with method: processes.",
    "stop_wait": "Seconds a stopping daemon or process gets to finish its requests.",
    "socket_perms": "Mode of the unix sockets (unset: 600, or 660 for an app with a user of its own).",
    "app_users": "As root, each app runs as a system user of its own (pyapp-<app>).",
    "confinement": "auto: an app with a user of its own runs in a bubblewrap sandbox where bwrap works;"
    " bubblewrap: always (an error where it cannot); none: never.",
    "limits": "Per process: memory (bytes of address space; 512M, 2G), nofile (open files), cpu_weight"
    " (1-10000, 100 the usual share); unset: no limit.",
    "web_server": f"The web server that serves the virtual hosts and mounts: none, auto or a kind;"
    f" ${WEB_SERVER_VARIABLE} overrides it.",
    "apps": "Per app: its own listen, method, threads, processes, stop_wait and limits.",
}
"""What each setting means, for people (``pyapp settings``, the management server)."""
_OFF = ("0", "off", "false", "no")
_ON = ("1", "on", "true", "yes")
_RANGE = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")


class BadSettings(HostError, ValueError):
    """``host.yaml`` holds something this host cannot use; ``problems`` lists every one.

    Each problem reads ``<JSON pointer>: <what is wrong>`` (:attr:`pointers` splits them); *hint* says
    what to do (default: fix the file, or the variable when *file* is one).
    """

    def __init__(self, file: str, problems: list[str], *, hint: str | None = None) -> None:
        self.file = file
        self.problems = tuple(problems)
        lines = [f"{file}: the host settings are not valid:"] + [f"  {p}" for p in problems]
        if hint is None:
            hint = (
                "set the variable to a valid value, or unset it" if file.startswith("$") else "fix the file"
            )
        super().__init__("\n".join([*lines, f"{hint} (see docs/daemons.md)"]))

    @property
    def pointers(self) -> list[tuple[str, str]]:
        """Each problem as ``(JSON pointer, message)`` (the pointer empty for the file as a whole)."""
        out = []
        for problem in self.problems:
            path, sep, message = problem.partition(": ")
            out.append((path, message) if sep and path.startswith("/") else ("", problem))
        return out


def supervisor_available() -> bool:
    """Whether supervisord can run here (the ``supervisor`` distribution is importable)."""
    import importlib.util

    return importlib.util.find_spec("supervisor") is not None


@dataclass(frozen=True, kw_only=True)
class AppDaemonSettings:
    """How one app's WSGI daemon runs."""

    listen: Listen = "unix"
    method: Method = "threads"
    threads: int = 4
    processes: int = 2
    stop_wait: int = 30

    @property
    def copies(self) -> int:
        """How many waitress processes serve the app."""
        return self.processes if self.method == "processes" else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "listen": self.listen,
            "method": self.method,
            "threads": self.threads,
            "processes": self.processes,
            "stop_wait": self.stop_wait,
        }


@dataclass(frozen=True, kw_only=True)
class HostSettings:
    """The settings of one host (see the module's docstring for the file)."""

    daemons: bool = True
    """Whether installs start apps' processes under supervision."""
    ports: tuple[int, int] = (8100, 8999)
    socket_perms: str | None = None
    web_server: str = "none"
    """Which web server serves the host's routes (one of :data:`WEB_SERVERS`)."""
    defaults: AppDaemonSettings = field(default_factory=AppDaemonSettings)
    apps: Mapping[str, AppDaemonSettings] = field(default_factory=dict)
    app_users: bool = True
    """As root, whether each app runs as a system user of its own (docs/trust-model.md)."""
    confinement: str = "auto"
    """Whether apps' processes start in a sandbox (one of :data:`CONFINEMENTS`)."""
    limits: Limits = field(default_factory=Limits)
    app_limits: Mapping[str, Limits] = field(default_factory=dict)
    source: str = ""
    """The file they were read from (empty: built in code)."""

    def for_app(self, name: str) -> AppDaemonSettings:
        return self.apps.get(name, self.defaults)

    def limits_for(self, name: str) -> Limits:
        return self.app_limits.get(name, self.limits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "daemons": self.daemons,
            "ports": f"{self.ports[0]}-{self.ports[1]}",
            "socket_perms": self.socket_perms,
            "web_server": self.web_server,
            "app_users": self.app_users,
            "confinement": self.confinement,
            "limits": self.limits.to_dict(),
            **self.defaults.to_dict(),
            "apps": {
                name: {**s.to_dict(), "limits": self.limits_for(name).to_dict()}
                for name, s in sorted(self.apps.items())
            },
        }

    @classmethod
    def load(cls, home: Path) -> HostSettings:
        """Read ``<home>/host.yaml`` (defaults when it does not exist), then ``$PYAPP_DAEMONS``."""
        path = home / SETTINGS_FILE
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            settings = cls()
        else:
            try:
                raw = load_yaml(text, str(path))
            except AppPackageError as exc:
                raise BadSettings(str(path), [str(exc)]) from None
            settings = cls.from_dict(raw if raw is not None else {}, source=str(path))
        return settings.with_environment()

    def with_environment(self, environ: Mapping[str, str] | None = None) -> HostSettings:
        """These settings with ``$PYAPP_DAEMONS`` (``0``/``off``/``false``, ``1``/``on``/``true``) and
        ``$PYAPP_WEB_SERVER`` applied."""
        environ = environ if environ is not None else os.environ
        settings = self
        value = environ.get(DAEMONS_VARIABLE, "").strip().lower()
        if value in _OFF:
            settings = replace(settings, daemons=False)
        elif value in _ON:
            settings = replace(settings, daemons=True)
        return settings.with_web_server(environ.get(WEB_SERVER_VARIABLE, ""), f"${WEB_SERVER_VARIABLE}")

    def with_web_server(self, value: str | None, source: str = "web_server") -> HostSettings:
        """These settings with ``web_server`` set to *value* (kept when empty); :class:`BadSettings` names
        *source* when it is not one of :data:`WEB_SERVERS`."""
        value = (value or "").strip().lower()
        if not value:
            return self
        if value not in WEB_SERVERS:
            raise BadSettings(source, [f"/web_server: {value!r} must be one of {', '.join(WEB_SERVERS)}"])
        return replace(self, web_server=value)

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = SETTINGS_FILE) -> HostSettings:
        """Check *raw* (the parsed file) and build the settings; report every problem at once."""
        problems: list[str] = []
        if not isinstance(raw, Mapping):
            raise BadSettings(source, ["the file must hold a mapping of settings"])
        for key in raw:
            if key not in _TOP:
                problems.append(f"/{key}: unknown setting (known: {', '.join(_TOP)})")
        daemons = raw.get("daemons", cls.daemons)
        if not isinstance(daemons, bool):
            problems.append("/daemons: must be true or false")
        ports = _ports(raw.get("ports"), cls.ports, problems)
        perms = raw.get("socket_perms")
        if isinstance(perms, int):
            # YAML reads an unquoted 0660 as the number 432: which digits were meant cannot be told.
            problems.append(f'/socket_perms: {perms} is a number; write the mode quoted, such as "660"')
            perms = None
        elif perms is not None:
            perms = str(perms)
            if not re.fullmatch(r"0?[0-7]{3}", perms):
                problems.append(f'/socket_perms: {perms!r} is not an octal mode such as "600" or "660"')
        web_server = str(raw.get("web_server") or cls.web_server).strip().lower()
        if web_server not in WEB_SERVERS:
            problems.append(f"/web_server: {web_server!r} must be one of {', '.join(WEB_SERVERS)}")
        app_users = raw.get("app_users", cls.app_users)
        if not isinstance(app_users, bool):
            problems.append("/app_users: must be true or false")
        confinement = str(raw.get("confinement") or cls.confinement).strip().lower()
        if confinement not in CONFINEMENTS:
            problems.append(f"/confinement: {confinement!r} must be one of {', '.join(CONFINEMENTS)}")
        limits = parse_limits(raw.get("limits"), "/limits", Limits(), problems)
        app_limits: dict[str, Limits] = {}
        defaults = _app_settings(raw, "", AppDaemonSettings(), problems)
        apps: dict[str, AppDaemonSettings] = {}
        given = raw.get("apps") or {}
        if not isinstance(given, Mapping):
            problems.append("/apps: must map app names to settings")
            given = {}
        for name, value in given.items():
            if not isinstance(value, Mapping):
                problems.append(f"/apps/{name}: must be a mapping of settings")
                continue
            for key in value:
                if key not in (*_PER_APP, "limits"):
                    problems.append(
                        f"/apps/{name}/{key}: unknown setting (known: {', '.join(_PER_APP)}, limits)"
                    )
            apps[str(name)] = _app_settings(value, f"/apps/{name}", defaults, problems)
            if "limits" in value:
                app_limits[str(name)] = parse_limits(
                    value["limits"], f"/apps/{name}/limits", limits, problems
                )
        if problems:
            raise BadSettings(source, problems)
        return cls(
            daemons=bool(daemons), ports=ports, socket_perms=perms, web_server=web_server, defaults=defaults,
            apps=apps, app_users=bool(app_users), confinement=confinement, limits=limits,
            app_limits=app_limits, source=source,
        )  # fmt: skip


def environment_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings a variable of *environ* (default: this process's) overrides, each with the variable's name
    (see :meth:`HostSettings.with_environment`)."""
    environ = environ if environ is not None else os.environ
    out = {}
    if environ.get(DAEMONS_VARIABLE, "").strip().lower() in (*_OFF, *_ON):
        out["daemons"] = f"${DAEMONS_VARIABLE}"
    if environ.get(WEB_SERVER_VARIABLE, "").strip():
        out["web_server"] = f"${WEB_SERVER_VARIABLE}"
    return out


def _ports(value: Any, default: tuple[int, int], problems: list[str]) -> tuple[int, int]:
    if value is None:
        return default
    match = _RANGE.match(str(value))
    if not match:
        problems.append(f"/ports: {value!r} is not a range such as 8100-8999")
        return default
    low, high = int(match[1]), int(match[2])
    if not 1024 <= low <= high <= 65535:
        problems.append(f"/ports: {value!r} must lie within 1024-65535, the lower bound first")
    return (low, high)


def _app_settings(
    raw: Mapping[str, Any], where: str, base: AppDaemonSettings, problems: list[str]
) -> AppDaemonSettings:
    values = base.to_dict()
    for key in _PER_APP:
        if key in raw:
            values[key] = raw[key]
    if values["listen"] not in ("unix", "port"):
        problems.append(f"{where}/listen: {values['listen']!r} must be unix or port")
    if values["method"] not in ("threads", "processes"):
        problems.append(f"{where}/method: {values['method']!r} must be threads or processes")
    for key, low, high in (("threads", 1, 256), ("processes", 1, 64), ("stop_wait", 1, 3600)):
        number = values[key]
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            problems.append(f"{where}/{key}: {number!r} must be a whole number from {low} to {high}")
    if values["method"] == "processes" and values["listen"] == "unix":
        problems.append(
            f"{where}/method: processes needs listen: port (the processes share one port with"
            " SO_REUSEPORT; a unix socket cannot be shared by independent processes)"
        )
    if problems:
        return base
    return AppDaemonSettings(**values)
