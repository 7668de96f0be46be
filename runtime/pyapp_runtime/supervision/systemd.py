"""systemd unit files equivalent to what supervisord runs, for production hosts.

Each :class:`ProcessSpec` becomes ``pyapp-<app>@<name>.service`` (a unit file for
that literal instance name) and each application a ``pyapp-<app>.target`` that
wants all of its processes, so ``systemctl start pyapp-<app>.target`` starts the
application and stopping the target stops them (``PartOf=``).

The mapping: ``restart`` -> ``Restart=`` (``always``, ``on-failure``, ``no``) with
``RestartSec=1``; ``start_retries`` crashes in a row within a short interval make
systemd give up (``StartLimitBurst=``), like supervisord's ``fatal``; ``stop_signal``
-> ``KillSignal=`` sent to the whole control group, SIGKILL after ``TimeoutStopSec=``
(``stop_wait``); logs are appended to the same files (systemd does not rotate them:
rotate with ``copytruncate``, or drop the log paths to use the journal). Units may
hold secrets in ``Environment=``: install them readable by root only.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable

from .errors import InvalidProcessSpec
from .spec import ProcessSpec

__all__ = ["export_systemd", "systemd_quote", "unit_name"]

_RESTART = {"always": "always", "on-failure": "on-failure", "never": "no"}
_SAFE = re.compile(r"[A-Za-z0-9_@%$+=:,./-]+")


def unit_name(spec: ProcessSpec, prefix: str = "pyapp-") -> str:
    """``pyapp-<app>@<name>.service``."""
    return f"{prefix}{spec.program}.service"


def systemd_quote(word: str) -> str:
    """Quote one ``ExecStart=`` argument: C-style escapes in double quotes, ``%`` and ``$`` doubled."""
    return _quote(word, dollars=True)


def _quote(word: str, *, dollars: bool) -> str:
    # % starts a specifier everywhere; $ starts variable expansion in ExecStart= only.
    text = word.replace("%", "%%")
    if dollars:
        text = text.replace("$", "$$")
    if word and _SAFE.fullmatch(word):
        return text
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _env_quote(key: str, value: str) -> str:
    return _quote(f"{key}={value}", dollars=False)


def _exec_start(spec: ProcessSpec) -> str:
    program = spec.argv[0]
    if not os.path.isabs(program):
        found = shutil.which(program, path=spec.environment.get("PATH"))
        if found is None:
            raise InvalidProcessSpec(
                spec.program, [f"argv[0] {program!r} is not an absolute path and is not on the PATH"]
            )
        program = found
    return " ".join(systemd_quote(a) for a in (program, *spec.argv[1:]))


def _service(spec: ProcessSpec, *, prefix: str, user: str | None, group: str | None) -> str:
    target = f"{prefix}{spec.app}.target"
    description = spec.description or f"{spec.app}: process {spec.name}"
    unit = [
        "[Unit]",
        f"Description={description.replace(chr(10), ' ').replace('%', '%%')}",
        f"PartOf={target}",
        "After=network.target",
        # Give up after start_retries + 1 quick failures, as supervisord does (fatal).
        f"StartLimitIntervalSec={max(10, 10 * (spec.start_retries + 1))}",
        f"StartLimitBurst={spec.start_retries + 1}",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={_exec_start(spec)}",
    ]
    if spec.cwd is not None:
        unit.append(f"WorkingDirectory={_path(spec.cwd)}")
    user = spec.user or user
    if user is not None:
        unit.append(f"User={user}")
    if group is not None or spec.user is not None:
        unit.append(f"Group={group or spec.user}")
    if spec.umask is not None:
        unit.append(f"UMask={spec.umask:04o}")
    unit += [f"Environment={_env_quote(k, v)}" for k, v in sorted(spec.environment.items())]
    unit += [f"{key}={value.replace('%', '%%')}" for key, value in spec.unit_settings]
    unit += [
        f"Restart={_RESTART[spec.restart]}",
        "RestartSec=1",
    ]
    codes = [c for c in spec.exit_codes if c != 0]
    if codes:
        unit.append(f"SuccessExitStatus={' '.join(str(c) for c in codes)}")
    unit += [
        f"KillSignal=SIG{spec.stop_signal}",
        "KillMode=control-group",
        f"TimeoutStopSec={spec.stop_wait}",
        f"StandardOutput=append:{_path(spec.stdout_log)}",
        f"StandardError=append:{_path(spec.stderr_log)}"
        if spec.stderr_log is not None
        else "StandardError=inherit",
        "",
        "[Install]",
        f"WantedBy={target}",
        "",
    ]
    return "\n".join(unit)


def _path(path: str) -> str:
    # Path settings take the rest of the line unquoted; specifiers still apply.
    return path.replace("%", "%%")


def _target(app: str, units: list[str], *, wanted_by: str) -> str:
    return "\n".join(
        [
            "[Unit]",
            f"Description=pyapp application {app}",
            f"Wants={' '.join(units)}",
            "",
            "[Install]",
            f"WantedBy={wanted_by}",
            "",
        ]
    )


def export_systemd(
    specs: Iterable[ProcessSpec],
    *,
    prefix: str = "pyapp-",
    user: str | None = None,
    group: str | None = None,
    wanted_by: str = "multi-user.target",
) -> dict[str, str]:
    """Unit files for *specs*: ``{file name: text}``, one service per process, one target per app.

    *user*/*group* set ``User=``/``Group=`` (system units); *wanted_by* is what each
    application target is installed into (``default.target`` for user units).
    Raises :class:`InvalidProcessSpec` for a spec that cannot be expressed.
    """
    out: dict[str, str] = {}
    apps: dict[str, list[str]] = {}
    for spec in specs:
        spec.check()
        paths = (spec.stdout_log, spec.stderr_log or "", spec.cwd or "")
        if any(c in p for p in paths for c in " \t\\"):
            raise InvalidProcessSpec(spec.program, ["systemd unit paths cannot hold blanks or backslashes"])
        name = unit_name(spec, prefix)
        out[name] = _service(spec, prefix=prefix, user=user, group=group)
        apps.setdefault(spec.app, []).append(name)
    for app, units in apps.items():
        out[f"{prefix}{app}.target"] = _target(app, units, wanted_by=wanted_by)
    return out
