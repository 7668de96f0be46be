"""The health check of spec section 7.3: one ``GET <mount path><health.path>`` sent to a daemon directly.

The release is healthy when the answer's status is 2xx or 3xx and the whole answer
arrives within ``health.timeout`` seconds (redirects are not followed); a host checks
again, at most :data:`INTERVAL` seconds apart, for at most ``health.start`` seconds.
The HTTP client is imported by the first check: a command that starts nothing does not load it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import http.client

__all__ = ["INTERVAL", "Address", "HealthResult", "check", "wait_healthy"]

INTERVAL = 0.25


@dataclass(frozen=True, kw_only=True)
class Address:
    """Where a daemon listens: a unix socket, or a loopback host and port."""

    socket: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None

    def __str__(self) -> str:
        return f"unix:{self.socket}" if self.socket else f"{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class HealthResult:
    """The outcome of one check, or of the last check of :func:`wait_healthy`."""

    healthy: bool
    status: int | None = None
    detail: str = ""
    checks: int = 1


def check(address: Address, path: str, *, host: str = "localhost", timeout: float = 5.0) -> HealthResult:
    """Send one health check request for *path* to *address* with ``Host: host``."""
    import http.client

    from ..unixhttp import UnixHTTPConnection

    connection: http.client.HTTPConnection
    if address.socket:
        connection = UnixHTTPConnection(address.socket, host, timeout)
    else:
        connection = http.client.HTTPConnection(address.host, address.port, timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "pyapp-health"})
        response = connection.getresponse()
        response.read()
        if time.monotonic() > deadline:
            return HealthResult(healthy=False, status=response.status, detail=f"answered after {timeout:g} s")
        ok = 200 <= response.status < 400
        detail = f"GET {path} answered {response.status} {response.reason}"
        return HealthResult(healthy=ok, status=response.status, detail=detail)
    except (OSError, http.client.HTTPException) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return HealthResult(healthy=False, detail=f"GET {path} on {address}: {reason}")
    finally:
        connection.close()


def wait_healthy(
    address: Address,
    path: str,
    *,
    host: str = "localhost",
    timeout: float = 5.0,
    start: float = 30.0,
    alive: Callable[[], str | None] | None = None,
) -> HealthResult:
    """Check until one check passes, for at most *start* seconds.

    *alive* returns why the daemon has ended (``None`` while it runs): the wait stops there.
    """
    deadline = time.monotonic() + start
    checks = 0
    while True:
        if alive is not None:
            ended = alive()
            if ended is not None:
                return HealthResult(healthy=False, detail=ended, checks=checks)
        result = check(address, path, host=host, timeout=timeout)
        checks += 1
        if result.healthy:
            return HealthResult(healthy=True, status=result.status, detail=result.detail, checks=checks)
        if time.monotonic() >= deadline:
            return HealthResult(
                healthy=False, status=result.status, checks=checks,
                detail=f"not healthy within {start:g} s: {result.detail}",
            )  # fmt: skip
        time.sleep(INTERVAL)
