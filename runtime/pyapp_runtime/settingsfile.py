"""``host.yaml`` as an operator reads and changes it (``pyapp settings``, the management server).

:func:`describe_settings` tells every setting (:data:`~pyapp_runtime.settings.SETTING_KEYS`): the value
this host runs by, its default, where the value comes from (``default``, ``host.yaml``, or the variable
that overrides the file), what the file says, and what it means.

:func:`change_settings` takes a partial change, a JSON merge patch (RFC 7396): the keys given replace the
file's, ``limits`` and ``apps`` merge key by key, and ``None`` (``null``) removes a key, which is then its
default again. The whole result is checked by :meth:`HostSettings.from_dict`: on any problem nothing is
written and :class:`~pyapp_runtime.settings.BadSettings` names each one. Otherwise ``host.yaml`` is
written atomically, holding ``host.yaml.lock`` so that two changes never overlap, and applied: when
another web server is to serve the routes, the one that served stops and the new one starts on them; if it
cannot, the file and the previous server are put back and the error raised. The apps' processes read the
other settings when they start: the change names the running apps that run by other settings now
(``reload``), which a reload (``pyapp reload``) moves to them without a moment out of service.
"""

from __future__ import annotations

import contextlib
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apppackage.errors import AppPackageError
from apppackage.files import write_atomic
from apppackage.safeyaml import dump_yaml, load_yaml

from ._plain import Plain
from .layout import HostLayout
from .locking import SharedLock
from .processes.runstate import AppRunState
from .settings import (
    CONFINEMENTS,
    MEANINGS,
    SETTINGS_FILE,
    WEB_SERVERS,
    BadSettings,
    HostSettings,
    environment_overrides,
)
from .web.results import ServerState
from .webservers import KINDS, NoWebServer, detect

__all__ = [
    "ORDER",
    "SettingInfo",
    "SettingsChange",
    "change_settings",
    "describe_settings",
    "merge_patch",
    "settings_patch",
]

ORDER = (
    "web_server", "daemons", "listen", "ports", "method", "threads", "processes", "stop_wait",
    "socket_perms", "app_users", "confinement", "limits", "apps",
)  # fmt: skip
"""Every setting, in the order people are shown them."""
_TYPES = {
    "daemons": "boolean", "app_users": "boolean", "listen": "choice", "method": "choice",
    "confinement": "choice", "web_server": "choice", "threads": "integer", "processes": "integer",
    "stop_wait": "integer", "ports": "range", "socket_perms": "mode", "limits": "limits", "apps": "apps",
}  # fmt: skip
_CHOICES: dict[str, tuple[str, ...]] = {
    "listen": ("unix", "port"),
    "method": ("threads", "processes"),
    "confinement": CONFINEMENTS,
    "web_server": WEB_SERVERS,
}
HEADER = "# The host's settings (docs/daemons.md); changed with `pyapp settings` or the management server.\n"
NOTHING_WRITTEN = "nothing was written; give valid values"
_LEADING_ZERO = re.compile(r"\s*0\d+\s*")


@dataclass(frozen=True, kw_only=True)
class SettingInfo(Plain):
    """One setting of the host."""

    key: str
    value: Any
    """The value this host runs by."""
    default: Any
    source: str
    """``default``, ``host.yaml``, or the variable that overrides the file (``$PYAPP_WEB_SERVER``...)."""
    file_value: Any = None
    """What ``host.yaml`` says (``None``: it does not set it)."""
    type: str
    """``boolean``, ``choice``, ``integer``, ``range`` (``LOW-HIGH``), ``mode`` (octal), ``limits``,
    ``apps``."""
    choices: tuple[str, ...] = ()
    description: str


@dataclass(frozen=True, kw_only=True)
class SettingsChange(Plain):
    """What :func:`change_settings` did."""

    changed: tuple[str, ...]
    """The settings whose value in ``host.yaml`` changed (none: nothing was written)."""
    settings: tuple[SettingInfo, ...]
    web_server: ServerState | None = None
    """The web server after the change, when another one was to serve the routes."""
    reload: tuple[str, ...] = ()
    """Running apps whose processes run by other settings now: they take them when they are reloaded."""
    overridden: tuple[str, ...] = ()
    """Settings changed in the file that a variable overrides: the host keeps running by the variable."""


