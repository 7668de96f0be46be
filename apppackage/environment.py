"""The environment contract (spec section 5): what every process of an application gets.

:func:`build_environment` is pure: a description and host paths give an
:class:`Environment` (``sys_path`` and ``variables``). :func:`applied` applies one
to the current process and restores everything afterwards.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._bootstrap import interpreter_paths
from ._variables import env_name
from .description import Description

__all__ = ["Environment", "HostPaths", "applied", "build_environment", "env_name", "process_variables"]


@dataclass(frozen=True, kw_only=True)
class HostPaths:
    """Where the host keeps an application's parts (section 5.1).

    ``root`` is the release (or checkout) holding ``metadata.yaml``; ``site_packages``
    the app's own installed dependencies; ``server_packages`` the shared ones.
    ``surrounding`` (a checkout run by the tools) are the site-packages of the environment
    around it: never on ``sys.path``, they only let a failed import name the distribution
    the app did not declare (:attr:`Environment.surrounding`).
    """

    root: Path
    data_path: Path
    tmp_path: Path
    log_path: Path
    config_file: Path | None = None
    site_packages: tuple[Path, ...] = ()
    server_packages: tuple[Path, ...] = ()
    surrounding: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        # Absolute, so that the variables and sys.path stay right in a process that starts
        # elsewhere (hooks and tasks run in data_path).
        for name in ("root", "data_path", "tmp_path", "log_path", "config_file"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).absolute())
        for name in ("site_packages", "server_packages", "surrounding"):
            object.__setattr__(self, name, tuple(Path(p).absolute() for p in getattr(self, name)))

    @classmethod
    def under(cls, root: str | os.PathLike[str], state: str | os.PathLike[str], **kwargs: Any) -> HostPaths:
        """Paths for a local run: ``data/``, ``tmp/``, ``logs/`` and ``config.yaml`` under *state*."""
        base = Path(state)
        kwargs.setdefault("config_file", base / "config.yaml")
        return cls(
            root=Path(root),
            data_path=base / "data",
            tmp_path=base / "tmp",
            log_path=base / "logs",
            **kwargs,
        )

    def writable_path(self, name: str) -> Path:
        """The directory of the writable dir *name* (section 3.8)."""
        return self.data_path / name

    def create_dirs(self, description: Description) -> None:
        """Create the data, tmp, log and writable directories."""
        for path in (self.data_path, self.tmp_path, self.log_path):
            path.mkdir(parents=True, exist_ok=True)
        for name in description.writable:
            self.writable_path(name).mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, kw_only=True)
class Environment:
    """The ``sys.path`` entries (in order) and the variables of an application's process.

    ``surrounding``: directories the process never imports from; when one of its imports fails
    for a module they hold, it says which distribution to declare (see :class:`HostPaths`).
    """

    sys_path: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)
    surrounding: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"sys_path": list(self.sys_path), "variables": dict(self.variables)}


def build_environment(
    description: Description,
    host: HostPaths,
    *,
    services: Mapping[str, str] | None = None,
    process: str | None = None,
    port: int | None = None,
    socket: str | os.PathLike[str] | None = None,
    mount_path: str | None = None,
) -> Environment:
    """The environment of section 5 for *description* on *host*.

    ``sys.path`` is the description's ``paths`` under ``root``, then ``site_packages``,
    then ``server_packages``; the interpreter's standard library follows them and no
    other site-packages ever does.
    """
    root = host.root
    sys_path = [str(root / p) for p in description.paths]
    sys_path += [str(p) for p in host.site_packages]
    sys_path += [str(p) for p in host.server_packages]
    variables: dict[str, str] = {
        "PYAPP_NAME": description.name,
        "PYAPP_VERSION": description.version,
        "PYAPP_ROOT": str(root),
        "PYAPP_DATA_PATH": str(host.data_path),
        "PYAPP_TMP_PATH": str(host.tmp_path),
        "TMPDIR": str(host.tmp_path),
        "PYAPP_LOG_PATH": str(host.log_path),
    }
    if host.config_file is not None:
        variables["PYAPP_CONFIG_FILE"] = str(host.config_file)
    for name in description.writable:
        variables[f"PYAPP_WRITABLE_{env_name(name)}"] = str(host.writable_path(name))
    variables.update(
        process_variables(
            declared=[(s.name, s.variable) for s in description.services],
            services=services,
            process=process,
            port=port,
            socket=socket,
            mount_path=mount_path,
        )
    )
    return Environment(
        sys_path=tuple(sys_path), variables=variables, surrounding=tuple(str(p) for p in host.surrounding)
    )


def process_variables(
    *,
    declared: Iterable[tuple[str, str]] = (),
    services: Mapping[str, str] | None = None,
    process: str | None = None,
    port: int | None = None,
    socket: str | os.PathLike[str] | None = None,
    mount_path: str | None = None,
) -> dict[str, str]:
    """The variables of section 5.3 that depend on the process and on the host's services.

    *declared* lists the description's services as ``(name, variable)``; *services*
    gives the value the host provides for each, by name.
    """
    variables: dict[str, str] = {}
    given = dict(services or {})
    for name, variable in declared:
        if name in given:
            variables[variable] = given[name]
    if process is not None:
        variables["PYAPP_PROCESS"] = process
    if port is not None:
        variables["PYAPP_PORT"] = str(port)
    if socket is not None:
        variables["PYAPP_SOCKET"] = str(socket)
    if mount_path is not None:
        prefix = "/" + mount_path.strip("/") if mount_path.strip("/") else ""
        variables["PYAPP_MOUNT_PATH"] = prefix
        variables["SCRIPT_NAME"] = prefix
    return variables


@contextmanager
def applied(env: Environment, *, isolated: bool = True) -> Iterator[Environment]:
    """Apply *env* to this process; on exit restore ``sys.path``, ``os.environ`` and ``sys.modules``.

    With *isolated* (the default) only the standard library stays on ``sys.path``
    after the application's entries, as in a host-started process (section 5.2).
    Modules imported from the application's entries are forgotten on exit, so that
    another package can be activated next.
    """
    saved_path = list(sys.path)
    saved_environ = dict(os.environ)
    saved_modules = set(sys.modules)
    saved_tempdir = getattr(sys.modules.get("tempfile"), "tempdir", None)
    rest = interpreter_paths(sys.path) if isolated else [p for p in sys.path if p not in env.sys_path]
    sys.path[:] = [*env.sys_path, *rest]
    # Variables of another application (or of the process that started this one) must not leak in.
    for name in [k for k in os.environ if k.startswith("PYAPP_")]:
        del os.environ[name]
    os.environ.update(env.variables)
    _set_tempdir(None)
    importlib.invalidate_caches()
    try:
        yield env
    finally:
        roots = tuple(os.path.abspath(p) + os.sep for p in env.sys_path)
        for name in set(sys.modules) - saved_modules:
            module = sys.modules.get(name)
            origin = getattr(module, "__file__", None) or ""
            if not origin or os.path.abspath(origin).startswith(roots):
                sys.modules.pop(name, None)
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_environ)
        _set_tempdir(saved_tempdir)
        importlib.invalidate_caches()


def _set_tempdir(value: str | None) -> None:
    """Set the directory :mod:`tempfile` caches (``None``: choose again from ``TMPDIR``); a tempfile not
    imported yet reads ``TMPDIR`` when it is."""
    module = sys.modules.get("tempfile")
    if module is not None:
        setattr(module, "tempdir", value)  # noqa: B010 - a module imported only when it was
