"""The management server's settings, layered, each value remembering where it came from.

Layers, lowest first::

    built-in defaults
    < /etc/pyapp/server.ini                    the system file
    < $XDG_CONFIG_HOME/pyapp/server.ini        the user file (default ~/.config)
    < ./pyapp-server.ini                       the working directory's file
    < -c FILE                                  a file given on the command line
    < PYAPP_SERVER_<KEY>                       environment variables
    < command-line options                     (``pyapp-server run --port ...``)

Files are INI with one ``[server]`` section. Relative paths in a file are relative
to that file's directory; elsewhere to the working directory. Every bad key or
value is reported (file and key), not only the first.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from apppackage.errors import AppPackageError

__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "SECTION",
    "SETTINGS",
    "SYSTEM_FILE",
    "EffectiveSettings",
    "ServerSettings",
    "Setting",
    "SettingsError",
    "is_loopback",
    "load_settings",
    "user_file",
]

SECTION = "server"
ENV_PREFIX = "PYAPP_SERVER_"
SYSTEM_FILE = Path("/etc/pyapp/server.ini")
LOCAL_FILE = "pyapp-server.ini"
MASK = "********"
MIN_CLIENT_VERSION = "0.1.0"
"""The oldest ``pyapp-ctl`` this server talks to (an operator may raise it: ``min_client_version``)."""


class SettingsError(AppPackageError, ValueError):
    """Settings that cannot be used; the message lists every problem with where it came from."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid server settings:\n" + "\n".join(f"  {p}" for p in problems))


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{text!r} is not a boolean (true or false)")


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


def _size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (bytes, or a number with K, M or G)")
    unit = (match.group(2) or "b")[0].lower()
    return int(match.group(1)) * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"{value} is not a port (0-65535)")
    return value


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < 0:
            raise ValueError(f"{text!r} must not be negative")
        return value

    return parse


