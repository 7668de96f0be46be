"""The errors of :mod:`pyapp_runtime`: every one an :class:`apppackage.AppPackageError`.

Each says where it happened (the app, the file, the release) and what to do next.
The format library's own errors (:class:`~apppackage.IntegrityError`,
:class:`~apppackage.InvalidConfiguration`, :class:`~apppackage.HookFailed`...) pass
through unchanged, so callers catch one root.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable

from apppackage.errors import AppPackageError, HookFailed, Problem

__all__ = [
    "AppLocked",
    "BadBackup",
    "BadServices",
    "DaemonsDisabled",
    "DataVersionTooLow",
    "DependenciesMissing",
    "DiskFull",
    "HostError",
    "InstallHookFailed",
    "NoSuchApp",
    "NoSuchProcess",
    "NoSuchRelease",
    "NotAnUpgrade",
    "RequirementsNotMet",
    "UntrustedSigner",
    "WheelError",
]


class HostError(AppPackageError):
    """The root of the errors about a host (its layout, its apps and their releases)."""


class NoSuchApp(HostError, LookupError):
    """No app of that name is installed on this host."""

    def __init__(self, name: str, home: str) -> None:
        self.name = name
        super().__init__(f"no app named {name!r} is installed in {home} (see: pyapp list)")


class NoSuchProcess(HostError, LookupError):
    """The app has no process of that name with a log; ``known`` lists those it has."""

    def __init__(self, app: str, process: str, known: Iterable[str]) -> None:
        self.app = app
        self.process = process
        self.known = tuple(known)
        super().__init__(f"{app} has no process {process!r} with a log (known: {', '.join(self.known)})")


class NoSuchRelease(HostError, LookupError):
    """The app has no release of that version (or no release to go back to)."""


class DaemonsDisabled(HostError):
    """The host does not run apps' processes (``daemons: false``, PYAPP_DAEMONS=0, or no supervisord)."""


class AppLocked(HostError):
    """Another command holds the app's lock; ``pid`` is its process id (``None`` if unknown)."""

    def __init__(self, name: str, lock_file: str, pid: int | None, operation: str = "") -> None:
        self.name = name
        self.pid = pid
        self.operation = operation
        holder = f"process {pid}" if pid else "another process"
        doing = f" ({operation})" if operation else ""
        super().__init__(
            f"app {name!r} is locked by {holder}{doing} ({lock_file}); "
            "wait for it to finish, or pass --wait SECONDS to wait for the lock"
        )


class DiskFull(HostError):
    """The file system ran out of space (or quota) as the host wrote *path*; ``outcome``: what it kept."""

    def __init__(self, path: str | os.PathLike[str], outcome: str = "") -> None:
        self.path = os.fspath(path)
        self.outcome = outcome
        where = os.path.abspath(self.path)
        while not os.path.exists(where) and os.path.dirname(where) != where:
            where = os.path.dirname(where)  # what was written is gone (undone): its file system stays
        try:
            free = f"{shutil.disk_usage(where).free} bytes free now"
        except OSError:
            free = "its free space unknown"
        lines = [
            f"the disk is full: no space left for {self.path} ({free})",
            outcome,
            "free some space on that file system (or move PYAPP_HOME to a larger one) and try again",
        ]
        super().__init__("\n".join(line for line in lines if line))

    @staticmethod
    def caused(exc: BaseException) -> bool:
        """Whether *exc* is the file system saying it is full (no space, or the quota is used up)."""
        return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class NotAnUpgrade(HostError, ValueError):
    """The package's version is not newer than the installed one (a downgrade, or the same version)."""


class UntrustedSigner(HostError):
    """A package is not signed by the key its app is pinned to (spec section 2.6), or not by the key the
    operator named to re-pin it; ``signer`` is the package's key, ``pinned`` the app's (``None``: none)."""

    def __init__(self, message: str, *, app: str, signer: str | None, pinned: str | None) -> None:
        self.app = app
        self.signer = signer
        self.pinned = pinned
        super().__init__(message)


class RequirementsNotMet(HostError):
    """The host does not provide what the package requires (spec section 3.3); ``reasons`` lists each."""

    def __init__(self, name: str, reasons: Iterable[str], hint: str = "") -> None:
        self.reasons = tuple(reasons)
        lines = [f"{name} cannot be installed on this host:"] + [f"  {r}" for r in self.reasons]
        super().__init__("\n".join([*lines, *([hint] if hint else [])]))


