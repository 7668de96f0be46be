"""Which web servers this host has: their programs, versions and (for Apache) module files.

:func:`detect` turns a setting (``auto``, ``none`` or a kind) into an
:class:`Installation` or None; with None the runtime runs without a web server and
apps are reached on their own sockets or ports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import NoWebServer
from .model import KINDS, ServerKind

__all__ = ["APACHE_MODULE_DIRS", "PROGRAMS", "Installation", "detect", "find_installation"]

PROGRAMS: dict[ServerKind, tuple[str, ...]] = {
    "nginx": ("nginx",),
    "apache": ("apache2", "httpd"),
    "lighttpd": ("lighttpd",),
}
"""The program names tried for each kind, in order."""

# Servers live in sbin, which is not on an ordinary user's PATH on Debian.
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")

APACHE_MODULE_DIRS = (
    "/usr/lib/apache2/modules",  # Debian, Ubuntu
    "/usr/lib64/httpd/modules",  # Fedora, RHEL
    "/usr/lib/httpd/modules",
    "/usr/lib64/apache2",  # openSUSE
    "/usr/lib/apache2",
    "/usr/libexec/apache2",
    "/usr/local/apache2/modules",
    "/usr/local/libexec/apache24",  # FreeBSD
)
"""Where Apache's ``mod_*.so`` files are looked for when ``apxs`` cannot say."""


@dataclass(frozen=True, kw_only=True)
class Installation:
    """One installed web server.

    ``version`` is a tuple of ints (``(1, 22, 1)``); for Apache, ``modules_dir`` holds
    the ``mod_*.so`` files and ``builtin_modules`` the modules compiled in (``-l``).
    """

    kind: ServerKind
    binary: str
    version: tuple[int, ...] = ()
    modules_dir: str | None = None
    builtin_modules: tuple[str, ...] = ()


def _which(names: tuple[str, ...], path: str | None) -> str | None:
    search = path if path is not None else os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def _version(text: str, pattern: str) -> tuple[int, ...]:
    found = re.search(pattern, text)
    return tuple(int(p) for p in found.group(1).split(".")) if found else ()


def _apache_modules_dir(binary: str) -> str | None:
    for apxs in ("apxs", "apxs2"):
        program = _which((apxs,), None)
        if program:
            libexec = _output([program, "-q", "LIBEXECDIR"]).strip()
            if libexec and Path(libexec, "mod_proxy.so").is_file():
                return libexec
    root = re.search(r'HTTPD_ROOT="([^"]+)"', _output([binary, "-V"]))
    candidates = [*APACHE_MODULE_DIRS, *([root.group(1) + "/modules"] if root else [])]
    for candidate in candidates:
        if Path(candidate, "mod_proxy.so").is_file():
            return candidate
    return None


def find_installation(kind: ServerKind, *, path: str | None = None) -> Installation | None:
    """The installed *kind* of web server, or None; *path* replaces PATH (plus sbin) for the search."""
    binary = _which(PROGRAMS[kind], path)
    if binary is None:
        return None
    if kind == "nginx":
        return Installation(
            kind=kind, binary=binary, version=_version(_output([binary, "-v"]), r"nginx/([\d.]+)")
        )
    if kind == "lighttpd":
        return Installation(
            kind=kind, binary=binary, version=_version(_output([binary, "-v"]), r"lighttpd/([\d.]+)")
        )
    modules_dir = _apache_modules_dir(binary)
    if modules_dir is None:
        return None
    builtin = tuple(re.findall(r"^\s*(\S+)\.c$", _output([binary, "-l"]), re.MULTILINE))
    return Installation(
        kind=kind,
        binary=binary,
        version=_version(_output([binary, "-v"]), r"Apache/([\d.]+)"),
        modules_dir=modules_dir,
        builtin_modules=builtin,
    )


def detect(setting: str = "auto", *, path: str | None = None) -> Installation | None:
    """The web server to use for *setting*.

    ``auto``: the first installed of nginx, Apache, lighttpd, or None when there is none
    (the runtime then works without a web server); ``none``: None; a kind: that server,
    or :class:`NoWebServer` if it is not installed.
    """
    if setting == "none":
        return None
    if setting == "auto":
        for kind in KINDS:
            found = find_installation(kind, path=path)
            if found is not None:
                return found
        return None
    for kind in KINDS:
        if kind == setting:
            break
    else:
        raise NoWebServer(f"unknown web server {setting!r}: use auto, none, {', '.join(KINDS)}")
    found = find_installation(kind, path=path)
    if found is None:
        programs = " or ".join(PROGRAMS[kind])
        extra = " with its modules (mod_proxy.so)" if kind == "apache" else ""
        raise NoWebServer(
            f"web server {kind!r} is not installed ({programs} not found{extra}): install it,"
            " or choose 'auto' or 'none'"
        )
    return found
