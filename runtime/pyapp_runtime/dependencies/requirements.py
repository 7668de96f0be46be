"""Checking what a package requires of the host (spec section 3.3).

``requires.python`` and ``requires.os`` decide whether the app can run here: not
meeting them refuses the install. ``deb``, ``rpm`` and ``external`` are hints: what
is missing is reported with the command that would install it, and blocks only
with ``strict``.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import SpecifierSet

from apppackage.description import Requires

from ..errors import RequirementsNotMet

__all__ = ["Hint", "RequirementsReport", "check_requirements", "current_os_names", "enforce"]

_OS_ALIASES = {
    "linux": {"linux"},
    "darwin": {"darwin", "macos", "osx", "mac"},
    "win32": {"windows", "win32", "win"},
    "freebsd": {"freebsd"},
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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "missing": list(self.missing), "command": self.command}


@dataclass(frozen=True, kw_only=True)
class RequirementsReport:
    """What blocks the install (``problems``) and what is only reported (``hints``)."""

    problems: tuple[str, ...] = ()
    hints: tuple[Hint, ...] = ()
    unchecked: tuple[str, ...] = ()
    """Requirements this host cannot check (``deb`` without dpkg, ``rpm`` without rpm); never "met"."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "problems": list(self.problems),
            "hints": [h.to_dict() for h in self.hints],
            "unchecked": list(self.unchecked),
        }


def current_os_names() -> set[str]:
    """The names ``requires.os`` may use for this system (``linux``, ``posix``...)."""
    names = {sys.platform, platform.system().lower()}
    for key, aliases in _OS_ALIASES.items():
        if sys.platform.startswith(key):
            names |= aliases
    if sys.platform != "win32":
        names.add("posix")
    return names


def _missing_debs(names: Sequence[str]) -> list[str] | None:
    """Debian packages not installed, or ``None`` when this is not a dpkg system."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return None
    missing = []
    for name in names:
        proc = subprocess.run([dpkg, "-W", "-f=${Status}", name], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or "install ok installed" not in proc.stdout:
            missing.append(name)
    return missing


def _missing_rpms(names: Sequence[str]) -> list[str] | None:
    rpm = shutil.which("rpm")
    if rpm is None or shutil.which("dpkg-query") is not None:
        return None
    return [
        n for n in names if subprocess.run([rpm, "-q", n], capture_output=True, check=False).returncode != 0
    ]


def check_requirements(requires: Requires, *, python_version: str | None = None) -> RequirementsReport:
    """Check *requires* against this host (*python_version* defaults to the running interpreter's)."""
    problems = []
    hints = []
    unchecked: list[str] = []
    version = python_version or platform.python_version()
    if requires.python and not SpecifierSet(requires.python).contains(version, prereleases=True):
        problems.append(
            f"requires Python {requires.python}, but this host runs Python {version} ({sys.executable}); "
            "install with a matching interpreter"
        )
    if requires.os:
        here = current_os_names()
        if not {o.lower() for o in requires.os} & here:
            problems.append(
                f"requires one of the operating systems {', '.join(requires.os)}, "
                f"but this host is {sys.platform}"
            )
    if requires.deb:
        missing = _missing_debs(requires.deb)
        if missing:
            hints.append(
                Hint(kind="deb", missing=tuple(missing), command="apt-get install -y " + " ".join(missing))
            )
    if requires.rpm:
        missing = _missing_rpms(requires.rpm)
        if missing:
            hints.append(
                Hint(kind="rpm", missing=tuple(missing), command="dnf install -y " + " ".join(missing))
            )
    if requires.external:
        missing = [n for n in requires.external if shutil.which(n) is None]
        if missing:
            hints.append(Hint(kind="external", missing=tuple(missing), command=""))
    return RequirementsReport(problems=tuple(problems), hints=tuple(hints), unchecked=tuple(unchecked))


def enforce(report: RequirementsReport, name: str, *, strict: bool = False) -> None:
    """Raise :class:`RequirementsNotMet` for problems, and for hints too when *strict*."""
    reasons = list(report.problems)
    if strict:
        reasons += [f"{h} (--strict makes this an error)" for h in report.hints]
    if reasons:
        raise RequirementsNotMet(name, reasons)