class DependenciesMissing(HostError):
    """Requirements no bundled wheel satisfies, and the network may not be used (spec section 3.5)."""

    def __init__(self, name: str, missing: Iterable[str], hint: str) -> None:
        self.missing = tuple(missing)
        lines = [f"{name}: no bundled wheel in deps/ provides:"] + [f"  {m}" for m in self.missing]
        super().__init__("\n".join([*lines, hint]))


class WheelError(HostError, ValueError):
    """A wheel is malformed, not installable here, or does not match its own RECORD."""


class BadBackup(HostError, ValueError):
    """A backup archive cannot be restored (not a pyapp backup, another app's, unsafe)."""


class DataVersionTooLow(HostError):
    """A rollback, or an install of a package, would give the app's data to code that keeps it in a lower data
    version than the one it is in (spec section 3.19).

    *doing* is the operation (``roll hello back to 1.0``, ``install hello 1.0``), *verb* its verb (``roll
    back``, ``install``), *target* the release or
    package (``hello 1.0``); *backup* is the archive of the backup taken before the update that raised the
    data version above *target_data_version* (``None``: the host keeps none) and *backup_data_version* the
    data version it holds. :meth:`explain` words the way out for an edge; the message, for ``pyapp``.
    """

    def __init__(
        self,
        *,
        app: str,
        doing: str,
        verb: str,
        target: str,
        target_data_version: int,
        data_version: int,
        since: str,
        backup: str | None,
        backup_data_version: int | None = None,
        raised_by: str = "",
        again: str,
        force: str,
    ) -> None:
        self.app = app
        self.doing = doing
        self.verb = verb
        self.target = target
        self.target_data_version = target_data_version
        self.data_version = data_version
        self.since = since
        self.backup = backup
        self.backup_data_version = backup_data_version
        self.raised_by = raised_by
        restore = f"pyapp restore {app} {backup}" if backup else None
        super().__init__(self.explain(restore=restore, again=again, force=force))

    @property
    def backup_name(self) -> str | None:
        """The file name of :attr:`backup` (how the management server names a backup)."""
        return os.path.basename(self.backup) if self.backup else None

    def explain(self, *, restore: str | None, again: str, force: str) -> str:
        """The refusal, its way out worded by *restore* (the command or action restoring :attr:`backup`),
        *again* (the operation asked again once it is restored) and *force* (the operation on the data as it
        is: the explicit override)."""
        lines = [
            f"refused to {self.doing}: {self.target} keeps its data in data version "
            f"{self.target_data_version}, and the data of {self.app} is in data version {self.data_version} "
            f"(since {self.since}), which the code of {self.target} may not read (spec section 3.19)"
        ]
        if restore is not None:
            update = f" to {self.raised_by}" if self.raised_by else ""
            lines += [
                f"The backup {self.backup_name} was taken before the update{update}, with the data in data "
                f"version {self.backup_data_version}: restore it, then {self.verb}:",
                f"  {restore}",
                f"  {again}",
                f"Without the restore, {force} does it on the data as it is.",
            ]
        else:
            lines += [
                f"No backup taken before the update that raised the data version above "
                f"{self.target_data_version} is kept (an update with backups turned off takes none, and only "
                "the newest pre-update backups are kept): the data cannot be brought back to data version "
                f"{self.target_data_version} here.",
                f"To do it on the data as it is: {force}",
            ]
        return "\n".join(lines)


class BadServices(HostError, ValueError):
    """The host cannot give an app its services (spec section 3.9); ``problems`` lists every reason.

    A required service without a value, a value of the wrong form, a name the app does
    not declare: each is a :class:`~apppackage.errors.Problem` naming the service
    (``services.yaml:/db``). ``missing`` names the required services without a value.
    Values never appear in the message but masked.
    """

    def __init__(
        self, summary: str, problems: Iterable[Problem], hint: str, missing: Iterable[str] = ()
    ) -> None:
        self.problems = tuple(problems)
        self.missing = tuple(missing)
        lines = [summary, *(f"  {p}" for p in self.problems), hint]
        super().__init__("\n".join(line for line in lines if line))


class InstallHookFailed(HookFailed, HostError):
    """A hook failed during an install, update, rollback or removal; ``outcome`` says what the host kept."""

    def __init__(self, failure: HookFailed, outcome: str) -> None:
        self.outcome = outcome
        super().__init__(failure.hook, failure.release, failure.cause, failure.output)
        first, _, rest = str(self.args[0]).partition("\n")
        self.args = ("\n".join(p for p in (first, outcome, rest) if p),)
