"""Checking what a package requires of the host (spec section 3.3): the one check the host and the tools use.

:func:`check_each` answers each requirement with ``yes``, ``no`` or ``unknown`` (the
tool to check with is missing here, or cannot tell: ``rpm -q`` on a Debian system):
``python`` as a PEP 440 specifier against this interpreter, ``os`` against the names
of this system, ``deb`` with ``dpkg-query``, ``rpm`` with ``rpm -q`` where RPM is the
system's package manager, ``external`` programs on ``PATH``. ``pyapp inspect`` shows
these answers; an install reads them as :func:`check_requirements` sums them up.

An install is refused when any requirement is not met (:func:`enforce`): the refusal names every
one, each with how to meet it (the command that installs a missing ``deb`` or ``rpm``
package...), unless the operator installs anyway (``--ignore-requirements``). What cannot be
checked here is reported as unchecked, never as met.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Literal

from apppackage.description import Requires

from ..errors import RequirementsNotMet

__all__ = [
    "IGNORE_OPTION",
    "Check",
    "Hint",
    "RequirementsReport",
    "Satisfied",
    "check_each",
    "check_requirements",
    "current_os_names",
    "enforce",
]

Satisfied = Literal["yes", "no", "unknown"]

_OS_ALIASES = {
    "linux": {"linux"},
    "darwin": {"darwin", "macos", "osx", "mac"},
    "win32": {"windows", "win32", "win"},
    "freebsd": {"freebsd"},
}
_INSTALL = {"deb": "apt-get install -y", "rpm": "dnf install -y"}


@dataclass(frozen=True, kw_only=True)
class Check:
    """One requirement and whether this host satisfies it."""

    kind: str
    """``python``, ``os``, ``deb``, ``rpm`` or ``external``."""
    requirement: str
    satisfied: Satisfied
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "requirement": self.requirement,
            "satisfied": self.satisfied,
            "detail": self.detail,
        }


@dataclass(frozen=True, kw_only=True)
class Hint:
    """Something the host may lack: ``kind`` (deb, rpm, external), the names, a command installing them."""

    kind: str
    missing: tuple[str, ...]
    command: str

    def __str__(self) -> str:
        names = ", ".join(self.missing)
        if self.kind == "external":
            return f"missing program(s) {names} (not found on PATH)"
        return f"missing {self.kind} package(s) {names} (install with: {self.command})"

    def unmet(self) -> list[str]:
        """Each missing item on a line of its own, with how to get it."""
        if self.kind == "external":
            return [
                f"program {name} is not found on PATH: install what provides it, or put its directory on PATH"
                for name in self.missing
            ]
        if self.kind in _INSTALL:
            return [
                f"{self.kind} package {name} is not installed: install it with `{_INSTALL[self.kind]} {name}`"
                for name in self.missing
            ]
        return [f"{self.kind} {name} is missing" for name in self.missing]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "missing": list(self.missing), "command": self.command}


@dataclass(frozen=True, kw_only=True)
class RequirementsReport:
    """What blocks the install (``problems``) and what is only reported (``hints``)."""

    problems: tuple[str, ...] = ()
    hints: tuple[Hint, ...] = ()
    unchecked: tuple[str, ...] = ()
    """Requirements this host cannot check (``deb`` without dpkg, ``rpm`` without RPM); never "met"."""

    @property
    def unmet(self) -> tuple[str, ...]:
        """Every requirement this host does not meet, each with how to meet it."""
        return (*self.problems, *(line for hint in self.hints for line in hint.unmet()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "problems": list(self.problems),
            "hints": [h.to_dict() for h in self.hints],
            "unchecked": list(self.unchecked),
        }


def current_os_names() -> set[str]:
    """The names ``requires.os`` may use for this system (``linux``, ``posix``, ``unix``...)."""
    names = {sys.platform, platform.system().lower(), os.name}
    for key, aliases in _OS_ALIASES.items():
        if sys.platform.startswith(key):
            names |= aliases
    if os.name == "posix":
        names |= {"posix", "unix"}
    return names


def _python(spec: str, version: str) -> Check:
    from packaging.specifiers import SpecifierSet

    ok = SpecifierSet(spec).contains(version, prereleases=True)
    return Check(
        kind="python", requirement=spec, satisfied="yes" if ok else "no", detail=f"running {version}"
    )


def _os(names: tuple[str, ...]) -> Check:
    ok = bool({n.lower() for n in names} & current_os_names())
    return Check(
        kind="os",
        requirement=", ".join(names),
        satisfied="yes" if ok else "no",
        detail=f"this host is {sys.platform}",
    )


def _system_package(kind: str, name: str) -> Check:
    """A ``deb`` with ``dpkg-query``; an ``rpm`` with ``rpm -q``, where RPM is the package manager."""
    dpkg = shutil.which("dpkg-query")
    if kind == "deb":
        argv = [dpkg, "-W", "-f=${Status}", name] if dpkg else None
        why = "dpkg-query is not available"
    else:
        rpm = shutil.which("rpm")
        # On a Debian system rpm's database is empty: it would call every package missing.
        argv = [rpm, "-q", name] if rpm and not dpkg else None
        why = "this system's packages are Debian's" if dpkg else "rpm is not available"
    if argv is None:
        return Check(kind=kind, requirement=name, satisfied="unknown", detail=why)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(kind=kind, requirement=name, satisfied="unknown", detail=str(exc))
    installed = proc.returncode == 0 and (kind == "rpm" or "install ok installed" in proc.stdout)
    return Check(
        kind=kind,
        requirement=name,
        satisfied="yes" if installed else "no",
        detail="installed" if installed else "not installed",
    )


def _external(name: str) -> Check:
    found = shutil.which(name)
    if found:
        return Check(kind="external", requirement=name, satisfied="yes", detail=f"found {found}")
    return Check(kind="external", requirement=name, satisfied="no", detail="not found on PATH")


def check_each(requires: Requires, *, python_version: str | None = None) -> list[Check]:
    """Every requirement of *requires*, checked on this host (*python_version*: the running one's)."""
    checks = []
    if requires.python:
        checks.append(_python(requires.python, python_version or platform.python_version()))
    if requires.os:
        checks.append(_os(requires.os))
    checks += [_system_package("deb", n) for n in requires.deb]
    checks += [_system_package("rpm", n) for n in requires.rpm]
    checks += [_external(n) for n in requires.external]
    return checks


def check_requirements(requires: Requires, *, python_version: str | None = None) -> RequirementsReport:
    """What an install makes of :func:`check_each`: problems (python, os), hints and what is unchecked."""
    version = python_version or platform.python_version()
    problems = []
    missing: dict[str, list[str]] = {}
    unchecked = []
    for check in check_each(requires, python_version=version):
        if check.satisfied == "unknown":
            unchecked.append(f"{check.kind} {check.requirement} ({check.detail})")
        elif check.satisfied == "yes":
            continue
        elif check.kind == "python":
            problems.append(
                f"requires Python {check.requirement}, but this host runs Python {version}"
                f" ({sys.executable}); install with a matching interpreter"
            )
        elif check.kind == "os":
            problems.append(
                f"requires one of the operating systems {check.requirement}, but this host is {sys.platform}"
            )
        else:
            missing.setdefault(check.kind, []).append(check.requirement)
    hints = []
    for kind, names in missing.items():
        command = f"{_INSTALL[kind]} {' '.join(names)}" if kind in _INSTALL else ""
        hints.append(Hint(kind=kind, missing=tuple(names), command=command))
    return RequirementsReport(problems=tuple(problems), hints=tuple(hints), unchecked=tuple(unchecked))


IGNORE_OPTION = "--ignore-requirements"
"""How an operator installs a package whose requirements are not met, as the refusal tells it."""


def enforce(report: RequirementsReport, name: str, *, ignore: bool = False) -> tuple[str, ...]:
    """Refuse with :class:`RequirementsNotMet`, naming every requirement not met and how to meet it (spec
    section 3.3); with *ignore*, return them instead (the install goes on and reports them)."""
    unmet = report.unmet
    if unmet and not ignore:
        together = [h.command for h in report.hints if h.command and len(h.missing) > 1]
        first = f"all at once: {'; '.join(together)}; then " if together else ""
        hint = f"{first}install again, or install anyway with {IGNORE_OPTION}"
        raise RequirementsNotMet(name, unmet, hint=hint)
    return unmet
