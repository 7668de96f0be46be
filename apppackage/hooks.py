"""One runner for everything an application's code does on a host's behalf (spec section 6).

Commands, hooks, tasks and processes run in a fresh interpreter started through
``_bootstrap.py`` with the application's environment, never in the caller's
process: each can be timed out, its output captured, and its failure reported as
:class:`HookFailed` naming the hook and the release whose code ran it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .childenv import child_environ
from .environment import Environment
from .errors import HookFailed

__all__ = [
    "BOOTSTRAP",
    "BOOTSTRAP_FILES",
    "Launcher",
    "RunResult",
    "bootstrap_argv",
    "payload_for",
    "run_callable",
    "serving_modules",
    "write_payload",
]

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
BOOTSTRAP_FILES = (BOOTSTRAP, BOOTSTRAP.with_name("_static.py"), BOOTSTRAP.with_name("_asgi.py"))
"""What an application process reads of this library: the bootstrap and what it loads, the static files
server and the ASGI server."""
WSGI_SERVER = ("waitress",)
ASGI_SERVER = (
    "uvicorn",
    "h11",
    "click",
    "wsproto",
    *(("typing_extensions",) if sys.version_info < (3, 11) else ()),
)
"""uvicorn, what it imports (and ``typing_extensions`` below Python 3.11), and wsproto for WebSockets."""
STATIC_SERVER = ("whitenoise",)


def serving_modules(*, asgi: bool, static: bool) -> tuple[str, ...]:
    """The top-level modules the bootstrap's ``serve`` kind imports besides the application: the server of
    a WSGI (waitress) or an ASGI application (uvicorn), and WhiteNoise for *static* directories. A host,
    and ``pyapp run``, lend each one the application does not bring (section 5.2, server-packages)."""
    return (*(ASGI_SERVER if asgi else WSGI_SERVER), *(STATIC_SERVER if static else ()))


GRACE_SECONDS = 5.0
MAX_OUTPUT = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Launcher:
    """How a host starts the child: as which user, inside which wrapper.

    *user*/*group* (numeric ids) and *extra_groups* are given to :class:`subprocess.Popen`
    (so the caller must be allowed to switch: root); *prefix* goes before the
    interpreter's command line (a sandbox such as ``bwrap ... --``, a limit such as
    ``prlimit ... --``); *payload_dir* is where the payload file is written (a directory
    the child can read, inside its sandbox). The default starts the child as the caller.
    """

    user: int | None = None
    group: int | None = None
    extra_groups: tuple[int, ...] = ()
    prefix: tuple[str, ...] = ()
    payload_dir: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How a run ended: exit code, what it printed (when captured), how long it took."""

    returncode: int
    output: str
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def payload_for(
    env: Environment,
    *,
    kind: str,
    ref: str,
    argument: Any = None,
    name: str = "",
    cwd: str | os.PathLike[str] | None = None,
    delete: bool = True,
) -> dict[str, Any]:
    """The bootstrap's JSON payload: what it puts on ``sys.path`` and in the variables, and what it calls."""
    payload = {
        "sys_path": list(env.sys_path),
        "variables": dict(env.variables),
        "kind": kind,
        "ref": ref,
        "name": name,
        "argument": argument,
        "cwd": os.fspath(cwd) if cwd is not None else None,
        "delete": delete,
    }
    if env.surrounding:
        payload["surrounding"] = list(env.surrounding)
    return payload


def write_payload(
    env: Environment,
    *,
    kind: str,
    ref: str,
    argument: Any = None,
    name: str = "",
    cwd: str | os.PathLike[str] | None = None,
    directory: str | os.PathLike[str] | None = None,
    delete: bool = True,
) -> Path:
    """Write the bootstrap's JSON payload (:func:`payload_for`, mode 0600) and return its path."""
    payload = payload_for(env, kind=kind, ref=ref, argument=argument, name=name, cwd=cwd, delete=delete)
    fd, path = tempfile.mkstemp(prefix="pyapp-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f)
    return Path(path)


def bootstrap_argv(payload: str | os.PathLike[str], python: str | None = None) -> list[str]:
    """The command line that starts an application process from a payload file."""
    # -s: no user site-packages; -S: no site module, so no system site-packages (section 5.2).
    return [python or sys.executable, "-s", "-S", str(BOOTSTRAP), os.fspath(payload)]


def run_callable(
    env: Environment,
    *,
    kind: str,
    ref: str,
    argument: Any = None,
    name: str = "",
    timeout: float | None = None,
    capture: bool = True,
    cwd: str | os.PathLike[str] | None = None,
    python: str | None = None,
    launcher: Launcher | None = None,
) -> RunResult:
    """Run *ref* as *kind* (``command``, ``hook``, ``task`` or ``process``) in a new interpreter.

    With *capture*, stdout and stderr are collected together (the last MiB kept);
    otherwise they go to this process's own. When *timeout* passes, the process
    group gets SIGTERM, then SIGKILL after a grace period. *launcher* says as whom and
    in what the child starts (default: as the caller, as it is).
    """
    launcher = launcher or Launcher()
    payload = write_payload(
        env, kind=kind, ref=ref, argument=argument, name=name, cwd=cwd, directory=launcher.payload_dir
    )
    started = time.monotonic()
    stdout = subprocess.PIPE if capture else None
    try:
        switch: dict[str, Any] = {}
        if launcher.user is not None:
            # The child reads (and deletes) its payload: it is the child's, still mode 0600.
            os.chown(payload, launcher.user, -1 if launcher.group is None else launcher.group)
            switch = {
                "user": launcher.user,
                "group": launcher.group,
                "extra_groups": list(launcher.extra_groups),
            }
        proc = subprocess.Popen(
            [*launcher.prefix, *bootstrap_argv(payload, python)],
            # Only a command may read the caller's input (section 6.1).
            stdin=None if kind == "command" else subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if capture else None,
            env=child_environ(env.variables),
            start_new_session=capture,
            **switch,
        )
    except OSError:
        payload.unlink(missing_ok=True)
        raise
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _terminate(proc, capture)
        out, _ = proc.communicate()
    except KeyboardInterrupt:
        _terminate(proc, capture)
        proc.wait()
        raise
    finally:
        payload.unlink(missing_ok=True)
    text = (out or b"")[-MAX_OUTPUT:].decode("utf-8", "replace")
    return RunResult(
        returncode=proc.returncode,
        output=text,
        duration=time.monotonic() - started,
        timed_out=timed_out,
    )


def _terminate(proc: subprocess.Popen[bytes], group: bool) -> None:
    def send(sig: int) -> None:
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)


def raise_for_result(result: RunResult, *, hook: str, release: str, timeout: float | None) -> None:
    """Turn a failed :class:`RunResult` into :class:`HookFailed`."""
    if result.timed_out:
        raise HookFailed(hook, release, f"timed out after {timeout:g} s", result.output)
    if result.returncode != 0:
        raise HookFailed(hook, release, f"exited with status {result.returncode}", result.output)
