"""``pyapp`` commands that work with one package: init, validate, inspect, run, command (verify and keygen:
:mod:`~pyapp_tools.package.signing`).

Each command parses its input, calls the library (:mod:`apppackage` and this
package's :mod:`~pyapp_tools.package.scaffold`, :mod:`~pyapp_tools.package.inspecting`,
:mod:`~pyapp_tools.package.running`, :mod:`~pyapp_tools.package.serving`) and formats the result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from apppackage import AppPackageError

from ..commandline import emit, json_command

__all__ = ["register"]

_PATH = click.Path(exists=True, path_type=Path)


def _run_options(func: Any) -> Any:
    """--config, --set, --service, --state-dir and --find-links, shared by run and command."""
    func = click.option(
        "--find-links", "find_links", multiple=True, metavar="DIR",
        type=click.Path(exists=True, file_okay=False, resolve_path=True, path_type=Path),
        help="A folder of wheels a checkout's declared dependencies are resolved from first, offline"
        " (repeatable; PIP_FIND_LINKS too).",
    )(func)  # fmt: skip
    func = click.option(
        "--service", "services", multiple=True, metavar="NAME=VALUE",
        help="The value of a service the app declares (repeatable); a required sqlite one defaults to"
        " a file in the state dir's data/.",
    )(func)  # fmt: skip
    func = click.option(
        "--state-dir", type=click.Path(file_okay=False, path_type=Path),
        help="Where the config file, data/, tmp/ and logs/ go "
        "(default: $XDG_STATE_HOME/pyapp/run/NAME, i.e. ~/.local/state/pyapp/run/NAME).",
    )(func)  # fmt: skip
    func = click.option(
        "--set", "assignments", multiple=True, metavar="KEY=VALUE",
        help="Set one configuration field (repeatable); applied after --config.",
    )(func)  # fmt: skip
    func = click.option(
        "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A YAML file of configuration values, applied over the spec's defaults.",
    )(func)  # fmt: skip
    return func


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The application's name (default: the directory's name).")
def init(directory: Path, name: str | None) -> None:
    """Create a new application in DIRECTORY (default: .) that validates, builds and runs as is.

    It writes metadata.yaml, configuration.yaml, src/<package>/ with a WSGI app
    factory and a command, tests/test_app.py, README.md and .gitignore, and never
    overwrites a file.

    \b
    Example:
      pyapp init myapp
      pyapp run myapp
    """
    from .scaffold import scaffold

    written = scaffold(directory, name)
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"next: pyapp run {directory}", err=True)


@click.command()
@click.argument("path", type=_PATH)
@json_command
def validate(path: Path, as_json: bool) -> None:
    """Check the package or checkout at PATH and list every problem; exit 0 only when valid.

    \b
    Example:
      pyapp validate examples/hello
      pyapp validate dist/hello-1.0.0.pyapp --json
    """
    from apppackage import AppPackage

    with AppPackage(path) as package:
        problems = package.validate()
        warnings = package.warnings
        release = f"{package.name} {package.version}" if not problems else None
        if not problems and not package.is_archive and not (package.root / "RECORD").exists():
            warnings = [*warnings, *_left_out(package, as_json)]
    data = {
        "path": str(path),
        "valid": not problems,
        "release": release,
        "problems": [p.to_dict() for p in problems],
        "warnings": [w.to_dict() for w in warnings],
    }
    if as_json:
        emit(data, True)
    else:
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        if problems:
            click.echo(f"{path}: {len(problems)} problem(s):", err=True)
            for p in problems:
                click.echo(f"  {p}", err=True)
        else:
            click.echo(f"{path}: valid ({release})")
    if problems:
        sys.exit(1)


def _left_out(package: Any, every: bool) -> list[Any]:
    """What a build of the checkout *package* would leave out that its code could read."""
    from ..building.builder import package_contents
    from ..building.leftout import SHOWN, left_out

    names = package_contents(package, package.description, exclude=(package.root / "dist",))
    return left_out(
        package.root,
        names,
        exclude=(package.root / "dist",),
        limit=None if every else SHOWN,
        data=package.description.data,
    )


def _schedule(task: dict[str, Any]) -> str:
    return f"every {task['every']} s" if task["every"] else f"cron {task['cron']}"


def _print_inspection(data: dict[str, Any]) -> None:
    echo = click.echo
    echo(f"{data['name']} {data['version']}" + (f" - {data['summary']}" if data["summary"] else ""))
    echo(f"  path: {data['path']} ({data['kind']})")
    for kind in ("wsgi", "asgi"):
        app = data[kind]
        if app or (kind == "wsgi" and not data["asgi"]):
            echo(
                f"  {kind}: {app['app']}{' (factory)' if app['factory'] else ''}"
                if app
                else f"  {kind}: none"
            )
    echo(f"  signed by: {data['signer']}" if data["signer"] else "  signed by: nobody (unsigned)")
    updates = data["updates"]
    policy = updates["strategy"]
    if policy == "one-branch":
        policy += f" ({updates['branch']})"
    elif policy == "latest-tag":
        policy += f" ({updates['tag_pattern']}{', pre-releases too' if updates['prereleases'] else ''})"
    echo(f"  updates: {policy}; a new release starts {updates['start']}; data_version {data['data_version']}")
    if data["data"]:
        echo("  data files: " + ", ".join(data["data"]))

    def section(title: str, items: list[str]) -> None:
        echo(f"  {title}:" + ("" if items else " none"))
        for item in items:
            echo(f"    {item}")

    section(
        "commands",
        [f"{c['name']}: {c['call']}" + (f" - {c['help']}" if c["help"] else "") for c in data["commands"]],
    )
    section(
        "processes", [f"{p['name']}: {p['call'] or 'command ' + p['command']}" for p in data["processes"]]
    )
    section("hooks", [f"{h['name']}: {h['call']} (timeout {h['timeout']:g} s)" for h in data["hooks"]])
    section(
        "tasks",
        [f"{t['name']}: {t['call']} ({_schedule(t)})" for t in data["tasks"]],
    )
    config = data["config"]
    fields = [
        f"{f['name']} ({f['type']}"
        + (f", default {f['default']!r}" if "default" in f else "")
        + (", required" if f["required"] else "")
        + ")"
        for f in config["fields"]
    ]
    section(f"config ({config['file']}, {config['format']})", fields)
    deps = data["dependencies"]
    section(
        "dependencies",
        list(deps["packages"]) + ([f"-r {deps['requirements']}"] if deps["requirements"] else []),
    )
    section("bundled wheels", [f"{w['name']}=={w['version']} ({w['wheel']})" for w in deps["bundled"]])
    section(
        "requirements",
        [
            f"{r['kind']} {r['requirement']}: {r['satisfied']}" + (f" ({r['detail']})" if r["detail"] else "")
            for r in data["requirements"]
        ],
    )
    for w in data["warnings"]:
        click.echo(f"warning: {w}", err=True)


@click.command()
@click.argument("path", type=_PATH)
@json_command
def inspect(path: Path, as_json: bool) -> None:
    """Show what the package at PATH holds and whether this host meets its requirements.

    Name, version, summary, WSGI entry point, commands, processes, hooks, tasks,
    configuration fields, dependencies (declared and bundled wheels) and the
    requirements (python, os, deb, rpm, external), each checked here: yes, no,
    or unknown when the tool to check with is missing.

    \b
    Example:
      pyapp inspect examples/hello
      pyapp inspect dist/hello-1.0.0.pyapp --json
    """
    from apppackage import AppPackage

    from .inspecting import describe

    with AppPackage(path) as package:
        data = describe(package)
    emit(data, as_json, _print_inspection)


def _show_warnings(run: Any) -> None:
    for warning in run.warnings:
        click.echo(f"warning: {warning}", err=True)
    if run.installed is not None:
        click.echo(f"Ran the install hook of {run.release} (first run with this state dir)", err=True)
        for line in run.installed.output.splitlines():
            click.echo(f"  {line}", err=True)


@click.command()
@click.argument("path", type=_PATH)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option("--unix-socket", type=click.Path(dir_okay=False), help="Listen on this Unix socket instead.")
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 256), help="waitress threads (WSGI)."
)
@click.option("--web-only", is_flag=True, help="Run the web app only: none of its processes and tasks.")
@click.option(
    "--reload", is_flag=True,
    help="Restart the app when its code, description or configuration changes (a .pyapp: once rebuilt).",
)  # fmt: skip
@_run_options
def run(
    path: Path,
    host: str,
    port: int,
    unix_socket: str | None,
    threads: int,
    web_only: bool,
    reload: bool,
    config_file: Path | None,
    assignments: tuple[str, ...],
    services: tuple[str, ...],
    state_dir: Path | None,
    find_links: tuple[Path, ...],
) -> None:
    """Run the whole app of PATH (a checkout or a .pyapp) as a host would, until Ctrl-C.

    Its WSGI app is served with waitress (an ASGI app with uvicorn), each of its processes runs (each copy
    of it), and its tasks run on their schedules; each program's output comes
    prefixed with its name (web, worker.1, tasks). A program that exits stops
    the others; Ctrl-C or SIGTERM stops them all. --reload restarts them when a
    file of the app changes. Each runs in its own process with the environment
    a host gives it (PYAPP_* variables, an isolated sys.path, PYAPP_CONFIG_FILE
    filled from the spec's defaults, then --config, then --set; secrets
    generated once).

    A checkout runs in place with an environment of its own holding its declared
    dependencies only, as its package will: an undeclared import fails, naming
    the distribution to declare. The environment is cached in
    $XDG_CACHE_HOME/pyapp/envs/ (default ~/.cache) by the resolved set; a new
    declaration is resolved once with pip, as wheels, first offline from
    --find-links, PIP_FIND_LINKS, the checkout's deps/ and dist/ packages and
    pyapp's wheel cache. A .pyapp is extracted to $XDG_CACHE_HOME/pyapp/run/<sha256>/
    with its deps/ wheels installed there, offline; that cache keeps the 5 most
    recently used packages.

    The first run (or command) with a state dir runs the app's install hook; the
    file `installed` in the state dir records it (delete it to run the hook again).

    \b
    Examples:
      pyapp run examples/worker
      pyapp run . --reload --web-only
      pyapp run dist/hello-1.0.0.pyapp --port 0 --set greeting=Hi
      pyapp run . --config local.yaml --state-dir ./state --find-links ~/wheels
      pyapp run . --service db=postgresql://me:PASSWORD@127.0.0.1:5432/blog
    """
    import socket

    from . import quickstart
    from .apprun import Hooks, run_app
    from .ensemble import Parts
    from .running import LocalRun, local_run
    from .serving import listen

    class Report(Hooks):
        def prepared(self, run: LocalRun) -> None:
            _show_warnings(run)
            click.echo(f"Starting {run.release} (state in {run.host.data_path.parent})", err=True)

        def ready(self, run: LocalRun, url: str | None, names: list[str]) -> None:
            others = [n for n in names if n != "web"]
            if url is None:
                click.echo(f"Running {run.release}: {', '.join(others)}")
            else:
                where = f"on unix socket {url[5:]}" if url.startswith("unix:") else f"on {url}"
                click.echo(f"Serving {run.release} {where}")
                if others:
                    click.echo(f"Running beside it: {', '.join(others)}", err=True)
            sys.stdout.flush()

        def event(self, message: str) -> None:
            click.echo(message, err=True)

    def prepare() -> Any:
        return local_run(
            path, state_dir=state_dir, config_file=config_file, assignments=assignments, services=services,
            find_links=find_links, on_step=lambda line: click.echo(line, err=True),
        )  # fmt: skip

    early = quickstart.session()

    def bind() -> socket.socket:
        # The socket of a web app started early, when it listens where this run would.
        sock = early.socket_for(host, port) if early is not None and not unix_socket and not reload else None
        return sock or listen(host, port, unix_socket)

    code = run_app(
        path, prepare, sys.stdout, bind=bind, threads=threads,
        parts=Parts(processes=not web_only, tasks=not web_only), reload=reload,
        watch=[config_file] if config_file else [], hooks=Report(), early=early,
    )  # fmt: skip
    sys.exit(code)


def _complete_command_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from apppackage import AppPackage

    path = ctx.params.get("path")
    if path is None:
        return []
    try:
        with AppPackage(path) as package:
            names = [c.name for c in package.description.commands]
    except (AppPackageError, OSError):
        return []
    return [n for n in names if n.startswith(incomplete)]


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_run_options
@click.argument("path", type=_PATH)
@click.argument("name", shell_complete=_complete_command_names)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(
    path: Path,
    name: str,
    args: tuple[str, ...],
    config_file: Path | None,
    assignments: tuple[str, ...],
    services: tuple[str, ...],
    state_dir: Path | None,
    find_links: tuple[Path, ...],
) -> None:
    """Run the app's command NAME with ARGS in the same environment as `pyapp run`.

    Its exit status passes through; stdin and stdout are the terminal's. Options
    go before PATH: everything after NAME is the command's.

    \b
    Examples:
      pyapp command examples/hello greet Ada Grace
      pyapp command --set greeting=Hi dist/hello-1.0.0.pyapp greet Ada
    """
    from .running import local_run
    from .serving import run_command

    with local_run(
        path, state_dir=state_dir, config_file=config_file, assignments=assignments, services=services,
        find_links=find_links, on_step=lambda line: click.echo(line, err=True),
    ) as prepared:  # fmt: skip
        _show_warnings(prepared)
        code = run_command(prepared, name, args)
    sys.exit(code)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``pyapp`` group."""
    for cmd in (init, validate, inspect, run, command):
        group.add_command(cmd)
