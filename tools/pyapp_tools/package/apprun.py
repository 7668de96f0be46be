"""``pyapp run``: the whole app, until Ctrl-C -- prepared, started, restarted on a change, stopped.

:func:`run_app` prepares the run (:func:`~pyapp_tools.package.running.local_run`), starts its
programs (:class:`~pyapp_tools.package.ensemble.Ensemble`) and waits. A program that exits by
itself stops the others and ends the run with its status. With a :class:`Watcher` (``--reload``),
a change to a watched file stops the programs, prepares the run again (the description, the
configuration and the environment are read anew) and starts them again; a program that exits, or
a run that cannot be prepared, then waits for the next change instead of ending the run.

SIGINT and SIGTERM stop every program and end the run with status 0. A signal that comes while
the programs are being stopped is held until they are gone: the run never leaves one behind.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

from apppackage import AppPackageError

from .ensemble import WEB, Ensemble, Parts, Program
from .quickstart import Session
from .running import LocalRun
from .serving import exit_status, web_part
from .watching import Watcher, watched_files

__all__ = ["Hooks", "run_app"]

SETTLE = 0.2
"""Seconds to let a burst of changes (an editor saving several files) end before restarting."""


class _Stop(Exception):
    """SIGINT or SIGTERM: stop everything."""


class _Signals:
    """SIGINT and SIGTERM raise :class:`_Stop`, except while :meth:`held`: then they wait for its end."""

    def __init__(self) -> None:
        self.quiet = False
        self.pending = False

    def handler(self, signum: int, frame: Any) -> None:
        if self.quiet:
            self.pending = True
            return
        raise _Stop

    @contextmanager
    def held(self) -> Iterator[None]:
        outer, self.quiet = self.quiet, True
        try:
            yield
        finally:
            self.quiet = outer
        if self.pending and not outer:
            raise _Stop


class Hooks:
    """What :func:`run_app` tells its caller; each does nothing unless overridden."""

    def prepared(self, run: LocalRun) -> None:
        """The run was prepared (warnings, the install hook's output)."""

    def ready(self, run: LocalRun, url: str | None, names: list[str]) -> None:
        """The programs *names* started; *url* is where the web app serves (``None``: no web app)."""

    def event(self, message: str) -> None:
        """Something happened to the run as a whole (a restart, a program that exited)."""


def _wait(ensemble: Ensemble, watcher: Watcher | None, wake: threading.Event) -> Program | list[str]:
    """The program that exited by itself, or the files that changed, whichever comes first."""
    while True:
        gone = ensemble.exited()
        if gone is not None:
            return gone
        if watcher is not None and watcher.changed.is_set():
            time.sleep(SETTLE)
            return watcher.take()
        wake.wait(0.2)
        wake.clear()


def _changed(watcher: Watcher) -> list[str]:
    while not watcher.changed.wait(0.5):  # in slices: a signal is handled between them
        pass
    time.sleep(SETTLE)
    return watcher.take()


def _names(paths: Sequence[str], base: Path) -> str:
    """*paths* as a person reads them: relative to *base* when under it, the first three."""
    names = []
    for name in paths:
        with contextlib.suppress(ValueError):
            name = str(Path(name).relative_to(base.resolve()))
        names.append(name)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def run_app(
    path: Path,
    prepare: Callable[[], AbstractContextManager[LocalRun]],
    stream: TextIO,
    *,
    bind: Callable[[], socket.socket] | None = None,
    threads: int = 4,
    parts: Parts | None = None,
    reload: bool = False,
    watch: Sequence[Path] = (),
    hooks: Hooks | None = None,
    early: Session | None = None,
) -> int:
    """Run the app of *path* as *prepare* prepares it until a signal (0) or a program exits (its status).

    *bind* makes the web app's listening socket, once, when the app has a web part to run;
    *stream* gets the programs' lines. With *reload*, the app's files and *watch* are watched.
    *early* is the ``pyapp run`` session that may have started the web app already, and keeps what
    started it for the next run (:mod:`.quickstart`).
    Call it from the main thread: it handles SIGINT and SIGTERM while it runs.
    """
    hooks = hooks or Hooks()
    parts = parts or Parts()
    signals = _Signals()
    previous = {sig: signal.signal(sig, signals.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    wake = threading.Event()
    watcher = Watcher(wake) if reload else None
    sock: socket.socket | None = None
    ports: dict[str, int] = {}
    base = path if path.is_dir() else path.parent  # what changed files are named relative to
    first = True
    try:
        while True:
            with ExitStack() as stack:
                try:
                    run = stack.enter_context(prepare())
                except AppPackageError as exc:
                    if first or watcher is None:
                        raise
                    hooks.event(f"cannot start again: {exc}\nwaiting for a change")
                    hooks.event(f"{_names(_changed(watcher), base)} changed: starting again")
                    continue
                if watcher is not None:
                    watcher.watch([*watched_files(path, run), *watch])
                if first:
                    hooks.prepared(run)
                first = False
                if sock is None and bind is not None and parts.web and web_part(run.package.description):
                    sock = bind()
                ensemble = Ensemble(
                    run, stream, sock=sock, threads=threads, parts=parts, ports=ports, early=early,
                    held=signals.held,
                )  # fmt: skip
                if not ensemble.names():
                    raise AppPackageError(_nothing_to_run(run, parts))
                url: list[str] = []
                outcome: Program | list[str]
                failed = None
                try:
                    failed = ensemble.start(url.append)
                    if failed is None:
                        if early is not None:
                            # Kept before the run says it serves: a signal right after that finds it done.
                            with signals.held():
                                _remember(early, run, ensemble, reloading=watcher is not None)
                            early = None
                        hooks.ready(run, url[0] if url else None, ensemble.names())
                        outcome = _wait(ensemble, watcher, wake)
                    else:
                        failed.proc.wait()
                        outcome = failed
                finally:
                    with signals.held():
                        ensemble.stop()
            if isinstance(outcome, list):
                hooks.event(f"{_names(outcome, base)} changed: restarting")
                continue
            status = exit_status(outcome.proc.wait())
            if watcher is None:
                alone = outcome is failed or ensemble.names() == [outcome.name]
                others = "" if alone else ": the others were stopped"
                hooks.event(f"{outcome.name} exited with status {status}{others}")
                return status
            hooks.event(f"{outcome.name} exited with status {status}: waiting for a change to start again")
            hooks.event(f"{_names(_changed(watcher), base)} changed: starting again")
    except _Stop:
        signals.quiet = True  # the programs are gone: a second Ctrl-C changes nothing now
        return 0
    finally:
        signals.quiet = True
        if watcher is not None:
            watcher.stop()
        if sock is not None:
            _close(sock)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _remember(early: Session, run: LocalRun, ensemble: Ensemble, *, reloading: bool) -> None:
    """Keep what started the web app for the next run started the same way, when that run could start it
    early: one that runs the web app only, without --reload, from inputs it can check."""
    only_web = ensemble.names() == [WEB] and ensemble.web_launch is not None
    if only_web and not reloading and run.inputs is not None and ensemble.web_launch is not None:
        early.remember(ensemble.web_launch, run.inputs)
    else:
        early.forget()


def _nothing_to_run(run: LocalRun, parts: Parts) -> str:
    if web_part(run.package.description) is None and parts.web:
        what = "no WSGI or ASGI application (no /wsgi or /asgi in metadata.yaml)"
        what += ", processes or tasks" if parts.processes else ": nothing to serve with --web-only"
    else:
        what = "nothing to run"
    return f"{run.release} declares {what}; run one of its commands with `pyapp command`"


def _close(sock: socket.socket) -> None:
    unix_path = sock.getsockname() if sock.family == socket.AF_UNIX else None
    sock.close()
    if unix_path:
        with contextlib.suppress(OSError):
            Path(unix_path).unlink()
