"""The errors of :mod:`pyapp_runtime.supervision`, all under :class:`apppackage.AppPackageError`."""

from __future__ import annotations

from apppackage.errors import AppPackageError

__all__ = [
    "InvalidProcessSpec",
    "NoSuchProgram",
    "ProcessFailed",
    "SupervisionError",
    "SupervisorNotRunning",
]


class SupervisionError(AppPackageError):
    """Something went wrong while driving supervisord."""


class InvalidProcessSpec(SupervisionError, ValueError):
    """A :class:`~pyapp_runtime.supervision.ProcessSpec` cannot be supervised; lists every reason."""

    def __init__(self, program: str, problems: list[str]) -> None:
        self.program = program
        self.problems = tuple(problems)
        lines = [f"process {program!r} cannot be supervised:"] + [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


class SupervisorNotRunning(SupervisionError):
    """supervisord does not answer on its socket (and could not be started)."""


class NoSuchProgram(SupervisionError, KeyError):
    """supervisord does not know the program; it was never added, or was removed."""

    def __init__(self, program: str, state_dir: str) -> None:
        self.program = program
        super().__init__(
            f"{state_dir}: no supervised program {program!r}; add it first (Supervisor.update)"
            " or list the known ones (Supervisor.status)"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ProcessFailed(SupervisionError):
    """A process could not be started or stopped; ``output`` holds the tail of its log."""

    def __init__(self, program: str, cause: str, output: str = "") -> None:
        self.program = program
        self.cause = cause
        self.output = output
        message = f"process {program!r} {cause}"
        if output.strip():
            message += "\n--- last output ---\n" + output.rstrip()
        super().__init__(message)
