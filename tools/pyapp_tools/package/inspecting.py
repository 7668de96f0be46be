"""What ``pyapp inspect`` shows: a package's parts, and whether this host meets its requirements.

Requirements (spec section 3.3) are checked as a host checks them before an install
(:func:`pyapp_runtime.dependencies.requirements.check_each`): each says ``yes``, ``no``
or ``unknown`` (the tool to check with is missing here, or cannot tell).
"""

from __future__ import annotations

from typing import Any

from pyapp_runtime.dependencies.requirements import check_each

from apppackage import AppPackage

from ..building.builder import DEPS_DIR

__all__ = ["bundled_wheels", "describe"]


def bundled_wheels(package: AppPackage) -> list[dict[str, str]]:
    """The wheels in ``deps/`` with the version and hash the lock pins them to."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    pinned: dict[str, str] = {}
    lock = f"{DEPS_DIR}/requirements.txt"
    if package.source.exists(lock):
        for line in package.read_bytes(lock).decode("utf-8", "replace").splitlines():
            spec, _, rest = line.partition(" --hash=sha256:")
            if rest and "==" in spec:
                pinned[spec.strip().lower()] = rest.split()[0]
    out = []
    for name in package.files():
        if not (name.startswith(DEPS_DIR + "/") and name.endswith(".whl")) or name.count("/") != 1:
            continue
        try:
            dist, version, _, _ = parse_wheel_filename(name.split("/")[1])
        except InvalidWheelFilename:
            continue
        out.append(
            {
                "wheel": name,
                "name": str(dist),
                "version": str(version),
                "sha256": pinned.get(f"{dist}=={version}", ""),
            }
        )
    return out


def _signer(package: AppPackage) -> str | None:
    """The signer's fingerprint (``None``: unsigned), or why its signature does not hold."""
    from apppackage import IntegrityError

    try:
        return package.signer()
    except IntegrityError as exc:
        return f"invalid signature: {exc}"


def describe(package: AppPackage) -> dict[str, Any]:
    """Everything ``pyapp inspect`` reports about *package* (raises when it is invalid)."""
    d = package.description
    spec = package.config_spec
    return {
        "path": str(package.path),
        "kind": "archive" if package.is_archive else "directory",
        "name": d.name,
        "version": d.version,
        "summary": d.summary,
        "pyapp": d.pyapp,
        "wsgi": None if d.wsgi is None else {"app": d.wsgi.app, "factory": d.wsgi.factory},
        "asgi": None if d.asgi is None else {"app": d.asgi.app, "factory": d.asgi.factory},
        "data": list(d.data),
        "data_version": d.data_version,
        "updates": {
            "strategy": d.updates.strategy,
            "branch": d.updates.branch,
            "tag_pattern": d.updates.tag_pattern,
            "prereleases": d.updates.prereleases,
            "start": d.updates.start,
        },
        "signer": _signer(package),
        "commands": [{"name": c.name, "call": c.call, "help": c.help} for c in d.commands],
        "processes": [
            {"name": p.name, "call": p.call, "command": p.command, "args": list(p.args), "count": p.count}
            for p in d.processes
        ],
        "hooks": [{"name": h.name, "call": h.call, "timeout": h.timeout} for h in d.hooks],
        "tasks": [
            {"name": t.name, "call": t.call, "every": t.every, "cron": t.cron, "timeout": t.timeout}
            for t in d.tasks
        ],
        "config": {"file": spec.file, "format": spec.format, "fields": [f.to_dict() for f in spec.fields]},
        "writable": list(d.writable),
        "services": [
            {"name": s.name, "type": s.type, "variable": s.variable, "required": s.required}
            for s in d.services
        ],
        "static": [{"url": s.url, "dir": s.dir} for s in d.static],
        "dependencies": {
            "packages": list(d.dependencies.packages),
            "requirements": d.dependencies.requirements,
            "bundled": bundled_wheels(package),
        },
        "requirements": [c.to_dict() for c in check_each(d.requires)],
        "warnings": [str(w) for w in package.warnings],
    }
