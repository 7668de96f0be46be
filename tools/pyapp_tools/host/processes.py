"""``pyapp`` commands for the processes of apps installed on this host: start, stop, restart, reload,
status, ps, logs, tasks, export-systemd.

Each parses its input, calls :class:`pyapp_runtime.Host` and formats the result
(``--json`` prints it as JSON). The processes run under supervisord and outlive the command.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..commandline import echo_failing, emit, human_size
from .common import host_command, open_host, wait_option

__all__ = ["register"]


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    value = int(seconds)
    days, value = divmod(value, 86400)
    hours, value = divmod(value, 3600)
    minutes, secs = divmod(value, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _table(processes: Sequence[dict[str, Any]], *, with_app: bool) -> None:
    if not processes:
        click.echo("no processes")
        return
    head = ("APP",) if with_app else ()
    rows = [(*head, "PROCESS", "STATE", "PID", "LISTEN", "UPTIME", "MEMORY")]
    for p in processes:
        app = (p["app"],) if with_app else ()
        memory = human_size(p["memory"]) if p["memory"] else "-"
        state = f"failing ({p['state']})" if p.get("failing") else p["state"]
        rows.append(
            (*app, p["process"], state, str(p["pid"] or "-"), p["listen"] or "-", _uptime(p["uptime"]),
             memory)
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    echo_failing(p for p in processes if p.get("failing"))


def _control(action: str, name: str, wait: float, home: Path | None, as_json: bool) -> None:
    host = open_host(home, progress=not as_json)
    result = getattr(host, action)(name, wait=wait).to_dict()

    def human(d: dict[str, Any]) -> None:
        past = {"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}[action]
        click.echo(f"{d['name']} {past}")
        if d["processes"]:
            _table(d["processes"], with_app=False)

    emit(result, as_json, human)


@click.command()
@click.argument("name")
@wait_option
@host_command
def start(name: str, wait: float, home: Path | None, as_json: bool) -> None:
    """Start the app NAME: its web daemon, processes and task scheduler, until it is healthy.

    They run under supervisord and keep running when this command ends.

    \b
    Example:
      pyapp start hello
    """
    _control("start", name, wait, home, as_json)


@click.command()
@click.argument("name")
@wait_option
@host_command
def stop(name: str, wait: float, home: Path | None, as_json: bool) -> None:
    """Stop the app NAME's processes gracefully; requests in progress finish first.

    The app stays stopped, also when it is updated, until `pyapp start`.

    \b
    Example:
      pyapp stop hello
    """
    _control("stop", name, wait, home, as_json)


@click.command()
@click.argument("name")
@wait_option
@host_command
def restart(name: str, wait: float, home: Path | None, as_json: bool) -> None:
    """Stop the app NAME's processes, then start them again.

    \b
    Example:
      pyapp restart hello
    """
    _control("restart", name, wait, home, as_json)


@click.command()
@click.argument("name")
@wait_option
@host_command
def reload(name: str, wait: float, home: Path | None, as_json: bool) -> None:
    """Replace the app NAME's processes with new ones without a moment out of service.

    The new processes start beside the running ones and take over once healthy, as in
    an update; if they do not become healthy the running ones go on. Configuration,
    service and mount changes reload a running app this way by themselves.

    \b
    Example:
      pyapp reload hello
    """
    _control("reload", name, wait, home, as_json)


@click.command()
@click.argument("name")
@host_command
def status(name: str, home: Path | None, as_json: bool) -> None:
    """Show the processes of the app NAME: state, pid, socket or port, uptime, memory.

    \b
    Example:
      pyapp status hello
      pyapp status hello --json
    """
    processes = [p.to_dict() for p in open_host(home).status(name)]

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            click.echo(f"{name} is not running (start it with: pyapp start {name})")
            return
        _table(items, with_app=False)

    emit(processes, as_json, human)


@click.command()
@host_command
def ps(home: Path | None, as_json: bool) -> None:
    """Show every process of every app on this host.

    \b
    Example:
      pyapp ps
      pyapp ps --json
    """
    emit([p.to_dict() for p in open_host(home).ps()], as_json, lambda items: _table(items, with_app=True))


@click.command()
@click.argument("name")
@click.option(
    "--process", "-p", metavar="PROCESS", help="Only this process: web, tasks, hooks, a process name."
)
@click.option("-n", "lines", type=click.IntRange(min=0), default=20, show_default=True, help="Lines to show.")
@click.option("--follow", "-f", is_flag=True, help="Keep showing lines as they are written (Ctrl-C ends).")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PYAPP_HOME",
    help="The host's directory.",
)
def logs(name: str, process: str | None, lines: int, follow: bool, home: Path | None) -> None:
    """Show the last lines of the logs of the app NAME's processes; -f follows them.

    \b
    Example:
      pyapp logs hello
      pyapp logs hello -f --process web -n 100
    """
    from pyapp_runtime.processes.logs import follow as follow_logs
    from pyapp_runtime.processes.logs import last_lines, log_ends

    files = open_host(home).logs(name, process=process)
    several = len(files) > 1
    # Up to where the lines end now, then from there: a line written meanwhile is neither lost nor doubled.
    ends = log_ends(files)
    for log in files:
        tail = last_lines(log.path, lines, end=ends[log.path][1])
        if several and tail:
            click.echo(f"==> {log.process} ({log.path}) <==")
        for line in tail:
            click.echo(line)
    if not follow:
        return
    try:
        for log, line in follow_logs(files, since=ends):
            click.echo(f"{log.process}: {line}" if several else line)
    except KeyboardInterrupt:
        return


@click.command()
@click.argument("name")
@click.option("--task", "task", metavar="TASK", help="Only the runs of this task.")
@click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@host_command
def tasks(name: str, task: str | None, limit: int, home: Path | None, as_json: bool) -> None:
    """Show the last runs of the app NAME's recurring tasks, newest first.

    \b
    Example:
      pyapp tasks hello
      pyapp tasks hello --task cleanup --json
    """
    runs = [r.to_dict() for r in open_host(home).task_runs(name, task=task, limit=limit)]

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            click.echo(f"no task runs of {name} yet")
        for r in items:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started"]))
            took = f"{r['duration']:.2f} s" if r["duration"] is not None else "-"
            code = f" (exit {r['exit_code']})" if r["exit_code"] not in (None, 0) else ""
            click.echo(f"{when}  {r['task']:<20} {r['status']:<8} {took:>9}{code}")
            if r["status"] not in ("ok", "running", "skipped") and r["output"].strip():
                for line in r["output"].rstrip().splitlines()[-5:]:
                    click.echo(f"    {line}")

    emit(runs, as_json, human)


@click.command(name="export-systemd")
@click.argument("name", required=False)
@click.option(
    "--host", "whole_host", is_flag=True,
    help="The unit of the whole host instead: pyapp boot --watch at boot, pyapp shutdown at its stop.",
)  # fmt: skip
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="The directory to write the unit files to.",
)  # fmt: skip
@click.option("--user", "user", metavar="USER", help="User= of the services (system units).")
@click.option("--group", "group", metavar="GROUP", help="Group= of the services.")
@click.option("--user-units", is_flag=True, help="Units for `systemctl --user` (wanted by default.target).")
@host_command
def export_systemd(
    name: str | None, whole_host: bool, output: Path, user: str | None, group: str | None, user_units: bool,
    home: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Write systemd units that run the app NAME's processes as supervisord does here.

    One service per process and a pyapp-NAME.target that starts them all. Units
    may hold secrets in Environment= lines: they are written readable by their owner only.
    With --host instead of NAME: pyapp-host.service, which brings the whole host up at boot
    and keeps it up (pyapp boot --watch), apps under supervisord as here.

    \b
    Example:
      pyapp export-systemd hello -o /etc/systemd/system --user www-data
      pyapp export-systemd hello -o ~/.config/systemd/user --user-units
      pyapp export-systemd --host -o /etc/systemd/system && systemctl enable pyapp-host
    """
    if (name is None) == (not whole_host):
        raise click.UsageError("give the app NAME or --host (not both)")
    wanted_by = "default.target" if user_units else "multi-user.target"
    host = open_host(home)
    if name is None:
        from pyapp_runtime.boot import host_unit

        pyapp = shutil.which("pyapp") or str(Path(sys.executable).with_name("pyapp"))
        settings = host.daemons.settings
        file_name, text = host_unit(
            host.home, pyapp, settings=settings, user=user, group=group, wanted_by=wanted_by
        )
        units = {file_name: text}
    else:
        units = host.systemd_units(name, user=user, group=group, wanted_by=wanted_by)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in sorted(units.items()):
        path = output / file_name
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text, "utf-8")
        written.append(str(path))

    def human(d: dict[str, Any]) -> None:
        for file in d["files"]:
            click.echo(file)

    emit({"name": name, "files": written}, as_json, human)


def register(group: click.Group) -> None:
    """Add the process commands to the ``pyapp`` group."""
    for command in (start, stop, restart, reload, status, ps, logs, tasks, export_systemd):
        group.add_command(command)