def _version(text: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        raise ValueError(f"{text!r} is not a version (PEP 440)") from None
    return text.strip()


def _level(text: str) -> str:
    level = text.strip().lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ValueError(f"{text!r} is not a log level (debug, info, warning, error)")
    return level


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting: its name (the INI key), default text, parser, help, and whether it is secret."""

    name: str
    default: str
    parse: Callable[[str], Any] = str
    help: str = ""
    secret: bool = False
    path: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(name="host", default="127.0.0.1", help="The address to listen on (non-loopback needs tokens)."),
    Setting(name="port", default="6543", parse=_port, help="The TCP port (0 picks a free one)."),
    Setting(
        name="tls_cert",
        default="",
        path=True,
        help="A PEM certificate (chain): serve HTTPS instead of HTTP (with tls_key; TCP only).",
    ),
    Setting(name="tls_key", default="", path=True, help="The PEM private key of tls_cert (keep it 0600)."),
    Setting(name="unix_socket", default="", path=True, help="Listen on this unix socket instead of TCP."),
    Setting(
        name="data_dir",
        default="",
        path=True,
        help="The runtime's home and the server's state (default: the runtime's home, $PYAPP_HOME).",
    ),
    Setting(name="drop_folder", default="", path=True, help="The watched folder (default: DATA_DIR/drop)."),
    Setting(
        name="drop_interval",
        default="2",
        parse=_positive(float),
        help="Seconds between two looks at the drop folder (0: do not watch it).",
    ),
    Setting(
        name="watch_interval",
        default="5",
        parse=_positive(float),
        help="Seconds between two checks of the host: what died restarted (0: do not watch it).",
    ),
    Setting(name="max_upload_size", default="256M", parse=_size, help="The largest package upload accepted."),
    Setting(name="job_workers", default="2", parse=_positive(int), help="Threads running long operations."),
    Setting(name="threads", default="8", parse=_positive(int), help="Threads serving requests."),
    Setting(
        name="open_reads",
        default="false",
        parse=_bool,
        help="Let requests without a token read (never change) when bound to loopback or a unix socket.",
    ),
    Setting(
        name="admin_token",
        default="",
        secret=True,
        help="An admin token accepted besides those made with 'pyapp-server token create'.",
    ),
    Setting(
        name="min_client_version",
        default=MIN_CLIENT_VERSION,
        parse=_version,
        help="The oldest pyapp-ctl served; older ones are told how to upgrade.",
    ),
    Setting(
        name="log_file", default="", path=True, help="The server's log (default: DATA_DIR/server/server.log)."
    ),
    Setting(name="log_level", default="info", parse=_level, help="debug, info, warning or error."),
    Setting(
        name="log_max_size",
        default="10M",
        parse=_size,
        help="Rotate the log when it would grow past this size (0: never rotate).",
    ),
    Setting(
        name="log_backups",
        default="5",
        parse=_positive(int),
        help="How many rotated logs to keep (LOG_FILE.1 is the newest).",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS: dict[str, str] = {s.name: s.default for s in SETTINGS}


def is_loopback(host: str) -> bool:
    """Whether *host* is a loopback address (or ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """The typed settings the server runs with (see :data:`SETTINGS` for each)."""

    host: str = "127.0.0.1"
    port: int = 6543
    unix_socket: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    data_dir: Path = field(default_factory=Path)
    drop_folder: Path = field(default_factory=Path)
    drop_interval: float = 2.0
    watch_interval: float = 5.0
    max_upload_size: int = 256 * 1024**2
    job_workers: int = 2
    threads: int = 8
    open_reads: bool = False
    admin_token: str = ""
    min_client_version: str = MIN_CLIENT_VERSION
    log_file: Path = field(default_factory=Path)
    log_level: str = "info"
    log_max_size: int = 10 * 1024**2
    log_backups: int = 5

    @property
    def state_dir(self) -> Path:
        """The server's own state: tokens, events, jobs, the local token and endpoint files."""
        return self.data_dir / "server"

    @property
    def upload_dir(self) -> Path:
        """Where uploads are staged until their job ends (``<data>/server/uploads``)."""
        return self.state_dir / "uploads"

    @property
    def package_roots(self) -> tuple[Path, Path]:
        """Where an install from a server path may read packages: the drop folder, the upload directory."""
        return (self.drop_folder, self.upload_dir)

    @property
    def tls(self) -> bool:
        """Whether the server speaks HTTPS (``tls_cert`` and ``tls_key`` are set)."""
        return self.tls_cert is not None

    @property
    def loopback(self) -> bool:
        """Whether the server listens only where this host's users can reach it."""
        return self.unix_socket is not None or is_loopback(self.host)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, base: Path | None = None) -> ServerSettings:
        """Typed settings from *raw* (text as in an INI file, or typed values); defaults fill the rest.

        Raise :class:`SettingsError` listing every unknown key and bad value.
        """
        problems: list[str] = []
        values: dict[str, Any] = {}
        for key, value in raw.items():
            setting = _BY_NAME.get(key)
            if setting is None:
                if "." not in key:  # dotted keys belong to Pyramid and its add-ons
                    problems.append(f"{key}: unknown setting (known: {', '.join(_BY_NAME)})")
                continue
            try:
                values[key] = _parse(setting, value, base)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        if problems:
            raise SettingsError(problems)
        for setting in SETTINGS:
            if setting.name not in values:
                values[setting.name] = _parse(setting, setting.default, base)
        return cls._complete(values)

    @classmethod
    def _complete(cls, values: dict[str, Any]) -> ServerSettings:
        problems = []
        if (values["tls_cert"] is None) != (values["tls_key"] is None):
            problems.append("tls_cert and tls_key go together: set both (HTTPS) or neither (HTTP)")
        if values["tls_cert"] is not None and values["unix_socket"] is not None:
            problems.append("tls_cert: TLS is for TCP; a unix socket is reached by this host's users only")
        if problems:
            raise SettingsError(problems)
        if values["data_dir"] is None:
            from pyapp_runtime import default_home

            values["data_dir"] = default_home().absolute()
        data = values["data_dir"]
        if values["drop_folder"] is None:
            values["drop_folder"] = data / "drop"
        if values["log_file"] is None:
            values["log_file"] = data / "server" / "server.log"
        return cls(**values)

    def to_settings(self) -> dict[str, str]:
        """Text settings that :meth:`from_mapping` reads back into these (for ``main(**settings)``)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                out[f.name] = "true" if value else "false"
            else:
                out[f.name] = "" if value is None else str(value)
        return out


def _parse(setting: Setting, value: Any, base: Path | None) -> Any:
    if value is None:
        value = setting.default
    if not isinstance(value, str):
        if setting.path and isinstance(value, os.PathLike):
            value = os.fspath(value)
        else:
            return setting.parse(str(value)) if setting.parse is not str else str(value)
    text = value.strip()
    if setting.path:
        if not text:
            return None
        path = Path(text).expanduser()
        return (base / path if base and not path.is_absolute() else path).absolute()
    return setting.parse(text)


@dataclass(frozen=True, kw_only=True)
class EffectiveSettings:
    """The settings after layering: the typed values, and where each one came from."""

    settings: ServerSettings
    sources: dict[str, str]
    files: tuple[str, ...] = ()
    """The files that were read, lowest layer first."""

    def describe(self) -> list[dict[str, str]]:
        """One entry per setting: name, value (secrets masked), source, help."""
        text = self.settings.to_settings()
        out = []
        for setting in SETTINGS:
            value = text[setting.name]
            if setting.secret and value:
                value = MASK
            out.append(
                {
                    "name": setting.name,
                    "value": value,
                    "source": self.sources[setting.name],
                    "help": setting.help,
                }
            )
        return out


def user_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/pyapp/server.ini`` (default ``~/.config/pyapp/server.ini``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "pyapp" / "server.ini"


def _read_file(path: Path, problems: list[str]) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        problems.append(f"{path}: cannot be read ({exc})")
        return {}
    if not parser.has_section(SECTION):
        problems.append(f"{path}: has no [{SECTION}] section")
        return {}
    for other in parser.sections():
        if other != SECTION:
            problems.append(f"{path}: [{other}]: unknown section (settings go in [{SECTION}])")
    return dict(parser.items(SECTION))


def load_settings(
    explicit: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    system_file: str | os.PathLike[str] | None = SYSTEM_FILE,
    user: str | os.PathLike[str] | None = None,
) -> EffectiveSettings:
    """Layer every source (see the module docstring); raise :class:`SettingsError` listing every problem.

    *explicit* is ``-c FILE`` (it must exist); *overrides* are command-line options.
    """
    env = os.environ if environ is None else environ
    workdir = Path(cwd) if cwd is not None else Path.cwd()
    layers: list[tuple[Path, bool]] = []
    if system_file is not None:
        layers.append((Path(system_file), False))
    layers.append((Path(user) if user is not None else user_file(env), False))
    layers.append((workdir / LOCAL_FILE, False))
    if explicit is not None:
        layers.append((Path(explicit), True))
    problems: list[str] = []
    raw: dict[str, tuple[str, Path | None, str]] = {s.name: (s.default, None, "default") for s in SETTINGS}
    files = []
    for path, required in layers:
        if not path.is_file():
            if required:
                problems.append(f"{path}: no such file (given with -c)")
            continue
        files.append(str(path))
        for key, value in _read_file(path, problems).items():
            if key not in _BY_NAME:
                problems.append(f"{path}: [{SECTION}] {key}: unknown setting (known: {', '.join(_BY_NAME)})")
                continue
            raw[key] = (value, path.absolute().parent, str(path))
    for setting in SETTINGS:
        variable = ENV_PREFIX + setting.name.upper()
        if variable in env:
            raw[setting.name] = (env[variable], workdir, f"environment {variable}")
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = (value, workdir, "command line")
    values: dict[str, Any] = {}
    for key, (value, base, source) in raw.items():
        try:
            values[key] = _parse(_BY_NAME[key], value, base)
        except ValueError as exc:
            problems.append(f"{source}: {key}: {exc}")
    if problems:
        raise SettingsError(problems)
    sources = {key: source for key, (_v, _b, source) in raw.items()}
    settings = ServerSettings._complete(values)
    for key in ("data_dir", "drop_folder", "log_file"):
        if raw[key][2] == "default":
            sources[key] = "default (derived)" if key != "data_dir" else "default (the runtime's home)"
    return EffectiveSettings(settings=settings, sources=sources, files=tuple(files))
