"""The programs of one local run, together, as a host runs them: its web app, its processes, its tasks.

Like a Procfile runner: each program is a child started through ``apppackage``'s bootstrap, in a
session of its own, its output (stdout and stderr together) written here line by line, prefixed
with its name: ``web``, ``<process>.<n>`` for each copy of a process (spec section 3.12), and
``tasks`` for the task scheduler and what each task prints (``tasks | <task>: ...``). The tasks
run on their schedules (section 3.14) with the runtime's scheduler, each in a process of its own,
their runs recorded in the state dir's ``tasks/``.

The web app serves the listening socket it is given, which its caller keeps: a restarted web
app takes over the same socket, and a request made meanwhile waits rather than being refused.
:meth:`Ensemble.stop` stops every program: SIGTERM to its process group, SIGKILL to the group
after :data:`~pyapp_tools.package.serving.STOP_GRACE` seconds, so nothing it started is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from apppackage import Environment
from apppackage.childenv import child_environ
from apppackage.description import Process, Task
from apppackage.hooks import RunResult, bootstrap_argv, payload_for, write_payload

from .quickstart import EarlyChild, Session
from .running import LocalRun
from .serving import STOP_GRACE, url_for, wait_ready, web_argument, web_part

__all__ = ["TASKS", "WEB", "Ensemble", "Output", "Parts", "Program"]

WEB = "web"
TASKS = "tasks"
TASKS_DIR = "tasks"
"""The state dir's folder of the task runs' store."""
KEEP_LINES = 200
"""How many lines of a task's output its run record keeps."""

_scheduler_log = logging.getLogger("pyapp_runtime.scheduler")


@dataclass(frozen=True, kw_only=True)
class Parts:
    """Which parts of the app run: the web app, the processes, the tasks."""

    web: bool = True
    processes: bool = True
    tasks: bool = True


class Output:
    """Where the programs' lines go: each prefixed with its program's name, one line at a time."""

    def __init__(self, stream: TextIO, names: list[str]) -> None:
        self.stream = stream
        self.width = max((len(n) for n in names), default=0)
        self._lock = threading.Lock()

    def write(self, name: str, line: str) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            # A closed stream must not stop the programs: their lines are dropped.
            self.stream.write(f"{name.ljust(self.width)} | {line}\n")
            self.stream.flush()

    def follow(
        self, name: str, pipe: IO[bytes], *, tag: str = "", keep: deque[str] | None = None
    ) -> threading.Thread:
        """A started thread writing each line of *pipe* (prefixed by *tag*), and keeping it in *keep*."""

        def pump() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    self.write(name, tag + line)
                    if keep is not None:
                        keep.append(line)

        thread = threading.Thread(target=pump, name=f"output of {name}", daemon=True)
        thread.start()
        return thread