def _read(path: Path) -> dict[str, Any]:
    """The mapping ``host.yaml`` holds (empty when there is no file), unchecked."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    try:
        raw = load_yaml(text, str(path))
    except AppPackageError as exc:
        raise BadSettings(str(path), [str(exc)]) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadSettings(str(path), ["the file must hold a mapping of settings"])
    return raw


def describe_settings(
    home: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[SettingInfo, ...]:
    """Every setting of the host at *home*, as this host runs by it (*environ*: default this process's)."""
    path = Path(home) / SETTINGS_FILE
    raw = _read(path)
    effective = HostSettings.from_dict(raw, source=str(path)).with_environment(environ).to_dict()
    defaults = HostSettings().to_dict()
    overrides = environment_overrides(environ)
    return tuple(
        SettingInfo(
            key=key, value=effective[key], default=defaults[key],
            source=overrides.get(key) or (SETTINGS_FILE if key in raw else "default"),
            file_value=raw.get(key), type=_TYPES[key], choices=_CHOICES.get(key, ()),
            description=MEANINGS[key],
        )
        for key in ORDER
    )  # fmt: skip


def merge_patch(target: Any, patch: Any) -> Any:
    """*patch* applied to *target* as a JSON merge patch (RFC 7396); mappings left empty are dropped (an
    empty ``limits`` or ``apps`` entry says what no entry says)."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        merged = None if value is None else merge_patch(result.get(key), value)
        if merged is None or (isinstance(merged, Mapping) and not merged):
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def settings_patch(assignments: Iterable[str], unset: Iterable[str] = ()) -> dict[str, Any]:
    """The change ``KEY=VALUE`` *assignments* and *unset* keys make (a dotted KEY reaches into ``limits`` and
    ``apps``: ``limits.memory=1G``, ``apps.blog.threads=8``).

    A VALUE is read as YAML (``true``, ``8``, ``{memory: 1G}``); an empty one unsets the key, and a number
    written with a leading zero stays text (a mode such as ``0660``).
    """
    patch: dict[str, Any] = {}
    problems = []
    for text in assignments:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{text!r}: expected KEY=VALUE (such as threads=8 or limits.memory=1G)")
            continue
        try:
            value = raw.strip() if _LEADING_ZERO.fullmatch(raw) else load_yaml(raw, key)
        except AppPackageError as exc:
            problems.append(f"/{key.replace('.', '/')}: {str(exc).split(': ', 1)[-1]}")
            continue
        _put(patch, key, value)
    for key in unset:
        _put(patch, key.strip(), None)
    if problems:
        raise BadSettings("the change", problems, hint=NOTHING_WRITTEN)
    return patch


def _put(patch: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = patch
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    keys = [k for k in {*before, *after} if before.get(k) != after.get(k)]
    return tuple(sorted(keys, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), str(k))))


def _check_web_server(after: Mapping[str, Any], path: Path) -> None:
    """Refuse a web server that is not installed here (before anything is written)."""
    kind = str(after.get("web_server") or "").strip().lower()
    if kind not in KINDS:
        return
    try:
        detect(kind)
    except NoWebServer as exc:
        raise BadSettings(str(path), [f"/web_server: {exc}"], hint=NOTHING_WRITTEN) from None


def change_settings(
    home: str | Path, patch: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> SettingsChange:
    """Check, write and apply *patch* to the host at *home* (see the module's docstring)."""
    layout = HostLayout(Path(home).absolute())
    path = layout.home / SETTINGS_FILE
    if not isinstance(patch, Mapping):
        raise BadSettings("the change", ["it must map settings to values"], hint=NOTHING_WRITTEN)
    lock = SharedLock(layout.settings_lock)
    lock.acquire(exclusive=True)
    try:
        before = _read(path)
        after = merge_patch(before, patch)
        try:
            new = HostSettings.from_dict(after, source=str(path)).with_environment(environ)
        except BadSettings as exc:
            raise BadSettings(exc.file, list(exc.problems), hint=NOTHING_WRITTEN) from None
        if "web_server" in patch:
            _check_web_server(after, path)
        try:
            old = HostSettings.from_dict(before, source=str(path)).with_environment(environ)
        except BadSettings:  # the change mends a file this host could not use: nothing ran by it
            old = HostSettings().with_environment(environ)
        changed = _changed(before, after)
        served = None
        if changed:
            previous = path.read_bytes() if path.exists() else None
            mode = stat.S_IMODE(path.stat().st_mode) if previous is not None else 0o600
            write_atomic(path, HEADER + (dump_yaml(after) if after else ""), mode=mode)
            try:
                served = _switch_web_server(layout, old, new)
            except BaseException:
                if previous is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, previous, mode=mode)
                with contextlib.suppress(AppPackageError):
                    _switch_web_server(layout, new, old)
                raise
    finally:
        lock.release()
    overrides = environment_overrides(environ)
    return SettingsChange(
        changed=changed, settings=describe_settings(layout.home, environ=environ), web_server=served,
        reload=_running_otherwise(layout, old, new), overridden=tuple(k for k in changed if k in overrides),
    )  # fmt: skip


def _switch_web_server(layout: HostLayout, old: HostSettings, new: HostSettings) -> ServerState | None:
    """Stop the web server of *old* and apply the routes with that of *new*, when they differ."""
    if old.web_server == new.web_server:
        return None
    from .host import Host

    with contextlib.suppress(AppPackageError):  # the old one may be gone from this machine
        server = Host(layout.home, settings=old).web.server()
        if server is not None:
            server.stop(graceful=True)
    return Host(layout.home, settings=new).web.apply()


def _runs_by(settings: HostSettings, name: str) -> tuple[Any, ...]:
    return (
        settings.for_app(name), settings.limits_for(name), settings.confinement, settings.app_users,
        settings.socket_perms,
    )  # fmt: skip


def _running_otherwise(layout: HostLayout, old: HostSettings, new: HostSettings) -> tuple[str, ...]:
    """The apps whose processes run and would start otherwise with *new*."""
    out = []
    for name in layout.app_names():
        try:
            state = AppRunState.load(layout.app(name))
        except AppPackageError:  # a state this host cannot read: its processes show it (pyapp status)
            continue
        if not state.stopped and state.programs and _runs_by(old, name) != _runs_by(new, name):
            out.append(name)
    return tuple(out)
