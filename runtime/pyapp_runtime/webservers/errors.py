"""The errors of :mod:`pyapp_runtime.webservers`: all are :class:`~apppackage.errors.AppPackageError`.

Each message says where the problem is (the state file and a JSON pointer, or the
generated configuration file) and what to do about it.
"""

from __future__ import annotations

from apppackage.errors import AppPackageError

__all__ = [
    "ConfigTestFailed",
    "InvalidRoute",
    "MountConflict",
    "NoWebServer",
    "ServerFailed",
    "WebServerError",
]


class WebServerError(AppPackageError):
    """The root of every error about virtual hosts, mounts and web servers."""


class InvalidRoute(WebServerError, ValueError):
    """A virtual host, a mount or the stored state is malformed or refers to something missing.

    ``where`` is ``<file>:<JSON pointer>`` (e.g. ``state.json:/mounts/blog/prefix``).
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class MountConflict(InvalidRoute):
    """A mount would take URLs that another app already holds.

    ``holder`` is the app that holds them, ``vhost`` and ``path`` where.
    """

    def __init__(self, where: str, message: str, *, holder: str, vhost: str, path: str) -> None:
        self.holder = holder
        self.vhost = vhost
        self.path = path
        super().__init__(where, message)


class ConfigTestFailed(WebServerError):
    """The web server's own configuration test refused a generated configuration.

    The live configuration was left in place. ``output`` is what the server printed,
    ``config`` the refused file (kept for inspection).
    """

    def __init__(self, kind: str, config: str, output: str) -> None:
        self.kind = kind
        self.config = config
        self.output = output
        super().__init__(
            f"{kind} refused the generated configuration {config}; the previous configuration keeps"
            f" serving. Fix the setting it names, then apply again.\n--- {kind} says ---\n{output.rstrip()}"
        )


class ServerFailed(WebServerError):
    """A web server could not be started, reloaded or stopped; ``output`` holds the end of its logs."""

    def __init__(self, kind: str, action: str, reason: str, output: str = "") -> None:
        self.kind = kind
        self.action = action
        self.reason = reason
        self.output = output
        message = f"{kind}: {action} failed: {reason}"
        if output.strip():
            message += f"\n--- {kind} log ---\n{output.rstrip()}"
        super().__init__(message)


class NoWebServer(WebServerError):
    """The web server asked for is not installed on this host."""
