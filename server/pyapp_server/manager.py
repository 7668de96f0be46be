"""What the server does to apps, on top of :class:`pyapp_runtime.Host`: one place for the JSON API,
XML-RPC and the drop folder.

Reads and configuration changes are immediate; install, update, rollback, remove and
backup become jobs (:mod:`pyapp_server.jobs`). Everything a job does is the runtime's:
this module checks what can be checked before queueing (the package is valid, the app
exists, no other job works on it), then calls the ``Host`` method and records an event.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import AppPackageError, InvalidPackage

from .configcheck import app_spec, check_values, preview, unmasked
from .errors import ApiError, NotSupported
from .events import EventLog
from .jobs import Job, JobContext, JobManager
from .refusals import Edge, install_refusal, rollback_refusal

if TYPE_CHECKING:
    from pyapp_runtime import Host
    from pyapp_runtime.processes.runstate import DaemonStatus
    from pyapp_runtime.web.hostweb import HostWeb

__all__ = ["PROCESS_ACTIONS", "AppManager", "PackageFacts"]

PROCESS_ACTIONS = ("start", "stop", "restart", "reload")
JOB_LOCK_WAIT = 60.0
"""How long a job waits for the app's lock: a restart or a configuration change holding it ends first
(a request that finds the lock held answers 409 at once; a job has time)."""
_PAST = {"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}


@dataclass(frozen=True, kw_only=True)
class PackageFacts:
    """What a package says it is, read before any job is queued."""

    path: Path
    name: str
    version: str
    services: tuple[Any, ...] = ()
    """The services the description declares (``apppackage.description.Service``)."""
    signer: str | None = None
    """The fingerprint of the key that signed it (spec section 2.6); ``None``: unsigned."""
    data_version: int = 0
    """The data version its code keeps the app's data in (spec section 3.19)."""


def _summary(kind: str) -> Callable[[dict[str, Any]], str]:
    def describe(result: dict[str, Any]) -> str:
        name, version = result.get("name", "?"), result.get("version")
        if kind in ("install", "update"):
            action = result.get("action", kind)
            before = result.get("previous_version")
            if action == "unchanged":
                return f"{name} {version} is installed already (unchanged)"
            return f"{name} {version} {action}" + (f" (was {before})" if before and before != version else "")
        if kind == "rollback":
            return f"{name} rolled back from {result.get('from_version')} to {version}"
        if kind == "remove":
            kept = " (data kept)" if result.get("kept") else ""
            return f"{name} {version or ''} removed{kept}".replace("  ", " ")
        if kind == "backup":
            return f"{name} {version} backed up to {Path(str(result.get('archive', ''))).name}"
        return f"{kind} of {name} succeeded"

    return describe


