"""The errors of :mod:`apppackage`: one root, each carrying where it happened.

Every problem found in a package is a :class:`Problem` naming the file and the
JSON-pointer path inside it (``metadata.yaml:/wsgi/app``) and saying what to do.
Errors about bad input also subclass :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "AppPackageError",
    "CommandFailed",
    "HookFailed",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidDescription",
    "InvalidPackage",
    "KeyFileError",
    "LoadError",
    "Problem",
    "UnsafeArchive",
    "pointer",
]


def pointer(*parts: object) -> str:
    """Join *parts* into a JSON pointer (RFC 6901), escaping ``~`` and ``/``."""
    if not parts:
        return ""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a package: the file, the JSON pointer inside it, and what to do."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.path}" if self.path else self.file
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message}


class AppPackageError(Exception):
    """The root of every error raised by :mod:`apppackage`."""


class InvalidPackage(AppPackageError, ValueError):
    """A package (or a part of it) breaks the specification; :attr:`problems` lists every reason."""

    def __init__(self, problems: Iterable[Problem], summary: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [summary or f"{len(self.problems)} problem(s) found:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class InvalidDescription(InvalidPackage):
    """``metadata.yaml`` (or what a checkout's ``pyproject.toml`` adds to it) is invalid."""


class InvalidConfiguration(InvalidPackage):
    """A configuration spec, or configuration values, are invalid."""


class UnsafeArchive(InvalidPackage):
    """A ``.pyapp`` archive would write outside its target, or is not a sane zip."""


class IntegrityError(InvalidPackage):
    """The files of a package do not match its ``RECORD``."""


class KeyFileError(AppPackageError, ValueError):
    """A signing key file cannot be read or written, or holds no key of the kind asked for (section 2.6).

    The message names the file and says what to do; it never holds the key itself.
    """


class LoadError(AppPackageError):
    """A ``module:attr`` reference could not be imported or resolved."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"cannot load {ref!r}: {reason}")


class HookFailed(AppPackageError):
    """An application's hook or task failed, timed out or could not be run.

    ``hook`` is the hook (or task) name, ``release`` the ``name version`` whose
    code ran it, ``cause`` a one-line reason and ``output`` what it printed.
    """

    def __init__(self, hook: str, release: str, cause: str, output: str = "") -> None:
        self.hook = hook
        self.release = release
        self.cause = cause
        self.output = output
        message = f"hook {hook!r} of {release} failed: {cause}"
        if output.strip():
            message += "\n--- output ---\n" + output.rstrip()
        super().__init__(message)


class CommandFailed(HookFailed):
    """A command run with a timeout did not finish in time or could not be started."""
