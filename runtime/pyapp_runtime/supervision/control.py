"""``Supervisor``: one user-mode supervisord under a state directory, driven over XML-RPC.

The state directory (mode 0700) holds::

    supervisord.conf        generated: owner-only unix socket, [include] programs/*.conf
    supervisor.sock         the XML-RPC socket (mode 0700), unless another path is given
    supervisord.pid/.log    the daemon's pid file and its own log
    programs/<app>@<name>.conf          one program (its own group) per process
    programs/<app>@<name>.<hash>.exec   its argv and environment (mode 0600), see _exec
    logs/                   supervisord's automatic child logs (unused: specs name their logs)

supervisord is started with this interpreter (``python -m supervisor.supervisord``)
and daemonizes itself: processes keep running when the Python process that started
it exits. Programs are added, replaced and removed one group at a time
(``reloadConfig`` + ``addProcessGroup``/``removeProcessGroup``), never touching
another application's processes; a dead one is replaced once what it left stops (:mod:`._leftovers`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal as _signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, Literal

from apppackage.files import write_atomic

from ..pids import pid_alive
from . import _config, _leftovers
from ._faults import ALREADY_ADDED, ALREADY_STARTED, BAD_NAME, NOT_RUNNING, RpcFault, fault_error
from .errors import SupervisionError, SupervisorNotRunning
from .spec import SUN_PATH_MAX, ProcessSpec
from .status import ProcessStatus, read_tail

__all__ = ["Supervisor", "UpdateResult"]

_SUPERVISORD_RUNNING = 1  # getState()["statecode"]

UpdateResult = Literal["added", "changed", "unchanged"]


def _daemon_environ() -> dict[str, str]:
    # supervisord's own environment; programs get exactly their spec's (see _exec).
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PYTHON"))}


class Supervisor:
    """A supervisord under *state_dir*, started on demand, that outlives this process.

    *socket_path* defaults to ``state_dir/supervisor.sock``; give a shorter one when
    that is longer than :data:`SUN_PATH_MAX` bytes. *python* is the interpreter that
    runs supervisord and the exec shim (default: this one, whose environment has the
    ``supervisor`` distribution).
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        socket_path: str | os.PathLike[str] | None = None,
        python: str | None = None,
        start_timeout: float = 20.0,
        rpc_timeout: float = 120.0,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.socket_path = Path(socket_path).absolute() if socket_path else self.state_dir / "supervisor.sock"
        if len(os.fsencode(self.socket_path)) > SUN_PATH_MAX:
            raise SupervisionError(
                f"{self.socket_path}: a unix socket path is limited to {SUN_PATH_MAX} bytes;"
                " pass a shorter socket_path (or use a shorter state directory)"
            )
        self.config_file = self.state_dir / "supervisord.conf"
        self.programs_dir = self.state_dir / "programs"
        self.pid_file = self.state_dir / "supervisord.pid"
        self.log_file = self.state_dir / "supervisord.log"
        self.python = python or sys.executable
        self.start_timeout = start_timeout
        self.rpc_timeout = rpc_timeout
        self.leftovers: tuple[int, ...] = ()  # what a dead supervisord left, stopped at the last start

    def __repr__(self) -> str:
        return f"Supervisor({os.fspath(self.state_dir)!r})"

    # -- the daemon ------------------------------------------------------------

    def write_config(self) -> None:
        """Create the state directory (0700; 0711 once a program runs as another user, see :meth:`update`)
        and write ``supervisord.conf`` (0600)."""
        for directory in (self.state_dir, self.programs_dir, self.state_dir / "logs"):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir.chmod(0o700 | (self.state_dir.stat().st_mode & 0o011))
        text = _config.render_supervisord(self.state_dir, self.socket_path)
        write_atomic(self.config_file, text.encode("utf-8"))
        # supervisord opens its log before it applies its umask: create it owner-only.
        os.close(os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))

    def is_running(self) -> bool:
        """Whether supervisord answers on the socket and is running (not shutting down)."""
        try:
            state = self._call("getState")
        except (SupervisorNotRunning, RpcFault):
            return False
        return bool(state.get("statecode") == _SUPERVISORD_RUNNING)

    def pid(self) -> int | None:
        """supervisord's own pid, or ``None`` when it does not answer."""
        try:
            return int(self._call("getPID"))
        except SupervisorNotRunning:
            return None

    def ensure_running(self) -> bool:
        """Start supervisord unless it answers already; return whether it was started."""
        if self.is_running():
            return False
        with self._locked():
            return self._ensure_running_locked()

    def _ensure_running_locked(self) -> bool:
        if self.is_running():
            return False
        self.leftovers = _leftovers.clear(self)  # never a second copy: what a killed one left stops first
        if self.is_running():
            return False
        self.write_config()
        self._start_daemon()
        return True

    def shutdown_if_idle(self, *, timeout: float = 60.0) -> bool:
        """Shut supervisord down when it has no program left; whether it did.

        Under the lock that adding a program takes, so a program being added either
        keeps it running or finds it gone and starts it again.
        """
        with self._locked():
            if self.programs():
                return False
            return self.shutdown(timeout=timeout)

    def _start_daemon(self) -> None:
        argv = [self.python, "-m", "supervisor.supervisord", "-c", str(self.config_file)]
        # supervisord forks and setsid()s: the parent returns once the daemon is on its own.
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.state_dir,
            env=_daemon_environ(),
            timeout=self.start_timeout,
            check=False,
        )
        output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise SupervisorNotRunning(
                f"{self.config_file}: supervisord did not start (exit status {done.returncode}):"
                f" {output or 'no output'}; see {self.log_file}"
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.is_running():
                return
            time.sleep(0.05)
        raise SupervisorNotRunning(
            f"{self.config_file}: supervisord started but does not answer on {self.socket_path}"
            f" within {self.start_timeout:g} s; its log ends with:\n{read_tail(self.log_file, 2000)}"
        )

    def shutdown(self, *, timeout: float = 60.0) -> bool:
        """Stop every process gracefully, then supervisord; wait until it is gone.

        Return ``False`` when it was not running.
        """
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(SupervisorNotRunning):
            self._call("shutdown")
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                raise SupervisionError(
                    f"{self.config_file}: supervisord (pid {pid}) did not exit in {timeout:g} s"
                )
            time.sleep(0.05)
        return True

    # -- programs --------------------------------------------------------------

    def programs(self) -> list[str]:
        """The programs configured under the state directory (``<app>@<name>``), sorted."""
        if not self.programs_dir.is_dir():
            return []
        return sorted(p.name.removesuffix(".conf") for p in self.programs_dir.glob("*.conf"))

    def add(self, spec: ProcessSpec) -> None:
        """Add a new program and (with ``autostart``) start it; error if it exists already."""
        if (self.programs_dir / f"{spec.program}.conf").exists():
            raise SupervisionError(
                f"{self.programs_dir}: program {spec.program!r} exists already; use update() to replace it"
            )
        self.update(spec)

    def update(self, spec: ProcessSpec) -> UpdateResult:
        """Add *spec*'s program, or replace it when it changed; never touch another program.

        A changed program is stopped gracefully and started again with the new
        configuration (when ``autostart``); an unchanged one is left running. The
        result says which happened. Starting is not awaited: see :meth:`wait_for`.
        """
        spec.check()
        with self._locked():
            # Started under the same lock as the program is added: it cannot shut down in between.
            self._ensure_running_locked()
            payload = _config.spec_payload(spec)
            payload_path = self.programs_dir / _config.payload_name(spec, payload)
            write_atomic(payload_path, payload)
            if spec.user is not None:  # it starts as that user and opens its file first: let it pass
                for directory in (self.state_dir, self.programs_dir):
                    directory.chmod(0o711)
                shutil.chown(payload_path, user=spec.user)
            conf = _config.render_program(spec, payload_path, python=self.python)
            write_atomic(self.programs_dir / f"{spec.program}.conf", conf.encode("utf-8"))
            added, changed, _removed = self._reload()
            result: UpdateResult = "unchanged"
            if spec.program in added:
                self._add_group(spec.program)
                result = "added"
            elif spec.program in changed:
                self._stop_quietly(spec.program)
                self._call("removeProcessGroup", spec.program)
                self._add_group(spec.program)
                result = "changed"
            self._remove_payloads(spec.program, keep=payload_path.name)
            return result

    def remove(self, program: str) -> bool:
        """Stop *program* gracefully and forget it; return ``False`` when it did not exist."""
        with self._locked():
            existed = (self.programs_dir / f"{program}.conf").exists()
            if self.is_running():
                self._stop_quietly(program)
                try:
                    self._call("removeProcessGroup", program)
                    existed = True
                except RpcFault as fault:
                    if fault.code != BAD_NAME:
                        raise self._error(program, fault) from None
            (self.programs_dir / f"{program}.conf").unlink(missing_ok=True)
            self._remove_payloads(program, keep=None)
            return existed

    def _reload(self) -> tuple[list[str], list[str], list[str]]:
        try:
            result = self._call("reloadConfig")
        except RpcFault as fault:
            raise SupervisionError(
                f"{self.programs_dir}: supervisord cannot read the program files: {fault.text};"
                " fix or remove the file it names"
            ) from None
        added, changed, removed = result[0]
        return list(added), list(changed), list(removed)

    def _add_group(self, program: str) -> None:
        try:
            self._call("addProcessGroup", program)
        except RpcFault as fault:
            if fault.code != ALREADY_ADDED:
                raise self._error(program, fault) from None

    def _remove_payloads(self, program: str, keep: str | None) -> None:
        # Exactly <program>.<hash>.exec: "web-0.*" would also match process "web-0.1"'s files.
        for path in self.programs_dir.glob(f"{program}.*"):
            if path.name != keep and _config.is_payload_of(path.name, program):
                path.unlink(missing_ok=True)

    # -- processes ---------------------------------------------------------------

    def start(self, program: str, *, wait: bool = True) -> None:
        """Start *program*; with *wait*, until it has run ``start_seconds``.

        Raises :class:`ProcessFailed` (with the tail of its log) when it does not start.
        """
        try:
            self._call("startProcess", program, wait)
        except RpcFault as fault:
            if fault.code != ALREADY_STARTED:
                raise self._error(program, fault) from None

    def stop(self, program: str, *, wait: bool = True) -> None:
        """Stop *program* gracefully (its stop signal, then SIGKILL after ``stop_wait``)."""
        try:
            self._call("stopProcess", program, wait)
        except RpcFault as fault:
            if fault.code != NOT_RUNNING:
                raise self._error(program, fault) from None

    def restart(self, program: str, *, wait: bool = True) -> None:
        """Stop *program* gracefully, then start it."""
        self.stop(program)
        self.start(program, wait=wait)

    def signal(self, program: str, sig: int | str) -> None:
        """Send *sig* (a number, or a name such as ``HUP``) to *program*'s process."""
        if isinstance(sig, int):
            sig = _signal.Signals(sig).name.removeprefix("SIG")
        try:
            self._call("signalProcess", program, sig.upper().removeprefix("SIG"))
        except RpcFault as fault:
            raise self._error(program, fault) from None

    def status(self, program: str) -> ProcessStatus:
        """The state of *program* (:class:`NoSuchProgram` when supervisord does not know it)."""
        try:
            return ProcessStatus.from_info(self._call("getProcessInfo", program))
        except RpcFault as fault:
            raise self._error(program, fault) from None

    def status_all(self, app: str | None = None) -> list[ProcessStatus]:
        """Every process supervisord runs (only *app*'s when given), sorted by program name."""
        out = [ProcessStatus.from_info(info) for info in self._call("getAllProcessInfo")]
        if app is not None:
            out = [s for s in out if s.app == app]
        return sorted(out, key=lambda s: s.program)

    def tail(
        self, program: str, *, stream: Literal["stdout", "stderr"] = "stdout", max_bytes: int = 65536
    ) -> str:
        """The last *max_bytes* of *program*'s stdout (or stderr) log, also after it failed.

        With stderr sent into the stdout log, ``stream="stderr"`` reads that one.
        """
        status = self.status(program)
        path = status.stderr_log if stream == "stderr" and status.stderr_log else status.stdout_log
        return read_tail(path, max_bytes) if path else ""

    def wait_for(
        self,
        program: str,
        states: Collection[str] = ("running", "fatal", "exited", "stopped"),
        *,
        timeout: float = 30.0,
        until: Callable[[ProcessStatus], bool] | None = None,
    ) -> ProcessStatus:
        """Poll until *program* is in one of *states* (and *until* holds); return its status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(program)
            if status.state in states and (until is None or until(status)):
                return status
            if time.monotonic() > deadline:
                raise SupervisionError(
                    f"process {program!r} is {status.state}, not {'/'.join(states)}, after {timeout:g} s"
                )
            time.sleep(0.05)

    # -- plumbing ---------------------------------------------------------------

    def _call(self, method: str, *args: Any) -> Any:
        """Call ``supervisor.<method>``; connection problems become :class:`SupervisorNotRunning`."""
        if not self.socket_path.exists():  # nothing listens: told without loading the XML-RPC client
            raise SupervisorNotRunning(
                f"{self.socket_path}: supervisord does not answer (no socket);"
                " start it with Supervisor.ensure_running()"
            )
        from ._rpc import call

        return call(str(self.socket_path), self.rpc_timeout, method, *args)

    def _stop_quietly(self, program: str) -> None:
        try:
            self._call("stopProcess", program, True)
        except RpcFault as fault:
            if fault.code not in (NOT_RUNNING, BAD_NAME):
                raise self._error(program, fault) from None

    def _error(self, program: str, fault: RpcFault) -> SupervisionError:
        return fault_error(program, fault, self.programs_dir, lambda: self.tail(program, max_bytes=4000))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize starting the daemon and changing programs, across threads and processes."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "supervisord.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