@dataclass(kw_only=True)
class Program:
    """One running child: its name, its process, where its payload was and what reads its output."""

    name: str
    role: str
    proc: subprocess.Popen[bytes] | EarlyChild
    payload: Path
    reader: threading.Thread
    output: deque[str] = field(default_factory=lambda: deque(maxlen=KEEP_LINES))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def _signal_group(proc: subprocess.Popen[bytes] | EarlyChild, sig: int) -> None:
    # Each program leads a process group of its own: what it started goes with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ensemble:
    """The programs of *run*: started by :meth:`start`, watched by :meth:`exited`, ended by :meth:`stop`.

    *sock* is the web app's listening socket (``None``: no web app); *ports* the port of each copy
    of a process with ``port: true``, by program name, kept from one start to the next. *early* is the
    ``pyapp run`` session whose web app may have started already (see :mod:`.quickstart`).
    """

    def __init__(
        self,
        run: LocalRun,
        stream: TextIO,
        *,
        sock: socket.socket | None = None,
        threads: int = 4,
        parts: Parts | None = None,
        ports: dict[str, int] | None = None,
        early: Session | None = None,
        held: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.run = run
        self.early = early
        self._held = held
        self.parts = parts or Parts()
        self.sock = sock if self.parts.web and web_part(run.package.description) is not None else None
        self.threads = threads
        self.ports = ports if ports is not None else {}
        self.output = Output(stream, self.names())
        self._programs: list[Program] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._tasks_stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._log_handler: logging.Handler | None = None
        self.web_launch: dict[str, Any] | None = None
        """What started the web app: the bootstrap's command line (without the payload file) and payload."""

    # -- what runs ------------------------------------------------------------------

    def _processes(self) -> list[tuple[str, Process]]:
        if not self.parts.processes:
            return []
        return [
            (f"{p.name}.{index + 1}", p)
            for p in self.run.package.description.processes
            for index in range(p.count)
        ]

    def _tasks(self) -> tuple[Task, ...]:
        return self.run.package.description.tasks if self.parts.tasks else ()

    def names(self) -> list[str]:
        """The names of the programs this ensemble runs, in the order they start."""
        names = [WEB] if self.sock is not None else []
        names += [name for name, _ in self._processes()]
        return names + ([TASKS] if self._tasks() else [])

    # -- starting -----------------------------------------------------------------

    def _registering(self) -> contextlib.AbstractContextManager[None]:
        """While a started program becomes this ensemble's (to stop), SIGINT and SIGTERM wait: *held*, in
        the main thread (the only one they reach; the task scheduler's thread starts programs too)."""
        return (
            self._held()
            if threading.current_thread() is threading.main_thread()
            else contextlib.nullcontext()
        )

    def _spawn(
        self,
        name: str,
        role: str,
        env: Environment,
        *,
        kind: str,
        ref: str,
        argument: Any,
        label: str,
        pass_fds: tuple[int, ...] = (),
        tag: str = "",
    ) -> Program | None:
        """Start one program (``None`` once the ensemble is stopping)."""
        with self._registering(), self._lock:
            if self._stopping:
                return None
            payload = write_payload(
                env, kind=kind, ref=ref, argument=argument, name=label, cwd=self.run.host.data_path
            )
            try:
                proc = subprocess.Popen(
                    bootstrap_argv(payload),
                    env=child_environ(env.variables),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=pass_fds,
                    start_new_session=True,
                )
            except OSError:
                payload.unlink(missing_ok=True)
                raise
            assert proc.stdout is not None
            keep: deque[str] = deque(maxlen=KEEP_LINES)
            reader = self.output.follow(name, proc.stdout, tag=tag, keep=keep)
            program = Program(name=name, role=role, proc=proc, payload=payload, reader=reader, output=keep)
            self._programs.append(program)
        return program

    def start(self, on_ready: Callable[[str], None] | None = None) -> Program | None:
        """Start every program; *on_ready(url)* once the web app accepts connections.

        Returns the web app's program when it exited before it was ready (then nothing else
        started), else ``None``.
        """
        if self.sock is not None:
            web = self._start_web(on_ready)
            if web is not None:
                return web
        self._start_processes()
        self._start_tasks()
        return None

    def _start_web(self, on_ready: Callable[[str], None] | None) -> Program | None:
        assert self.sock is not None
        run = self.run
        web = web_part(run.package.description)
        assert web is not None
        unix_path = self.sock.getsockname() if self.sock.family == socket.AF_UNIX else None
        port = None if unix_path else self.sock.getsockname()[1]
        env = run.package.environment(run.host, port=port, socket=unix_path, services=run.services)
        argument = web_argument(run, socket_fd=self.sock.fileno(), ready_fd=-1, threads=self.threads)
        payload = payload_for(
            env, kind="serve", ref=web.app, argument=argument, name=WEB, cwd=run.host.data_path
        )
        self.web_launch = {"argv": bootstrap_argv("")[:-1], "payload": payload}
        program: Program | None = None
        with self._registering():
            adopted = self.early.adopt(self.web_launch, self.sock) if self.early is not None else None
            if adopted is not None:
                program, ready = self._adopt(adopted), True
        if adopted is None:
            program, ready = self._spawn_web(env, argument)
        if not ready:
            return program
        if on_ready is not None and program is not None:
            on_ready(url_for(self.sock))
        return None

    def _spawn_web(self, env: Environment, argument: dict[str, Any]) -> tuple[Program | None, bool]:
        """Start the web app, which writes a line to a pipe once it accepts connections; wait for it."""
        web = web_part(self.run.package.description)
        assert self.sock is not None and web is not None
        ready_r, ready_w = os.pipe()
        try:
            program = self._spawn(
                WEB, WEB, env, kind="serve", ref=web.app,
                argument=dict(argument, ready_fd=ready_w), label=WEB, pass_fds=(self.sock.fileno(), ready_w),
            )  # fmt: skip
            os.close(ready_w)
            ready_w = -1
            return program, program is None or wait_ready(ready_r)
        finally:
            os.close(ready_r)
            if ready_w >= 0:
                os.close(ready_w)

    def _adopt(self, early: tuple[EarlyChild, str]) -> Program:
        """The web app the session started early (ready already), as this ensemble's."""
        proc, payload = early
        assert proc.stdout is not None
        with self._lock:
            keep: deque[str] = deque(maxlen=KEEP_LINES)
            reader = self.output.follow(WEB, proc.stdout, keep=keep)
            program = Program(
                name=WEB, role=WEB, proc=proc, payload=Path(payload), reader=reader, output=keep
            )
            self._programs.append(program)
        return program

    def _start_processes(self) -> None:
        run = self.run
        description = run.package.description
        for name, process in self._processes():
            command = description.command(process.command) if process.command else None
            call = process.call or (command.call if command is not None else "")
            port = None
            if process.port:
                port = self.ports.setdefault(name, _free_port())
            args = [a.replace("{port}", str(port)) if port is not None else a for a in process.args]
            env = run.package.environment(run.host, services=run.services, process=process.name, port=port)
            self._spawn(
                name, "process", env, kind="command" if process.command else "process", ref=call,
                argument=args, label=process.command or process.name,
            )  # fmt: skip

    def _start_tasks(self) -> None:
        tasks = self._tasks()
        if not tasks:
            return
        from pyapp_runtime.scheduler import RunStore, Scheduler, TaskRunner  # croniter: only with tasks

        app = self.run.package.name
        # The scheduler's own lines (a task started, how it ended) go out as the tasks' program's.
        handler = _LineHandler(self.output)
        _scheduler_log.addHandler(handler)
        _scheduler_log.setLevel(logging.INFO)
        self._log_handler = handler
        store = RunStore(self.run.host.data_path.parent / TASKS_DIR)
        scheduler = Scheduler([(app, t) for t in tasks], TaskRunner(store, self._run_task))
        self.output.write(TASKS, "scheduling " + ", ".join(f"{t.name} ({_schedule(t)})" for t in tasks))
        self._scheduler = threading.Thread(
            target=scheduler.run_forever, args=(self._tasks_stop,), name="tasks", daemon=True
        )
        self._scheduler.start()

    def _run_task(self, app: str, task: Task) -> RunResult:
        """Run *task* once as a program of its own, killed at its timeout (the scheduler's callback)."""
        run = self.run
        context = run.package.hook_context(task.name, run.host, config=run.config)
        context["task"] = context.pop("hook")
        env = run.package.environment(run.host, services=run.services)
        started = time.monotonic()
        program = self._spawn(
            TASKS, "task", env, kind="task", ref=task.call, argument=context, label=task.name,
            tag=f"{task.name}: ",
        )  # fmt: skip
        if program is None:
            return RunResult(returncode=-signal.SIGTERM, output="stopped with pyapp run", duration=0.0)
        timed_out = False
        try:
            code = program.proc.wait(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._end([program])
            code = program.proc.wait()
        program.reader.join(timeout=STOP_GRACE)
        with self._lock:
            if program in self._programs:
                self._programs.remove(program)
        program.payload.unlink(missing_ok=True)
        output = "\n".join(program.output) + ("\n" if program.output else "")
        return RunResult(
            returncode=code, output=output, duration=time.monotonic() - started, timed_out=timed_out
        )

    # -- watching and stopping ----------------------------------------------------------

    def exited(self) -> Program | None:
        """A web app or process that has ended by itself, if any."""
        with self._lock:
            if self._stopping:
                return None
            return next((p for p in self._programs if p.role != "task" and not p.alive), None)

    def _end(self, programs: list[Program]) -> None:
        """SIGTERM each of *programs*' groups, SIGKILL them after the grace period; wait for them."""
        for program in programs:
            _signal_group(program.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for program in programs:
            try:
                program.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(program.proc, signal.SIGKILL)
                program.proc.wait()
            # What the program started and left behind goes with its group.
            _signal_group(program.proc, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the task scheduler and every program; return once all are gone. Idempotent."""
        with self._lock:
            self._stopping = True
            programs = list(self._programs)
        if self._log_handler is not None:
            # A task stopped here is no failure worth a line.
            _scheduler_log.removeHandler(self._log_handler)
            self._log_handler = None
        self._tasks_stop.set()
        self._end(programs)
        if self._scheduler is not None:
            self._scheduler.join(timeout=STOP_GRACE)
        for program in programs:
            program.reader.join(timeout=STOP_GRACE)
            program.payload.unlink(missing_ok=True)


def _schedule(task: Task) -> str:
    return f"every {task.every} s" if task.every else f"cron {task.cron}"


class _LineHandler(logging.Handler):
    def __init__(self, output: Output) -> None:
        super().__init__(logging.INFO)
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        self.output.write(TASKS, record.getMessage())
