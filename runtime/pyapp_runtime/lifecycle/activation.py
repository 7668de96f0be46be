"""The seam where a process manager joins an activation (install, update, rollback, removal).

The :class:`~pyapp_runtime.Host` switches ``current`` atomically; an
:class:`Activator` adds what has to happen around the switch for running
processes. The default does nothing (no daemons); a host with supervision uses
:class:`~pyapp_runtime.processes.daemons.DaemonManager`. The order, for an update (spec section 7.5)::

    build -> backup(old) -> pre-update(old) -> post-update(new) -> verify(new)
          -> activator.prepare(new, old)     start the new release's daemons, wait for health; raise to abort
          -> switch current                  atomic
          -> commit
          -> activator.commit(new, old)      stop the old release's daemons

Any failure after ``prepare`` started undoes the switch and calls
``activator.abort(new, old)`` (stop the new daemons; the old ones never stopped).
A rollback calls the same three with the releases swapped. A removal calls
``remove(current)`` first (stop everything: spec section 7.8), then runs the
backup and ``uninstall`` hooks; when one fails the removal is aborted and
``remove_aborted(current)`` starts the app again as it was. After a crashed command (``kill -9``),
the next one calls ``recover(current)`` once the journal has put the files back: it finishes a
switch that was committed and stops whatever else the crash left running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..releases.launch import LaunchSpec

if TYPE_CHECKING:
    from ..layout import HostLayout

__all__ = ["Activator", "HostContext", "NullActivator"]


class Activator(Protocol):
    """What a process manager does around an activation; errors from :meth:`prepare` abort it.

    ``prepare`` gets the configuration values *new* is to run with as *config* (the
    stored values when ``None``): before the switch they are not yet in the app's files.
    """

    def prepare(
        self, name: str, new: LaunchSpec, old: LaunchSpec | None, *, config: Mapping[str, Any] | None = None
    ) -> None: ...

    def commit(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None: ...

    def abort(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None: ...

    def remove(self, name: str, current: LaunchSpec | None) -> None: ...

    def remove_aborted(self, name: str, current: LaunchSpec | None) -> None: ...

    def recover(self, name: str, current: LaunchSpec | None) -> str | None:
        """What it did about the processes a crashed command left (``None``: nothing was left)."""
        ...


class NullActivator:
    """No processes to manage: every step is a no-op."""

    def prepare(
        self, name: str, new: LaunchSpec, old: LaunchSpec | None, *, config: Mapping[str, Any] | None = None
    ) -> None:
        return None

    def commit(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None:
        return None

    def abort(self, name: str, new: LaunchSpec, old: LaunchSpec | None) -> None:
        return None

    def remove(self, name: str, current: LaunchSpec | None) -> None:
        return None

    def remove_aborted(self, name: str, current: LaunchSpec | None) -> None:
        return None

    def recover(self, name: str, current: LaunchSpec | None) -> str | None:
        return None


@dataclass(frozen=True, kw_only=True)
class HostContext:
    """What an operation needs from its :class:`~pyapp_runtime.Host`: its layout, the Python its apps run
    on, its activator, where progress is told (``progress(message)``) and how many backups it keeps."""

    layout: HostLayout
    python: str
    activator: Activator
    progress: Callable[[str], None]
    keep_backups: int = 3
