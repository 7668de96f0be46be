"""``AppPackage``: one application package, a directory or a ``.pyapp`` zip (spec sections 2-6)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._names import METADATA, PYPROJECT, RECORD, RECORD_SIG
from .configspec import ConfigSpec
from .description import HOOK_NAMES, Description
from .environment import Environment, HostPaths, applied, build_environment
from .errors import (
    AppPackageError,
    IntegrityError,
    InvalidConfiguration,
    InvalidDescription,
    InvalidPackage,
    LoadError,
    Problem,
    pointer,
)
from .sources import ArchiveSource, DirectorySource, Source, open_source

# What only reading an unchecked package, a zip, integrity or running code needs is imported
# where it is used: a host loading a package it checked before (AppPackage.trusted) imports
# neither YAML, JSON Schema, zipfile nor subprocess (spec section 5's start-up stays cheap).
if TYPE_CHECKING:
    from .archive import Limits
    from .hooks import Launcher, RunResult
    from .loader import ASGIApp, WSGIApp

__all__ = ["METADATA", "PYPROJECT", "AppPackage"]


class AppPackage:
    """An application package (section 2): read, validated, and run on a host.

    Opening checks only that *path* is a package (and, for a zip, that its entries
    are safe); :meth:`validate` lists every problem, and :attr:`description` raises
    :class:`InvalidDescription` with all of them.
    """

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.source: Source = open_source(self.path, limits)
        self.limits = limits
        if not self.source.exists(METADATA):
            self.source.close()
            raise AppPackageError(f"{self.path}: not a package: there is no {METADATA} at its root")

    @classmethod
    def trusted(
        cls,
        path: str | os.PathLike[str],
        description: Mapping[str, Any],
        config_spec: Mapping[str, Any] | None,
        *,
        limits: Limits | None = None,
    ) -> AppPackage:
        """The package at *path* with a description and configuration spec checked before.

        *description* is the clean document :func:`check_description` accepted and
        *config_spec* the raw spec (``None`` when there is none), e.g. as a host stored
        them when it first checked the package: neither is read nor checked again, so
        no YAML or JSON Schema library is loaded.
        """
        package = cls(path, limits=limits)
        package.__dict__["_checked"] = ([], [], dict(description))
        package.__dict__["_config_checked"] = None if config_spec is None else ([], [], dict(config_spec))
        package.__dict__["description"] = Description.from_checked(description)
        package.__dict__["config_spec"] = (
            ConfigSpec()
            if config_spec is None
            else ConfigSpec.from_checked(config_spec, package.description.config_file)
        )
        return package

    def __repr__(self) -> str:
        return f"AppPackage({os.fspath(self.path)!r})"

    def __enter__(self) -> AppPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.source.close()

    @property
    def is_archive(self) -> bool:
        return isinstance(self.source, ArchiveSource)

    @property
    def root(self) -> Path:
        """The directory (or zip file) the package's relative paths start from."""
        return self.source.location

    # -- reading --------------------------------------------------------------

    def read_bytes(self, name: str) -> bytes:
        return self.source.read_bytes(name)

    def files(self) -> list[str]:
        """Every file of the package, sorted (a checkout leaves out VCS dirs and caches)."""
        return self.source.names()

    @cached_property
    def _checked(self) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
        from .safeyaml import load_yaml

        try:
            raw = load_yaml(self.source.read_bytes(METADATA), METADATA)
        except InvalidPackage as exc:
            return list(exc.problems), [], {}
        if isinstance(raw, dict) and isinstance(self.source, DirectorySource):
            from .checkout import check_checkout

            # A directory may be a source checkout; a built package's metadata.yaml is complete (section 2.5).
            return check_checkout(raw, self.source.location, METADATA)
        from .checks import check_description

        return check_description(raw, METADATA)

    @property
    def warnings(self) -> list[Problem]:
        """Keys ignored because a document declares a newer minor version of the spec (section 3.1).

        The description's first, then, once the description is valid, the configuration spec's.
        """
        errors, warnings, _ = self._checked
        if errors or self._config_checked is None:
            return list(warnings)
        return [*warnings, *self._config_checked[1]]

    @cached_property
    def description(self) -> Description:
        """The description (section 3); raises :class:`InvalidDescription` listing every problem."""
        problems, _, clean = self._checked
        if problems:
            raise InvalidDescription(problems, f"{self.path}: {METADATA} is not valid:")
        return Description.from_checked(clean)

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def version(self) -> str:
        return self.description.version

    @cached_property
    def _config_checked(self) -> tuple[list[Problem], list[Problem], dict[str, Any]] | None:
        """The configuration spec checked (errors, warnings, clean); ``None`` when there is none.

        It is read by its own ``pyapp``, or by the description's when it gives none (section 4).
        """
        from .configspec import check_configuration
        from .safeyaml import load_yaml

        file = self.description.config_file
        if not self._is_file(file):
            return None
        try:
            raw = load_yaml(self.source.read_bytes(file), file)
        except InvalidPackage as exc:
            return list(exc.problems), [], {}
        return check_configuration(raw, file, default_version=self.description.pyapp)

    @cached_property
    def config_spec(self) -> ConfigSpec:
        """The configuration spec (section 4); an app without one has no fields."""
        file = self.description.config_file
        checked = self._config_checked
        if checked is None:
            if self.description.config is not None or self.source.exists(file):
                raise InvalidPackage([self._missing(file, "config")])
            return ConfigSpec()
        errors, _, clean = checked
        if errors:
            raise InvalidConfiguration(errors, f"{file} is not a valid configuration spec:")
        return ConfigSpec.from_checked(clean, file)

    def validate(self) -> list[Problem]:
        """Every problem with the package, not only the first (sections 2-4)."""
        problems = self._checked[0]
        if problems:
            return list(problems)
        description = self.description
        problems = self._layout_problems(description)
        if self._config_checked is not None:
            problems += self._config_checked[0]
        if self._is_file(RECORD):
            from .record import parse_record

            _, record_problems = parse_record(self.source.read_bytes(RECORD).decode("utf-8", "replace"))
            problems += record_problems
        return problems

    def _is_file(self, name: str) -> bool:
        return self.source.exists(name) and not self.source.is_dir(name)

    def _missing(self, what: str, *parts: object, directory: bool = False) -> Problem:
        if directory:
            hint = " (expected a directory)"
        else:
            hint = " (expected a file, found a directory)" if self.source.is_dir(what) else ""
        return Problem(
            file=METADATA, path=pointer(*parts), message=f"{what} does not exist in the package{hint}"
        )

    def _layout_problems(self, d: Description) -> list[Problem]:
        problems = []
        for i, p in enumerate(d.paths):
            if not self.source.is_dir(p):
                problems.append(self._missing(p, "paths", i, directory=True))
        config = d.config_file
        if (d.config is not None or self.source.exists(config)) and not self._is_file(config):
            problems.append(self._missing(config, "config"))
        requirements = d.dependencies.requirements
        if requirements and not self._is_file(requirements):
            problems.append(self._missing(requirements, "dependencies", "requirements"))
        for s in d.static:
            if not self.source.is_dir(s.dir):
                problems.append(self._missing(s.dir, "static", s.url, directory=True))
        return problems

    def check(self) -> Description:
        """Raise :class:`InvalidPackage` listing every problem; return the description when valid."""
        problems = self.validate()
        if problems:
            raise InvalidPackage(problems, f"{self.path} is not a valid package:")
        return self.description

    # -- integrity ------------------------------------------------------------

    def verify(self, *, signer: str | None = None) -> list[Problem]:
        """Check every file against ``RECORD`` (section 2.3), and ``RECORD.sig`` against RECORD when the
        package is signed (section 2.6); name each mismatch.

        With *signer* (a key's fingerprint), a package that this key did not sign is a problem too.
        """
        if not self._is_file(RECORD):
            return [Problem(file=RECORD, path="", message="is missing: build the package to create it")]
        from .record import hash_bytes, parse_record, verify_files

        record, problems = parse_record(self.source.read_bytes(RECORD).decode("utf-8", "replace"))
        actual = {}
        for name in self.files():
            if name in (RECORD, RECORD_SIG):
                continue
            data = self.source.read_bytes(name)
            actual[name] = (hash_bytes(data), len(data))
        problems += verify_files(record, actual)
        try:
            found = self.signer()
        except IntegrityError as exc:
            return problems + list(exc.problems)
        if signer is not None and found != signer:
            what = f"is signed by {found}" if found else "is missing: the package is not signed"
            message = f"{what}, not by the expected key {signer}"
            problems.append(Problem(file=RECORD_SIG, path="", message=message))
        return problems

    def signer(self) -> str | None:
        """The fingerprint (``SHA256:...``) of the key that signed ``RECORD``, ``None`` when the package is
        not signed (section 2.6).

        Raises :class:`IntegrityError` when ``RECORD.sig`` is malformed or does not match ``RECORD``. Only
        RECORD is checked here: :meth:`verify` checks the files against it.
        """
        if not self._is_file(RECORD_SIG):
            return None
        if not self._is_file(RECORD):
            problem = Problem(file=RECORD, path="", message=f"is missing, and {RECORD_SIG} signs it")
            raise IntegrityError([problem], f"{self.path}: its signature does not verify:")
        from .signing import verify_signature

        return verify_signature(self.read_bytes(RECORD), self.read_bytes(RECORD_SIG), label=str(self.path))

    def check_integrity(self) -> None:
        """Raise :class:`IntegrityError` when :meth:`verify` finds anything."""
        problems = self.verify()
        if problems:
            raise IntegrityError(problems, f"{self.path} does not match its RECORD:")

    def extract(self, target: str | os.PathLike[str]) -> AppPackage:
        """Extract a ``.pyapp`` safely into *target* and return it as a directory package."""
        if not isinstance(self.source, ArchiveSource):
            raise AppPackageError(f"{self.path} is a directory, not an archive")
        from .archive import extract

        extract(self.source.zip, target, self.limits)
        return AppPackage(target, limits=self.limits)

    # -- environment ----------------------------------------------------------

    def host_paths(self, state: str | os.PathLike[str], **kwargs: Any) -> HostPaths:
        """Host paths for a local run with its state (data, tmp, logs, config) under *state*.

        The root is a directory (section 5.1): a directory package's own, a ``.pyapp`` extracted
        to ``<state>/package`` (replacing an earlier extraction there).
        """
        return HostPaths.under(self._directory(Path(state) / "package"), state, **kwargs)

    def _directory(self, target: Path) -> Path:
        """The package's root as a directory: its own, or a ``.pyapp`` extracted (safely) into *target*."""
        if not isinstance(self.source, ArchiveSource):
            return self.root
        import shutil

        from .archive import extract

        if target.exists():
            shutil.rmtree(target)
        extract(self.source.zip, target, self.limits)
        return target

    def environment(self, host: HostPaths, **kwargs: Any) -> Environment:
        """The ``sys.path`` and variables of section 5 for *host* (see :func:`build_environment`)."""
        return build_environment(self.description, host, **kwargs)

    @contextmanager
    def activate(
        self,
        host: HostPaths | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        isolated: bool = True,
        **kwargs: Any,
    ) -> Iterator[Environment]:
        """Apply the environment to this process for the ``with`` block, then restore everything.

        Without *host*, data, tmp, logs and the configuration file go to a temporary directory
        removed afterwards, and a ``.pyapp`` is extracted there: ``PYAPP_ROOT`` is always a
        directory. *config* is the filled-in configuration (section 4.3) :meth:`wsgi_app` and
        :meth:`asgi_app` give a factory and, without *host*, the file holds; by default the spec's
        defaults (without *host*, with its secrets generated).
        """
        values = dict(config) if config is not None else None
        temp = None
        if host is None:
            import tempfile

            temp = tempfile.mkdtemp(prefix=f"pyapp-{self.name}-")
        try:
            if temp is not None:
                spec = self.config_spec
                values = values if values is not None else spec.fill(generate_secrets=True)
                config_file = Path(temp) / f"config.{spec.format}"
                config_file.write_text(spec.render(values), encoding="utf-8")
                config_file.chmod(0o600)
                host = self.host_paths(temp, config_file=config_file)
            assert host is not None
            env = self.environment(host, **kwargs)
            host.create_dirs(self.description)
            self._active_configs.append(values)
            try:
                with applied(env, isolated=isolated):
                    yield env
            finally:
                self._active_configs.pop()
        finally:
            if temp is not None:
                import shutil

                shutil.rmtree(temp, ignore_errors=True)

    @cached_property
    def _active_configs(self) -> list[dict[str, Any] | None]:
        """The configuration of each :meth:`activate` block this package is in, the innermost last
        (``None``: the spec's defaults)."""
        return []

    def load_object(self, ref: str) -> Any:
        """Import *ref* from the current ``sys.path`` (use inside :meth:`activate`)."""
        from .loader import load_object

        return load_object(ref)

    def wsgi_app(self, config: Mapping[str, Any] | None = None) -> WSGIApp:
        """The WSGI application of section 3.6 (use inside :meth:`activate`).

        A factory is called with *config*; by default with the filled-in configuration of the
        :meth:`activate` block (section 6.6), outside one with the spec's defaults.
        """
        wsgi = self.description.wsgi
        if wsgi is None:
            instead = ": it declares an ASGI one, use asgi_app()" if self.description.asgi else ""
            raise LoadError(
                "wsgi.app", f"{self.name} declares no WSGI application (no /wsgi in {METADATA}){instead}"
            )
        from .loader import load_wsgi_app

        return load_wsgi_app(wsgi.app, wsgi.factory, self._factory_config(wsgi.factory, config))

    def asgi_app(self, config: Mapping[str, Any] | None = None) -> ASGIApp:
        """The ASGI application of section 3.16 (use inside :meth:`activate`).

        A factory is called with *config*; by default with the filled-in configuration of the
        :meth:`activate` block (section 6.7), outside one with the spec's defaults.
        """
        asgi = self.description.asgi
        if asgi is None:
            instead = ": it declares a WSGI one, use wsgi_app()" if self.description.wsgi else ""
            raise LoadError(
                "asgi.app", f"{self.name} declares no ASGI application (no /asgi in {METADATA}){instead}"
            )
        from .loader import load_asgi_app

        return load_asgi_app(asgi.app, asgi.factory, self._factory_config(asgi.factory, config))

    def _factory_config(self, factory: bool, config: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """What a factory is called with: *config*, else the :meth:`activate` block's, else the defaults."""
        if config is not None or not factory:
            return config
        active = self._active_configs[-1] if self._active_configs else None
        return active if active is not None else self.config_spec.fill()

    # -- running the application's code ---------------------------------------

    def _release(self) -> str:
        return f"{self.name} {self.version}"

    def run_command(
        self,
        name: str,
        argv: Sequence[str] = (),
        host: HostPaths | None = None,
        *,
        env: Environment | None = None,
        timeout: float | None = None,
        capture: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        launcher: Launcher | None = None,
    ) -> RunResult:
        """Run the command *name* with *argv* in a new process (section 6.2); its exit code is returned.

        *launcher* says as whom and in what the process starts (:class:`~apppackage.hooks.Launcher`).
        """
        command = self.description.command(name)
        if command is None:
            known = ", ".join(c.name for c in self.description.commands) or "none"
            raise AppPackageError(f"{self.name} has no command {name!r} (commands: {known})")
        environment = self._env_for(host, env)
        from .hooks import run_callable

        return run_callable(
            environment, kind="command", ref=command.call, argument=list(argv), name=name,
            timeout=timeout, capture=capture, cwd=cwd, launcher=launcher,
        )  # fmt: skip

    def hook_context(
        self,
        hook: str,
        host: HostPaths,
        *,
        config: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The one argument a hook or task receives (section 6.3)."""
        context: dict[str, Any] = {
            "hook": hook,
            "name": self.name,
            "version": self.version,
            "root": str(host.root),
            "config": dict(config or {}),
            "data_path": str(host.data_path),
            "tmp_path": str(host.tmp_path),
            "log_path": str(host.log_path),
            "writable": {w: str(host.writable_path(w)) for w in self.description.writable},
            "from_version": None,
            "to_version": None,
            "backup_path": None,
        }
        context.update(extra)
        return context

    def run_hook(
        self,
        name: str,
        host: HostPaths,
        *,
        config: Mapping[str, Any] | None = None,
        env: Environment | None = None,
        timeout: float | None = None,
        launcher: Launcher | None = None,
        **context: Any,
    ) -> RunResult | None:
        """Run the hook *name* if the package declares it (section 6.3); ``None`` when it does not.

        Raises :class:`HookFailed` when the hook raises, returns ``False``, exits non-zero
        or runs past its timeout; the error carries its output.
        """
        if name not in HOOK_NAMES:
            raise AppPackageError(f"{name!r} is not a hook (hooks: {', '.join(HOOK_NAMES)})")
        hook = self.description.hook(name)
        if hook is None:
            return None
        argument = self.hook_context(name, host, config=config, **context)
        limit = timeout if timeout is not None else hook.timeout
        return self._run_in_data_path("hook", name, hook.call, argument, host, env, limit, launcher)

    def run_task(
        self,
        name: str,
        host: HostPaths,
        *,
        config: Mapping[str, Any] | None = None,
        env: Environment | None = None,
        timeout: float | None = None,
        launcher: Launcher | None = None,
    ) -> RunResult:
        """Run the task *name* once (section 6.4); raise :class:`HookFailed` when it fails."""
        task = self.description.task(name)
        if task is None:
            known = ", ".join(t.name for t in self.description.tasks) or "none"
            raise AppPackageError(f"{self.name} has no task {name!r} (tasks: {known})")
        context = self.hook_context(name, host, config=config)
        context["task"] = context.pop("hook")
        limit = timeout if timeout is not None else task.timeout
        return self._run_in_data_path("task", name, task.call, context, host, env, limit, launcher)

    def _run_in_data_path(
        self,
        kind: str,
        name: str,
        ref: str,
        context: dict[str, Any],
        host: HostPaths,
        env: Environment | None,
        timeout: float,
        launcher: Launcher | None = None,
    ) -> RunResult:
        """Run a hook or task (sections 6.3, 6.4) in the data path; raise :class:`HookFailed` on failure."""
        from .hooks import raise_for_result, run_callable

        result = run_callable(
            self._env_for(host, env), kind=kind, ref=ref, argument=context,
            name=name, timeout=timeout, cwd=host.data_path, launcher=launcher,
        )  # fmt: skip
        label = name if kind == "hook" else f"task {name}"
        raise_for_result(result, hook=label, release=self._release(), timeout=timeout)
        return result

    def _env_for(self, host: HostPaths | None, env: Environment | None = None) -> Environment:
        # The directories are created whenever the host is known, also for a given environment:
        # a hook runs in data_path, and TMPDIR must exist.
        if host is not None:
            host.create_dirs(self.description)
        if env is not None:
            return env
        if host is None:
            raise AppPackageError("running the application's code needs host paths (see host_paths())")
        return self.environment(host)
