"""Running an application locally, from a checkout or a ``.pyapp`` (``pyapp run`` / ``pyapp command``).

Every run gets the full environment of spec section 5, in a separate process
started through ``apppackage``'s bootstrap (``python -s -S``):

- a ``.pyapp`` runs from the run cache (:mod:`pyapp_tools.package.runcache`): extracted,
  its ``deps/`` wheels installed into its own site-packages, no pip, no network;
- a checkout runs in place, with an environment of its own built from the dependencies
  it declares and nothing else (:mod:`pyapp_tools.package.devenv`): what runs from a
  checkout runs the same once built and installed; an import of a distribution it did
  not declare fails, naming it;
- configuration is the spec's defaults, then ``--config FILE`` (YAML), then
  ``--set key=value``, validated, with missing secrets generated once and kept;
  the filled-in file (in the spec's format) is ``PYAPP_CONFIG_FILE``;
- services (spec section 3.9) get the values given with ``--service NAME=VALUE``;
  a required ``sqlite`` service without one gets a file in the run's ``data/``, and
  any other required service without one refuses the run, naming it;
- state (the config file, ``data/`` with the writable dirs, ``tmp/``, ``logs/``)
  lives in a state dir, by default ``$XDG_STATE_HOME/pyapp/run/<name>``
  (``~/.local/state/pyapp/run/<name>``), shared by a checkout and its packages;
- the first run with a state dir runs the app's ``install`` hook, as a host does
  when it installs the app (its data exists before anything else runs); the file
  ``installed`` in the state dir records it (delete it to run the hook again).
"""

from __future__ import annotations

import fcntl
import os
import sysconfig
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apppackage import AppPackage, AppPackageError, ConfigSpec, HostPaths, InvalidConfiguration, Problem
from apppackage.checkout import CHECKOUT_FILES
from apppackage.description import Description
from apppackage.files import write_atomic
from apppackage.hooks import RunResult
from apppackage.package import METADATA
from apppackage.safeyaml import dump_yaml, load_yaml

from . import runcache
from .quickstart import stamps

__all__ = [
    "LocalRun",
    "fill_config",
    "install_once",
    "local_run",
    "local_services",
    "state_root",
    "tool_site_packages",
]

SECRETS_FILE = "secrets.yaml"
INSTALLED_FILE = "installed"


