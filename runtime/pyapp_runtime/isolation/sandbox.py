"""A bubblewrap sandbox for an app's processes (``confinement`` in ``host.yaml``).

The process sees the system read-only (``/usr``, ``/lib*``, ``/bin``, ``/sbin``,
``/etc``), the interpreter it runs with and the release it runs read-only, with
the shared packages on its ``sys.path``, and its own ``data/``, ``tmp/``, ``logs/``,
writable directories and socket directory read-write; nothing else of the host
exists in it: not the other apps, not the management server's state, not the
host's home. Every namespace is new but the network's (databases are reached over
the network, the web server over the app's socket or port); bubblewrap sets
``no_new_privs``, so nothing in it can gain privileges; ``--die-with-parent`` ends it
with whatever started it.

Under supervisord the sandbox is started through :mod:`._keepterm`: supervisord stops
a program by signalling its whole process group, and bubblewrap's outer process,
which does not forward signals, would die at once and take the app with it; with
SIGTERM ignored there, the app alone gets the signal, finishes its requests and
exits, and the sandbox ends with it (SIGKILL after the stop wait still ends it all).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apppackage.hooks import BOOTSTRAP_FILES

__all__ = [
    "KEEPTERM",
    "SYSTEM_PATHS",
    "SandboxPaths",
    "bwrap_works",
    "interpreter_paths",
    "keepterm_argv",
    "sandbox_argv",
]

KEEPTERM = Path(__file__).with_name("_keepterm.py")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""What every sandbox sees read-only of the host's system (those that exist)."""


@functools.lru_cache(maxsize=16)
def bwrap_works(uid: int | None = None, gid: int | None = None) -> str | None:
    """Whether a sandbox can be made here by user *uid* (default: this process's): the path of
    ``bwrap`` when it can, else ``None``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    extra_groups: list[int] | None = None if uid is None else []
    try:
        done = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--share-net", "--die-with-parent", "true"],
            capture_output=True, timeout=30, check=False, user=uid, group=gid, extra_groups=extra_groups,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return bwrap if done.returncode == 0 else None


def interpreter_paths(python: str) -> list[str]:
    """The directories an interpreter needs: its environment's and, through links, its base installation's."""
    out = []
    for exe in (Path(python).absolute(), Path(os.path.realpath(python))):
        prefix = exe.parent.parent
        if prefix != Path("/usr") and prefix != Path("/"):
            out.append(str(prefix))
    return list(dict.fromkeys(out))


@dataclass(frozen=True, kw_only=True)
class SandboxPaths:
    """What one sandbox sees of the host: read-only, read-write; the working directory."""

    readable: tuple[str, ...]
    writable: tuple[str, ...]
    chdir: str


def _covered(path: str, by: Iterable[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in by)


def sandbox_argv(bwrap: str, paths: SandboxPaths, *, new_session: bool) -> tuple[str, ...]:
    """``bwrap ... --`` for *paths*; *new_session*: a new session (no terminal to inject input into)."""
    argv = [bwrap, "--unshare-all", "--share-net", "--die-with-parent"]
    if new_session:
        argv.append("--new-session")
    for system in SYSTEM_PATHS:
        argv += ["--ro-bind-try", system, system]
    # A new, empty /tmp and /run: nothing of the host's.
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]  # noqa: S108
    readable = [*map(str, BOOTSTRAP_FILES), *paths.readable]
    done: list[str] = [*SYSTEM_PATHS]
    for path in dict.fromkeys(readable):
        if not _covered(path, done) and os.path.exists(path):
            argv += ["--ro-bind", path, path]
            done.append(path)
    for path in dict.fromkeys(paths.writable):
        if os.path.exists(path):
            argv += ["--bind", path, path]
    argv += ["--chdir", paths.chdir, "--"]
    return tuple(argv)


def keepterm_argv(python: str, sandbox: Sequence[str]) -> tuple[str, ...]:
    """*sandbox* started with SIGTERM ignored outside the app (see the module's docstring)."""
    return (python, "-I", "-S", str(KEEPTERM), *sandbox)
