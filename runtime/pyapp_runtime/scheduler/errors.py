"""The errors of :mod:`pyapp_runtime.scheduler`, all under :class:`apppackage.AppPackageError`."""

from __future__ import annotations

from apppackage.errors import AppPackageError

__all__ = ["BadSchedule", "SchedulerError"]


class SchedulerError(AppPackageError):
    """Something went wrong while scheduling or recording an application's tasks."""


class BadSchedule(SchedulerError, ValueError):
    """A task's ``every``/``cron`` cannot be scheduled; says which task and why."""

    def __init__(self, app: str, task: str, reason: str) -> None:
        self.app = app
        self.task = task
        super().__init__(f"{app}: metadata.yaml:/tasks/{task}: {reason}; fix the task's 'every' or 'cron'")