def state_root() -> Path:
    """``$XDG_STATE_HOME/pyapp/run`` (default ``~/.local/state/pyapp/run``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "pyapp" / "run"


def tool_site_packages() -> tuple[Path, ...]:
    """The site-packages of the environment the tools run in, with plain-path ``.pth`` entries.

    Never on a checkout's ``sys.path``: its processes look there only to name the distribution
    of a module the app imports without declaring it (:attr:`HostPaths.surrounding`).
    """
    paths = sysconfig.get_paths()
    out: list[Path] = []
    for key in ("purelib", "platlib"):
        p = Path(paths[key])
        if p.is_dir() and p not in out:
            out.append(p)
    # -S starts the app without the site module, so .pth files are not read: add their
    # directory lines here (an editable install of a dependency, for instance).
    for site in list(out):
        for pth in sorted(site.glob("*.pth")):
            for line in pth.read_text("utf-8", "replace").splitlines():
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                entry = (site / line).resolve()
                if entry.is_dir() and entry not in out:
                    out.append(entry)
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class LocalRun:
    """A package ready to run here: its host paths, filled-in configuration and warnings.

    *installed* is the result of the ``install`` hook when this run ran it (see :func:`install_once`);
    *services* the values of the app's services by name (section 3.9). *inputs* are the stamps of the
    files the preparation read (:func:`~pyapp_tools.package.quickstart.stamps`): while none of them
    changes, a run prepared the same way starts the same programs; ``None`` when that cannot be told from
    files (the app requires something of the host besides Python, which may come or go).
    """

    package: AppPackage
    host: HostPaths
    config: dict[str, Any]
    source: str
    warnings: tuple[str, ...] = field(default=())
    installed: RunResult | None = None
    services: Mapping[str, str] = field(default_factory=dict)
    inputs: list[list[Any]] | None = None

    @property
    def release(self) -> str:
        return f"{self.package.name} {self.package.version}"


def _source_of(problem: Problem, sources: dict[str, str], default: str) -> Problem:
    key = problem.path.split("/")[1].replace("~1", "/").replace("~0", "~") if problem.path else ""
    return Problem(file=sources.get(key, default), path=problem.path, message=problem.message)


def fill_config(
    spec: ConfigSpec,
    *,
    config_file: Path | None = None,
    assignments: Sequence[str] = (),
    secrets_file: Path | None = None,
) -> dict[str, Any]:
    """Defaults, then *config_file* (YAML), then ``key=value`` *assignments*; validated (section 4.3).

    Secrets without a value are generated and kept in *secrets_file*, so that they
    stay the same from one run to the next (section 4.5). Raises
    :class:`InvalidConfiguration` naming, for each problem, where the value came from
    and the field.
    """
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            text = config_file.read_text("utf-8")
        except OSError as exc:
            raise AppPackageError(f"--config {config_file}: cannot read it ({exc.strerror})") from None
        values.update(spec.parse_file(text, str(config_file)))
        sources.update(dict.fromkeys(values, str(config_file)))
    given = spec.parse_assignments(assignments)
    values.update(given)
    sources.update(dict.fromkeys(given, "--set"))
    filled = spec.fill(values)
    missing = [f for f in spec.fields if f.secret and f.generate and filled.get(f.name) is None]
    if missing:
        stored: dict[str, Any] = {}
        if secrets_file is not None and secrets_file.is_file():
            data = load_yaml(secrets_file.read_bytes(), str(secrets_file))
            stored = data if isinstance(data, dict) else {}
        generated = spec.fill({f.name: stored.get(f.name) for f in missing}, generate_secrets=True)
        for f in missing:
            filled[f.name] = generated[f.name]
        if secrets_file is not None and any(stored.get(f.name) != filled[f.name] for f in missing):
            stored.update({f.name: filled[f.name] for f in missing})
            write_atomic(secrets_file, dump_yaml(stored))
    problems = spec.validate(filled, spec.file)
    if problems:
        raise InvalidConfiguration(
            [_source_of(p, sources, spec.file) for p in problems],
            "the configuration is not valid (defaults, then --config, then --set):",
        )
    return filled


def local_services(description: Description, given: Sequence[str], data_path: Path) -> dict[str, str]:
    """The values of *description*'s services for a local run: *given* ``NAME=VALUE`` texts, checked.

    A required ``sqlite`` service without a value gets ``<data_path>/<name>.sqlite3``;
    any other required one refuses the run (:class:`pyapp_runtime.errors.BadServices`).
    """
    from pyapp_runtime.appconfig.services import resolve

    resolved = resolve(
        description.services, None, given, app=description.name, data_path=data_path,
        what=f"{description.name} {description.version}", hint="give it with --service NAME=VALUE",
        file="--service",
    )  # fmt: skip
    return dict(resolved.values)


def install_once(
    package: AppPackage,
    host: HostPaths,
    config: dict[str, Any],
    state: Path,
    services: Mapping[str, str] | None = None,
) -> RunResult | None:
    """Run the ``install`` hook if the state dir *state* has not been installed yet (section 7.2).

    Returns the hook's result when it ran now, ``None`` when the package declares no
    ``install`` hook or *state* was installed before. A failing hook raises
    :class:`apppackage.HookFailed` and leaves *state* not installed: the next run tries again.
    """
    if package.description.hook("install") is None:
        return None
    marker = state / INSTALLED_FILE
    # One hook at a time (section 6.3), also when two runs start together with this state dir.
    with open(state / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return None
        env = package.environment(host, services=services)
        result = package.run_hook("install", host, config=config, env=env, to_version=package.version)
        marker.write_text(f"{package.name} {package.version}\n", encoding="utf-8")
    return result


@contextmanager
def local_run(
    path: str | os.PathLike[str],
    *,
    state_dir: Path | None = None,
    config_file: Path | None = None,
    assignments: Sequence[str] = (),
    services: Sequence[str] = (),
    cache_dir: Path | None = None,
    find_links: Sequence[Path] = (),
    on_step: Callable[[str], None] | None = None,
) -> Iterator[LocalRun]:
    """Prepare the package at *path* to run here; hold what it needs for the ``with`` block.

    For a ``.pyapp``, :attr:`LocalRun.package` is its extracted copy in the run cache,
    checked once when the cache entry was prepared. The first
    run with a state dir runs the ``install`` hook (:func:`install_once`). *services*
    are ``NAME=VALUE`` values of the app's services (:func:`local_services`).

    A checkout gets the environment of its declared dependencies
    (:func:`pyapp_tools.package.devenv.prepared`: cached, resolved once, first from the wheel
    folders *find_links*); *on_step* gets a line for each step of a resolution.
    """
    with ExitStack() as stack:
        if Path(path).is_file():
            # A .pyapp is checked (RECORD, description, spec) once, when its cache entry is prepared.
            cached = stack.enter_context(runcache.prepared(path, cache_dir))
            package = stack.enter_context(cached.package())
            description = package.description
            root = cached.root
            site: tuple[Path, ...] = (cached.site_packages,)
            server: tuple[Path, ...] = (
                runcache.server_packages(cached.entry, asgi=description.asgi is not None),
            )
            surrounding: tuple[Path, ...] = ()
            source = f"{path} (from {cached.entry})"
            read: list[Path] = [Path(path).resolve(), cached.entry / runcache.CHECKED]
        else:
            from . import devenv  # a checkout's environment: the resolver only for checkouts

            package = stack.enter_context(AppPackage(path))
            description = package.check()
            root = package.root
            env = stack.enter_context(
                devenv.prepared(root, description, find_links=find_links, on_step=on_step)
            )
            site = env.site_packages
            server = (devenv.server_packages(asgi=description.asgi is not None),)
            surrounding = tool_site_packages()
            source = str(package.path)
            read = [root / name for name in (METADATA, *CHECKOUT_FILES)]
            read += [root / description.config_file, *site]
            if description.dependencies.requirements:
                read.append(root / description.dependencies.requirements)
        warnings: list[str] = []
        spec = package.config_spec
        state = state_dir or state_root() / description.name
        state.mkdir(parents=True, exist_ok=True)
        config = fill_config(
            spec, config_file=config_file, assignments=assignments, secrets_file=state / SECRETS_FILE
        )
        config_path = state / ("config.ini" if spec.format == "ini" else "config.yaml")
        host = HostPaths.under(
            root.resolve(),
            state.resolve(),
            config_file=config_path.resolve(),
            site_packages=site,
            server_packages=server,
            surrounding=surrounding,
        )
        values = local_services(description, services, host.data_path)
        host.create_dirs(description)
        write_atomic(config_path, spec.render(config))
        installed = install_once(package, host, config, state, values)
        from pyapp_runtime.dependencies.requirements import check_each

        warnings += [
            f"requires {c.kind} {c.requirement}: not satisfied here ({c.detail})"
            for c in check_each(description.requires)
            if c.satisfied == "no"
        ]
        warnings += [str(w) for w in package.warnings]
        read += [state / SECRETS_FILE, state / INSTALLED_FILE, *([config_file] if config_file else [])]
        needs_host = description.requires.to_dict().keys() - {"python"}
        yield LocalRun(
            package=package,
            host=host,
            config=config,
            source=source,
            warnings=tuple(warnings),
            installed=installed,
            services=values,
            inputs=None if needs_host else stamps(p.resolve() for p in read),
        )