class AppManager:
    """The apps under *home* (the runtime's ``PYAPP_HOME``), driven through *jobs*, recorded in *events*."""

    def __init__(self, home: Path, jobs: JobManager, events: EventLog) -> None:
        self.home = home
        self.jobs = jobs
        self.events = events
        self.health: Mapping[str, dict[str, Any]] = {}
        """The last health check of each app that serves (:func:`pyapp_server.health.check_health`, made
        by the host's watcher); replaced as a whole after each round."""

    def host(self, progress: Callable[[str], None] | None = None) -> Host:
        from pyapp_runtime import Host

        return Host(self.home, progress=progress)

    def web(self) -> HostWeb:
        """The host's virtual hosts and mounts (:attr:`pyapp_runtime.Host.web`)."""
        return self.host().web

    def recover(self) -> dict[str, str]:
        """Finish or undo what a crash (of this server or of a command) left on the apps, as an event each.

        The server calls it as it starts: a job its crash interrupted leaves no process of an
        unfinished release running until the app's next command.
        """
        try:
            done = self.host().recover_all()
        except AppPackageError as exc:
            self.events.record("recover", f"recovery failed: {exc}", outcome="failed")
            return {}
        for name, what in done.items():
            self.events.record("recover", f"{name}: {what}", app=name)
        return done

    # -- what the runtime can do --------------------------------------------------

    def features(self) -> dict[str, bool]:
        """Which optional operations the runtime offers (process control comes with supervision)."""
        host = self.host()
        return {
            "processes": _supervised(host) and all(callable(getattr(host, a, None)) for a in PROCESS_ACTIONS),
            "process_status": callable(getattr(host, "status", None)),
        }

    # -- reading ------------------------------------------------------------------

    def list_apps(self, *, processes: bool = False) -> list[dict[str, Any]]:
        """Every app, with the job working on it, how its processes are (``state``) and those failing;
        with *processes*, each of its processes too. supervisord is asked once for every app."""
        host = self.host()
        summaries = host.apps()
        found = _statuses(host, [s.name for s in summaries])
        apps = []
        for summary in summaries:
            item = summary.to_dict()
            item["job"] = self.jobs.busy(summary.name)
            item.update(_running(found[summary.name], processes_too=processes))
            item["health"] = self.health.get(summary.name)
            apps.append(item)
        return apps

    def show(self, name: str) -> dict[str, Any]:
        host = self.host()
        info: dict[str, Any] = host.show(name).to_dict()
        info["job"] = self.jobs.busy(name)
        info["processes"] = self._processes(host, name)
        return info

    def processes(self, name: str) -> list[dict[str, Any]]:
        """How each of app *name*'s processes is (none when the host runs no processes)."""
        return self._processes(self.host(), name)

    def _processes(self, host: Any, name: str) -> list[dict[str, Any]]:
        status = getattr(host, "status", None)
        if not callable(status):
            return []
        try:
            found = status(name)
        except AppPackageError:
            return []
        return [p.to_dict() if hasattr(p, "to_dict") else dict(vars(p)) for p in found or ()]

    # -- packages -----------------------------------------------------------------

    def inspect_package(self, path: Path) -> PackageFacts:
        """Read and check the package at *path* and its signature; 422 listing every problem when it is
        not valid, or when its signature does not verify (spec section 2.6)."""
        from apppackage import AppPackage

        try:
            with AppPackage(path) as package:
                description = package.check()
                signer = package.signer()
        except InvalidPackage:
            raise
        except AppPackageError as exc:
            raise ApiError(str(exc), status=422, code="invalid-package") from None
        return PackageFacts(
            path=path, name=description.name, version=description.version, services=description.services,
            signer=signer, data_version=description.data_version,
        )  # fmt: skip

    def check_signer(self, facts: PackageFacts, trust_key: str | None) -> None:
        """Refuse (409 ``untrusted-signer``) a package the key its app is pinned to did not sign, unless
        *trust_key* names its signer to re-pin the app (spec section 2.6)."""
        from pyapp_runtime.lifecycle.trust import check_signer, parse_trust_key, read_pin

        app = self.host().layout.app(facts.name)
        check_signer(app, read_pin(app), facts.signer, parse_trust_key(trust_key), package=facts.path.name)

    def check_data_version(self, facts: PackageFacts, *, force: bool, edge: Edge = "api") -> None:
        """Refuse (409 ``data-version``) a package whose data version is lower than the data's, unless *force*
        (spec section 3.19): the error names the backup to restore first, as *edge* restores it."""
        from pyapp_runtime.errors import DataVersionTooLow
        from pyapp_runtime.lifecycle.dataversion import check_data_version
        from pyapp_runtime.releases.release import current_release, version_key

        if force:
            return
        app = self.host().layout.app(facts.name)
        current = current_release(app)
        target = f"{facts.name} {facts.version}"
        try:
            check_data_version(
                app, current, target=target, target_data_version=facts.data_version,
                doing=f"install {target}", verb="send it again", again="", force="",
            )  # fmt: skip
        except DataVersionTooLow as exc:
            older = current is not None and version_key(facts.version) <= version_key(current.version)
            raise install_refusal(exc, older=older, edge=edge) from None

    def check_services(self, facts: PackageFacts, services: Sequence[str]) -> None:
        """Refuse (422, every problem) a package whose required services the host cannot provide."""
        from pyapp_runtime.appconfig.services import load_services, resolve
        from pyapp_runtime.errors import BadServices

        app = self.host().layout.app(facts.name)
        try:
            resolve(
                facts.services, load_services(app.services_file), services,
                app=facts.name, data_path=app.data, what=f"{facts.name} {facts.version}",
            )  # fmt: skip
        except BadServices as exc:
            raise _services_error(exc) from None

    def install(
        self,
        path: Path,
        actor: str,
        *,
        expect: str | None = None,
        force: bool = False,
        ignore_requirements: bool = False,
        settings: Sequence[str] = (),
        services: Sequence[str] = (),
        staged: bool = False,
        kind: str | None = None,
        on_done: Callable[[Job], None] | None = None,
        trust_key: str | None = None,
        edge: Edge = "api",
    ) -> Job:
        """Queue installing (or updating to) the package at *path*; *staged* files are deleted afterwards.

        With *expect* (an update of that app), the app must be installed and the package must be it.
        A package the app's pinned key did not sign is refused unless *trust_key* re-pins it (spec
        section 2.6; :meth:`Host.install`), and one of a lower data version than the data's unless *force*
        (section 3.19: the refusal names the backup to restore, as *edge* does it).
        """
        try:
            facts = self.inspect_package(path)
            host = self.host()
            if expect is not None:
                host.release(expect)  # NoSuchApp (404) when it is not installed
                if facts.name != expect:
                    raise ApiError(
                        f"{path.name} holds the app {facts.name!r}, not {expect!r}: nothing was changed",
                        status=422,
                        code="wrong-app",
                    )
            action = kind or ("update" if host.is_installed(facts.name) else "install")
            self.check_signer(facts, trust_key)
            self.check_data_version(facts, force=force, edge=edge)
            self.check_services(facts, services)

            def work(ctx: JobContext) -> dict[str, Any]:
                try:
                    ctx.log(f"{action} {facts.name} {facts.version} from {path.name}")
                    result = self.host(progress=ctx.log).install(
                        path, force=force, ignore_requirements=ignore_requirements, settings=settings,
                        services=services, wait=JOB_LOCK_WAIT, trust_key=trust_key,
                    )  # fmt: skip
                    return dict(result.to_dict())
                finally:
                    if staged:
                        _discard(path)

            return self.jobs.submit(
                action, facts.name, actor, work, describe=_summary(action), on_done=on_done
            )
        except BaseException:
            if staged:
                _discard(path)
            raise

    def rollback(
        self, name: str, actor: str, *, to: str | None = None, force: bool = False, edge: Edge = "api"
    ) -> Job:
        """Queue rolling app *name* back to its previous release (or release *to*). What the runtime would
        refuse is refused first: no such release (404), or one whose data version is lower than the data's
        unless *force* (409 ``data-version``, naming the backup to restore first, as *edge* does it)."""
        self.check_rollback(name, to=to, force=force, edge=edge)

        def work(ctx: JobContext) -> dict[str, Any]:
            host = self.host(progress=ctx.log)
            return dict(host.rollback(name, to=to, force=force, wait=JOB_LOCK_WAIT).to_dict())

        return self.jobs.submit("rollback", name, actor, work, describe=_summary("rollback"))

    def check_rollback(self, name: str, *, to: str | None, force: bool, edge: Edge = "api") -> None:
        """Refuse (404) a rollback of an app that is not installed, and (409 ``data-version``) one to a
        release of a lower data version than the data's unless *force*, read without the app's lock: its job
        checks again under it, and reports a release that is not there."""
        from pyapp_runtime.errors import DataVersionTooLow, NoSuchRelease
        from pyapp_runtime.lifecycle.rollback import check_rollback, rollback_target

        host = self.host()
        current = host.release(name)  # NoSuchApp (404)
        if force or self.jobs.busy(name):  # a busy app: refused as such when the job is submitted
            return
        app = host.layout.app(name)
        try:
            check_rollback(app, current, rollback_target(app, current, to), to=to)
        except NoSuchRelease:
            return
        except DataVersionTooLow as exc:
            raise rollback_refusal(exc, to=to, edge=edge) from None

    def remove(
        self, name: str, actor: str, *, keep_data: bool = False, backup: bool = False, force: bool = False
    ) -> Job:
        """Queue removing app *name*; *backup* archives it first (the archive is kept)."""
        host = self.host()
        if not host.layout.app(name).dir.exists():  # a half-installed app can still be removed
            host.release(name)  # NoSuchApp (404)

        def work(ctx: JobContext) -> dict[str, Any]:
            host = self.host(progress=ctx.log)
            result = host.remove(name, keep_data=keep_data, backup=backup, force=force, wait=JOB_LOCK_WAIT)
            return dict(result.to_dict())

        return self.jobs.submit("remove", name, actor, work, describe=_summary("remove"))

    def backup(self, name: str, actor: str) -> Job:
        self.host().release(name)

        def work(ctx: JobContext) -> dict[str, Any]:
            return dict(self.host(progress=ctx.log).backup(name, wait=JOB_LOCK_WAIT).to_dict())

        return self.jobs.submit("backup", name, actor, work, describe=_summary("backup"))

    # -- configuration ------------------------------------------------------------

    def config(self, name: str) -> dict[str, Any]:
        """The spec (with widgets) and the current values, secrets masked."""
        info = self.host().config(name).to_dict()
        info["spec"] = {"format": info["format"], "fields": info["fields"]}
        return dict(info)

    def set_config(
        self,
        name: str,
        actor: str,
        *,
        values: Mapping[str, Any] | None = None,
        assignments: Sequence[str] = (),
        merge: bool = True,
    ) -> dict[str, Any]:
        """Validate and write configuration values; 422 listing every invalid field.

        A secret given as the mask (``********``, as shown) keeps its current value.
        """
        job = self.jobs.busy(name)
        if job is not None:
            from .errors import AppBusy

            raise AppBusy(name, job, "deploy")
        host = self.host()
        try:
            current = host.config(name, show_secrets=True)
            given = unmasked(current.values, current.fields, values or {})
            merged = {**current.values, **given} if merge else given
            check_values(app_spec(host, name), name, given, assignments, merged)
            result = host.replace_config(name, given, merge=merge)
        except AppPackageError as exc:
            if isinstance(exc, InvalidPackage) and exc.problems:
                fields = sorted({p.path.lstrip("/").split("/")[0] or p.file for p in exc.problems})
                reason = f"{len(exc.problems)} problem(s) with {', '.join(fields)}"
            else:
                reason = str(exc).splitlines()[0]
            self.events.record(
                "config",
                f"configuration of {name} refused: {reason}",
                app=name,
                outcome="failed",
                actor=actor,
            )
            raise
        data = dict(result.to_dict())
        changed = ", ".join(data["changed"]) or "nothing"
        self.events.record("config", f"configuration of {name} changed: {changed}", app=name, actor=actor)
        return data

    def preview_config(
        self,
        name: str,
        *,
        values: Mapping[str, Any] | None = None,
        assignments: Sequence[str] = (),
        merge: bool = True,
    ) -> dict[str, Any]:
        """What :meth:`set_config` would change, checked the same way, without writing (422 listing every
        invalid field): each field that would change and the file the app would read, secrets masked."""
        return preview(self.host(), name, values=values, assignments=assignments, merge=merge)

    # -- services -------------------------------------------------------------------

    def services(self, name: str) -> dict[str, Any]:
        """The services app *name* declares, values masked (spec section 3.9)."""
        info: dict[str, Any] = self.host().services(name).to_dict()
        return info

    def set_services(
        self, name: str, actor: str, *, values: Mapping[str, str], unset: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Check and write service values; 422 listing every problem. The event names no value."""
        from pyapp_runtime.errors import BadServices

        job = self.jobs.busy(name)
        if job is not None:
            from .errors import AppBusy

            raise AppBusy(name, job, "deploy")
        try:
            result = self.host().set_services(name, dict(values), unset=tuple(unset))
        except AppPackageError as exc:
            reason = str(exc).splitlines()[0]
            if isinstance(exc, BadServices):
                names = ", ".join(sorted({p.path.lstrip("/") or p.file for p in exc.problems}))
                reason = f"{len(exc.problems)} problem(s) with {names}"
            self.events.record(
                "services", f"services of {name} refused: {reason}", app=name, outcome="failed", actor=actor
            )
            if isinstance(exc, BadServices):
                raise _services_error(exc) from None
            raise
        data: dict[str, Any] = result.to_dict()
        changed = ", ".join(data["changed"]) or "nothing"
        self.events.record("services", f"services of {name} changed: {changed}", app=name, actor=actor)
        return data

    # -- processes ------------------------------------------------------------------

    def control(self, name: str, action: str, actor: str) -> dict[str, Any]:
        """Start, stop, restart or reload (``pyapp reload``: new processes take over once healthy, with the
        configuration as it is now) app *name*'s processes, when the runtime can."""
        host = self.host()
        host.release(name)  # NoSuchApp (404) first: an app that is not there is not there on any host
        method = getattr(host, action, None)
        if action not in PROCESS_ACTIONS or not callable(method) or not _supervised(host):
            raise NotSupported(
                f"this host's runtime cannot {action} app processes "
                "(no supervision, or PYAPP_DAEMONS=0); serve the app from a shell meanwhile: "
                f"pyapp run PYAPP_HOME/apps/{name}/current"
            )
        try:
            result = method(name)
        except AppPackageError as exc:
            self.events.record(
                action,
                f"{action} of {name} failed: {str(exc).splitlines()[0]}",
                app=name,
                outcome="failed",
                actor=actor,
            )
            raise
        self.events.record(action, f"{name} {_PAST[action]}", app=name, actor=actor)
        data = result.to_dict() if hasattr(result, "to_dict") else {}
        return {"name": name, "action": action, "result": data, "processes": self._processes(host, name)}


def _supervised(host: Any) -> bool:
    """Whether the host runs apps' processes (``Host.daemons.enabled``; older runtimes: assume so)."""
    daemons = getattr(host, "daemons", None)
    return daemons is None or bool(getattr(daemons, "enabled", True))


def _services_error(exc: Any) -> ApiError:
    """A :class:`pyapp_runtime.errors.BadServices` as a 422 naming each service (values stay masked)."""
    errors = [
        {"field": p.path.lstrip("/").replace("~1", "/").replace("~0", "~") or None, "path": p.path,
         "message": p.message}
        for p in exc.problems
    ]  # fmt: skip
    return ApiError(str(exc), status=422, code="invalid-services", errors=errors)


def _discard(path: Path) -> None:
    """Delete a staged upload and its private directory."""
    shutil.rmtree(path.parent, ignore_errors=True)


def _statuses(host: Host, names: list[str]) -> dict[str, list[DaemonStatus]]:
    """The processes of each app of *names* (none where the host runs none, or where an app's record
    cannot be read: the others are still listed)."""
    if not host.daemons.enabled:
        return {name: [] for name in names}
    try:
        return host.daemons.statuses(names)
    except AppPackageError:
        pass
    out: dict[str, list[DaemonStatus]] = {}
    for name in names:
        try:
            out[name] = host.daemons.status(name)
        except AppPackageError:
            out[name] = []
    return out


def _running(processes: list[DaemonStatus], *, processes_too: bool = False) -> dict[str, Any]:
    """``state`` (see :func:`pyapp_runtime.processes.runstate.overall_state`) and the ``failing`` processes,
    each with its last output (and every process, with *processes_too*)."""
    from pyapp_runtime.processes.runstate import overall_state

    running = {
        "state": overall_state(processes),
        "failing": [p.to_dict() for p in processes if p.failing],
    }
    if processes_too:
        running["processes"] = [p.to_dict() for p in processes]
    return running
