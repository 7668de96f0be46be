"""The runtime's own web server instance: render, test, swap in, start, reload, stop.

Everything lives under one directory (``<state dir>/<kind>/``)::

    configs/<generation>/   one rendered configuration each (kept: the last few)
    live -> configs/<gen>   the configuration the server runs, replaced atomically
    logs/ run/ tmp/ empty/  error and access logs, pid file, temp files, the 404 root

:meth:`WebServer.activate` renders a new generation, runs the server's own test on it
(``nginx -t``, ``apache2 -t``, ``lighttpd -tt``), and only if it passes points ``live``
at it (``os.replace`` of a symlink) and reloads a running server gracefully (nginx
SIGHUP, Apache SIGUSR1 = ``-k graceful``, lighttpd SIGUSR1 = graceful restart, 1.4.46+).
A refused configuration never becomes live; a reload that fails puts the previous
configuration back and brings the server up on it. :meth:`WebServer.revert` undoes an
activation that went through (the caller found it does not serve): the previous
generation is live and serving again.

The server runs in the foreground of its own session, detached from the caller (it
outlives it), as the calling user; started as root its workers switch to
:attr:`ServerSettings.worker_user`. It serves nothing without virtual hosts, so an
activation with none stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import os
import pwd
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from apppackage.files import replace_link

from ..pids import pid_alive
from . import _proc
from ._commands import config_test, start_command
from ._context import RenderContext
from ._plan import plan
from ._reach import Blocked, first_blocked
from ._reload import graceful_reload
from .detect import Installation
from .errors import ServerFailed
from .render import CONFIG_FILES, render_files, render_fragment
from .routes import Routes
from .settings import Activation, ServerSettings

__all__ = ["Activation", "Blocked", "ServerSettings", "WebServer"]

_LISTENS = "listens.json"


class WebServer:
    """One web server instance of *installation*'s kind, kept in *directory*."""

    def __init__(
        self,
        installation: Installation,
        directory: str | os.PathLike[str],
        settings: ServerSettings | None = None,
    ) -> None:
        self.installation = installation
        self.kind = installation.kind
        self.settings = settings or ServerSettings()
        self.directory = Path(directory).absolute()
        self.configs = self.directory / "configs"
        self.live = self.directory / "live"
        self.logs = self.directory / "logs"
        self.run_dir = self.directory / "run"
        self.tmp = self.directory / "tmp"
        self.empty = self.directory / "empty"
        self.config_name = CONFIG_FILES[self.kind]
        self.error_log = self.logs / "error.log"
        self.console_log = self.logs / "console.log"
        self.pid_file = (
            self.run_dir
            / {"nginx": "nginx.pid", "apache": "httpd.pid", "lighttpd": "lighttpd.pid"}[self.kind]
        )

    @classmethod
    def in_state_dir(
        cls,
        state_dir: str | os.PathLike[str],
        installation: Installation,
        settings: ServerSettings | None = None,
    ) -> WebServer:
        """The instance kept in ``<state_dir>/<kind>/``, next to the routing table's ``state.json``."""
        return cls(installation, Path(state_dir) / installation.kind, settings)

    def __repr__(self) -> str:
        return f"WebServer({self.kind!r}, {str(self.directory)!r})"

    # -- identity and layout -----------------------------------------------
    def worker_identity(self) -> tuple[str, str] | None:
        """(user, group) the workers run as when the server is started as root, else None."""
        if os.geteuid() != 0:
            return None
        names = [self.settings.worker_user] if self.settings.worker_user else ["www-data", "nobody"]
        for name in names:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return name, grp.getgrgid(entry.pw_gid).gr_name
        raise ServerFailed(self.kind, "setup", f"no user {' or '.join(names)} to run the workers as root")

    def blocked(self, path: str | os.PathLike[str]) -> Blocked | None:
        """The directory on the way to *path* that the workers (another user, as root) cannot traverse."""
        identity = self.worker_identity()
        return None if identity is None else first_blocked(Path(path), identity[0])

    def _check_reach(self) -> None:
        # lighttpd opens its logs and re-reads its configuration as the workers' user: unable to
        # reach them it exits, on a start as on a reload. Refused before it comes to that.
        blocked = self.blocked(self.directory) if self.kind == "lighttpd" else None
        if blocked is not None:
            raise ServerFailed(
                self.kind, "setup",
                f"lighttpd opens its files in {self.directory} as its workers' user {blocked.user}, who"
                f" cannot traverse {blocked}. Let them through (chmod o+x {blocked.directory}) or keep"
                f" these files where {blocked.user} can reach them (move PYAPP_HOME).",
            )  # fmt: skip

    def _prepare(self) -> None:
        for path in (self.configs, self.logs, self.run_dir, self.tmp, self.empty):
            path.mkdir(parents=True, exist_ok=True)
        identity = self.worker_identity()
        if identity is not None:
            # The workers (another user) read the empty root and, for lighttpd, the configuration.
            for path in (self.directory, self.configs, self.empty):
                path.chmod(0o755)
        if identity is not None and self.kind == "lighttpd":
            # lighttpd re-reads its configuration and reopens its files as the worker user
            # on a graceful restart.
            uid, gid = pwd.getpwnam(identity[0]).pw_uid, grp.getgrnam(identity[1]).gr_gid
            for path in (self.logs, self.run_dir, self.tmp):
                os.chown(path, uid, gid)
                for child in path.iterdir():
                    os.chown(child, uid, gid, follow_symlinks=False)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- configurations ----------------------------------------------------
    def live_config(self) -> Path | None:
        """The live main configuration file (through the ``live`` link), or None."""
        target = self.live / self.config_name
        return target if target.exists() else None

    def render(self, routes: Routes) -> Path:
        """Write a new configuration generation for *routes*; its main file."""
        self._prepare()
        generation = self.configs / f"{time.time_ns():020d}-{os.getpid()}"
        generation.mkdir(mode=0o755)
        ctx = RenderContext(
            installation=self.installation,
            config_dir=generation,
            logs=self.logs,
            run=self.run_dir,
            tmp=self.tmp,
            empty=self.empty,
            user=self.worker_identity(),
            workers=self.settings.workers,
            access_log=self.settings.access_log,
        )
        for name, text in render_files(routes, ctx).items():
            (generation / name).write_text(text, encoding="utf-8")
            (generation / name).chmod(0o644)
        listens = [[block.address, block.port] for block in plan(routes)]
        (generation / _LISTENS).write_text(json.dumps(listens), encoding="utf-8")
        return generation / self.config_name

    def check(self, config: Path) -> str:
        """Run the server's own configuration test on *config*; its output (warnings).

        Raises :class:`ConfigTestFailed` with the server's message when the test fails
        (for lighttpd also on an unknown configuration key, which it only warns about).
        """
        return config_test(self.installation, self.directory, self.error_log, config)

    def _swap(self, generation: Path) -> None:
        replace_link(self.live, generation.relative_to(self.directory))

    def _live_generation(self) -> Path | None:
        return self.live.resolve() if self.live.is_symlink() else None

    def _prune(self) -> None:
        live = self._live_generation()
        generations = sorted((p for p in self.configs.iterdir() if p.is_dir()), key=lambda p: p.name)
        for old in [p for p in generations if p != live][: -self.settings.keep_configs or None]:
            shutil.rmtree(old, ignore_errors=True)

    def activate(self, routes: Routes, *, start: bool = False) -> Activation:
        """Render, test and swap in *routes*; reload the server if it runs (or start it if *start*).

        Raises :class:`ConfigTestFailed` (nothing changed) or :class:`ServerFailed` (the
        reload failed: the previous configuration is live and serving again).
        """
        with self._locked():
            self._check_reach()
            config = self.render(routes)
            self.check(config)
            previous = self._live_generation()
            replaced = None if previous is None else previous / self.config_name
            self._swap(config.parent)
            has_hosts = bool(routes.vhosts)
            running = self._pid() is not None
            if running and not has_hosts:
                self._stop(graceful=True)
            elif running:
                try:
                    self._reload()
                except ServerFailed:
                    self._restore(previous)
                    raise
            elif start and has_hosts:
                self._start()
            self._prune()
            return Activation(
                config=config,
                previous=replaced,
                reloaded=running and has_hosts,
                stopped=running and not has_hosts,
                started=not running and start and has_hosts,
            )

    def revert(self, activation: Activation) -> None:
        """Undo *activation*: its previous configuration is live again, and the server runs as it did
        before (reloaded on it, started again, or stopped again). A configuration activated since
        is left alone."""
        with self._locked():
            if self._live_generation() != activation.config.parent.resolve():
                return
            previous = None if activation.previous is None else activation.previous.parent
            if activation.started or previous is None:
                self._stop(graceful=False)
                if previous is None:
                    self.live.unlink(missing_ok=True)
                else:
                    self._swap(previous)
                return
            self._restore(previous)

    def _restore(self, previous: Path | None) -> None:
        if previous is None:
            return
        self._swap(previous)
        with contextlib.suppress(ServerFailed):
            if self._pid() is None:
                self._start()
            else:
                self._reload()

    # -- process control ---------------------------------------------------
    def _pid(self) -> int | None:
        pid = _proc.read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        # A stale pid file may name a reused pid: only a process started on our config counts.
        args = _proc.cmdline(pid)
        if args and not any(str(self.live) in arg for arg in args):
            return None
        return pid

    def pid(self) -> int | None:
        """The server's main process id, or None when it is not running."""
        return self._pid()

    def is_running(self) -> bool:
        return self._pid() is not None

    def _listens(self) -> list[tuple[str, int]]:
        try:
            raw = json.loads((self.live / _LISTENS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [(str(address), int(port)) for address, port in raw]

    def log_marks(self) -> tuple[int, int]:
        """Where the server's console output and error log end now (for :meth:`logs_since`)."""
        sizes = []
        for path in (self.console_log, self.error_log):
            try:
                sizes.append(path.stat().st_size)
            except OSError:
                sizes.append(0)
        return sizes[0], sizes[1]

    def logs_since(self, marks: tuple[int, int]) -> str:
        """What the server logged after *marks* (its last lines, at most a few thousand characters)."""
        # What the server printed (before it could open its error log), then the error log;
        # nginx prints nothing there that it does not log too.
        printed = _proc.tail(self.console_log, marks[0]).strip()
        errors = _proc.tail(self.error_log, marks[1]).strip()
        if self.kind == "nginx" and errors:
            return errors
        return "\n".join(part for part in (printed, errors) if part)

    def start(self) -> int:
        """Start the server on the live configuration (no-op if it runs); its pid."""
        with self._locked():
            return self._start()

    def _start(self) -> int:
        running = self._pid()
        if running is not None:
            return running
        if self.live_config() is None:
            raise ServerFailed(
                self.kind, "start", "there is no live configuration yet: activate the routes first"
            )
        self._check_reach()
        self._prepare()
        # Workers a killed master left hold its ports: they stop first (never "address in use").
        _proc.clear_leftovers(self.pid_file, self.settings.stop_timeout)
        marks = self.log_marks()
        try:
            live = self.live / self.config_name
            argv = start_command(self.installation, self.directory, self.error_log, live)
            pid = _proc.spawn_detached(argv, self.console_log)
        except OSError as exc:
            raise ServerFailed(self.kind, "start", str(exc)) from exc
        listens = self._listens()

        def ready() -> bool:
            if not pid_alive(pid):
                return True
            return _proc.read_pid(self.pid_file) == pid and all(_proc.port_open(a, p) for a, p in listens)

        finished = _proc.wait_until(ready, self.settings.start_timeout)
        if not pid_alive(pid):
            raise ServerFailed(self.kind, "start", "the server exited", self.logs_since(marks))
        if not finished:
            self._kill(pid)
            raise ServerFailed(
                self.kind,
                "start",
                f"not listening after {self.settings.start_timeout:g}s",
                self.logs_since(marks),
            )
        return pid

    def reload(self) -> None:
        """Make the running server load the live configuration, gracefully; waits until it has."""
        with self._locked():
            self._reload()

    def _reload(self) -> None:
        pid = self._pid()
        if pid is None:
            raise ServerFailed(self.kind, "reload", "the server is not running")
        marks = self.log_marks()
        timeout = self.settings.reload_timeout
        failure = graceful_reload(self.kind, pid, self.error_log, since=marks[1], timeout=timeout)
        if failure is not None:
            raise ServerFailed(self.kind, "reload", failure, self.logs_since(marks))
        listens = self._listens()
        if not _proc.wait_until(lambda: all(_proc.port_open(a, p) for a, p in listens), timeout):
            raise ServerFailed(self.kind, "reload", "not listening on every address", self.logs_since(marks))

    def stop(self, *, graceful: bool = False) -> None:
        """Stop the server (no-op if it is not running); *graceful* lets requests in progress finish."""
        with self._locked():
            self._stop(graceful=graceful)

    def _stop(self, *, graceful: bool) -> None:
        pid = self._pid()
        if pid is None:
            return
        graceful_signal = {"nginx": signal.SIGQUIT, "apache": signal.SIGWINCH, "lighttpd": signal.SIGINT}
        os.kill(pid, graceful_signal[self.kind] if graceful else signal.SIGTERM)
        if not _proc.wait_until(lambda: not pid_alive(pid), self.settings.stop_timeout):
            self._kill(pid)

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _proc.wait_until(lambda: not pid_alive(pid), 5.0)

    # -- system servers ----------------------------------------------------
    def fragment(self, routes: Routes) -> str:
        """The virtual hosts of *routes* as an include file for a system server of this kind."""
        self._prepare()
        return render_fragment(
            self.kind, routes, empty_dir=str(self.empty), version=self.installation.version
        )
