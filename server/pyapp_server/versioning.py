"""Version negotiation between ``pyapp-ctl`` and the server.

The client sends its version in ``X-Pyapp-Client-Version``. Every response carries
``X-Pyapp-Min-Client-Version`` (the oldest client served, setting ``min_client_version``)
and ``X-Pyapp-Server-Version``. A client older than the minimum gets ``426`` with the
exact command that upgrades it; requests without the header (curl, browsers) are served.
A client newer than the server is served: it warns its user itself (see
:func:`client_warning`).
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.version import InvalidVersion, Version
from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from apppackage import __version__

from .errors import error_response

__all__ = [
    "CLIENT_HEADER",
    "MIN_CLIENT_HEADER",
    "SERVER_HEADER",
    "client_warning",
    "includeme",
    "upgrade_command",
]

CLIENT_HEADER = "X-Pyapp-Client-Version"
MIN_CLIENT_HEADER = "X-Pyapp-Min-Client-Version"
SERVER_HEADER = "X-Pyapp-Server-Version"
DISTRIBUTION = "apppackage"


def upgrade_command(minimum: str) -> str:
    """The command that installs a client this server accepts."""
    return f'pip install -U "{DISTRIBUTION}[tools]>={minimum}"'


def client_warning(client: str, server: str) -> str | None:
    """What a client should tell its user when it is newer than the server (``None`` otherwise)."""
    try:
        newer = Version(client) > Version(server)
    except InvalidVersion:
        return None
    if not newer:
        return None
    return (
        f"warning: pyapp-ctl {client} is newer than the server it talks to ({server}); "
        "newer options may be refused or ignored until the server is upgraded"
    )


def _refusal(client: str, minimum: str) -> Response | None:
    try:
        too_old = Version(client) < Version(minimum)
    except InvalidVersion:
        return error_response(
            400, "bad-client-version", f"{CLIENT_HEADER}: {client!r} is not a version (PEP 440)"
        )
    if not too_old:
        return None
    command = upgrade_command(minimum)
    return error_response(
        426,
        "client-too-old",
        f"pyapp-ctl {client} is too old for this server, which needs {minimum} or newer; upgrade it with: "
        f"{command}",
        minimum=minimum,
        upgrade=command,
    )


def version_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[..., Response]:
    minimum = registry["pyapp.services"].settings.min_client_version

    def version_tween(request: Request) -> Response:
        client = request.headers.get(CLIENT_HEADER)
        refusal = _refusal(client.strip(), minimum) if client else None
        response = refusal if refusal is not None else handler(request)
        response.headers[MIN_CLIENT_HEADER] = minimum
        response.headers[SERVER_HEADER] = __version__
        return response

    return version_tween


def includeme(config: Configurator) -> None:
    """Refuse too-old clients; tell every client the minimum version and the server's."""
    config.add_tween("pyapp_server.versioning.version_tween_factory")
