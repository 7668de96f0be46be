"""What ``pyapp inspect`` shows: a package's parts, and whether this host meets its requirements.

Requirements (spec section 3.3) are checked against the running host: ``python``
as a PEP 440 specifier against this interpreter, ``os`` against ``sys.platform``
and ``platform.system()``, ``deb`` with ``dpkg-query -W`` and ``rpm`` with
``rpm -q`` when those tools exist, ``external`` programs on ``PATH``. Each check
says ``yes``, ``no`` or ``unknown`` (the tool to check with is missing, or the
requirement is not something a program can check).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from apppackage import AppPackage
from apppackage.description import Description

from ..building.builder import DEPS_DIR

__all__ = ["Check", "bundled_wheels", "check_requirements", "describe"]

YES, NO, UNKNOWN = "yes", "no", "unknown"


@dataclass(frozen=True, kw_only=True)
class Check:
    """One requirement and whether this host satisfies it."""

    kind: str
    requirement: str
    satisfied: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "requirement": self.requirement,
            "satisfied": self.satisfied,
            "detail": self.detail,
        }


def _python(spec: str) -> Check:
    from packaging.specifiers import SpecifierSet

    running = platform.python_version()
    ok = SpecifierSet(spec).contains(running, prereleases=True)
    return Check(kind="python", requirement=spec, satisfied=YES if ok else NO, detail=f"running {running}")


def _os(names: tuple[str, ...]) -> Check:
    here = {sys.platform.lower(), platform.system().lower(), os.name}
    if os.name == "posix":
        here.add("unix")
    ok = any(n.lower() in here for n in names)
    return Check(
        kind="os",
        requirement=", ".join(names),
        satisfied=YES if ok else NO,
        detail=f"this host is {sys.platform}",
    )


def _system_package(kind: str, name: str) -> Check:
    if kind == "deb":
        tool = shutil.which("dpkg-query")
        argv = [tool, "-W", "-f=${Status}", name] if tool else None
    else:
        tool = shutil.which("rpm")
        argv = [tool, "-q", name] if tool else None
    if argv is None:
        checker = "dpkg-query" if kind == "deb" else "rpm"
        return Check(kind=kind, requirement=name, satisfied=UNKNOWN, detail=f"{checker} is not available")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(kind=kind, requirement=name, satisfied=UNKNOWN, detail=str(exc))
    installed = proc.returncode == 0 and (kind == "rpm" or "install ok installed" in proc.stdout)
    return Check(
        kind=kind,
        requirement=name,
        satisfied=YES if installed else NO,
        detail="installed" if installed else "not installed",
    )


def _external(name: str) -> Check:
    found = shutil.which(name)
    if found:
        return Check(kind="external", requirement=name, satisfied=YES, detail=f"found {found}")
    return Check(kind="external", requirement=name, satisfied=UNKNOWN, detail="not a program on PATH")


def check_requirements(description: Description) -> list[Check]:
    """Every requirement of *description* (section 3.3), checked on this host."""
    req = description.requires
    checks = []
    if req.python:
        checks.append(_python(req.python))
    if req.os:
        checks.append(_os(req.os))
    checks += [_system_package("deb", n) for n in req.deb]
    checks += [_system_package("rpm", n) for n in req.rpm]
    checks += [_external(n) for n in req.external]
    return checks


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
        "requirements": [c.to_dict() for c in check_requirements(d)],
        "warnings": [str(w) for w in package.warnings],
    }
