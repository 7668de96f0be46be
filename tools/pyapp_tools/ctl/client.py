"""The HTTP client of ``pyapp-ctl``: where the server is, its token, requests, version negotiation.

Only the standard library (``http.client``): ``http://``, ``https://`` and
``http+unix://<percent-encoded socket path>`` URLs.

Where the server is, in order: ``--server``/``$PYAPP_SERVER_URL``; else the
``endpoint.json`` a running server wrote under ``$PYAPP_HOME/server/`` (the runtime's
home), or ``./var/server/`` in a checkout. The token: ``--token``/``$PYAPP_TOKEN``; else
the local token file next to that endpoint (for the same URL).
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyapp_runtime.unixhttp import UnixHTTPConnection

from apppackage import AppPackageError, __version__

__all__ = [
    "CLIENT_HEADER",
    "DEFAULT_URL",
    "Client",
    "CtlError",
    "Endpoint",
    "Response",
    "find_endpoint",
    "newer_than_server",
]

CLIENT_HEADER = "X-Pyapp-Client-Version"
MIN_CLIENT_HEADER = "X-Pyapp-Min-Client-Version"
SERVER_HEADER = "X-Pyapp-Server-Version"
DEFAULT_URL = "http://127.0.0.1:6543"
CHUNK = 256 * 1024


class CtlError(AppPackageError):
    """A request failed; ``status`` is the HTTP status (0 when the server could not be reached)."""

    def __init__(self, message: str, *, status: int = 0, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = dict(body or {})


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    url: str
    token: str | None
    source: str
    """Where the URL came from (an option, a variable, an endpoint file, the default)."""


def _endpoint_files(environ: Mapping[str, str]) -> list[Path]:
    from pyapp_runtime.layout import default_home

    home = environ.get("PYAPP_HOME")
    if home:
        return [Path(home).expanduser() / "server" / "endpoint.json"]
    return [default_home() / "server" / "endpoint.json", Path.cwd() / "var" / "server" / "endpoint.json"]


def _read_token(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text("utf-8").strip() or None
    except OSError:
        return None


def find_endpoint(
    server: str | None, token: str | None, environ: Mapping[str, str] | None = None
) -> Endpoint:
    """The server URL and token to use (see the module docstring)."""
    env = os.environ if environ is None else environ
    for path in _endpoint_files(env):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            continue
        if server is None or server.rstrip("/") == data["url"].rstrip("/"):
            secret = token or _read_token(data.get("token_file") or str(path.with_name("local-token")))
            return Endpoint(url=server or data["url"], token=secret, source=str(path))
    if server is not None:
        return Endpoint(url=server, token=token, source="--server or PYAPP_SERVER_URL")
    return Endpoint(url=DEFAULT_URL, token=token, source="the default (no running server found)")


def newer_than_server(client: str, server: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(client) > Version(server)
    except InvalidVersion:
        return False


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    headers: dict[str, str]
    data: Any


class Client:
    """Requests to the server at *endpoint*; *warn* gets one-line warnings (the version check)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = 300.0,
        warn: Callable[[str], None] | None = None,
        version: str = __version__,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.warn = warn or (lambda message: None)
        self.version = version
        self._warned = False
        parsed = urllib.parse.urlsplit(endpoint.url)
        if parsed.scheme not in ("http", "https", "http+unix"):
            raise CtlError(
                f"{endpoint.url}: the server URL must start with http://, https:// or http+unix://"
            )
        self._parsed = parsed
        self._prefix = parsed.path.rstrip("/") if parsed.scheme != "http+unix" else ""

    def _connection(self) -> http.client.HTTPConnection:
        p = self._parsed
        if p.scheme == "http+unix":
            return UnixHTTPConnection(urllib.parse.unquote(p.netloc), timeout=self.timeout)
        if p.scheme == "https":
            return http.client.HTTPSConnection(
                p.hostname or "", p.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(p.hostname or "", p.port, timeout=self.timeout)

    def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {CLIENT_HEADER: self.version, "Accept": "application/json", **extra}
        if self.endpoint.token:
            headers["Authorization"] = f"Bearer {self.endpoint.token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json_body: Any = None,
        body: Iterable[bytes] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request; return the response (any status) with its JSON body decoded."""
        target = self._prefix + path
        if query:
            pairs = query.items() if isinstance(query, Mapping) else query
            target += "?" + urllib.parse.urlencode([(k, v) for k, v in pairs if v is not None])
        extra = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            extra.setdefault("Content-Type", "application/json")
        conn = self._connection()
        try:
            conn.putrequest(method, target)
            for name, value in self._headers(extra).items():
                conn.putheader(name, value)
            if isinstance(body, bytes):
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
            elif body is not None:
                conn.endheaders()
                for chunk in body:
                    conn.send(chunk)
            else:
                conn.endheaders()
            raw = conn.getresponse()
            payload = raw.read()
            response_headers = {k.lower(): v for k, v in raw.getheaders()}
            status = raw.status
        except (OSError, http.client.HTTPException) as exc:
            raise CtlError(
                f"cannot reach the pyapp server at {self.endpoint.url} ({exc}); is it running? "
                "(start it with: pyapp-server; or pass --server URL)"
            ) from None
        finally:
            conn.close()
        self._check_versions(response_headers)
        data: Any = None
        if payload:
            try:
                data = json.loads(payload)
            except ValueError:
                data = payload.decode("utf-8", "replace")
        return Response(status=status, headers=response_headers, data=data)

    def _check_versions(self, headers: Mapping[str, str]) -> None:
        server = headers.get(SERVER_HEADER.lower())
        if server and not self._warned and newer_than_server(self.version, server):
            self._warned = True
            self.warn(
                f"warning: pyapp-ctl {self.version} is newer than the server ({server}); "
                "newer options may be refused until the server is upgraded"
            )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; return its JSON, or raise :class:`CtlError` with the server's message."""
        response = self.request(method, path, **kwargs)
        if response.status >= 400:
            raise error_of(response)
        return response.data

    def upload(
        self,
        path: str,
        package: Path,
        *,
        query: Iterable[tuple[str, Any]] = (),
        progress: Callable[[int], None] | None = None,
    ) -> Any:
        """POST *package* as the raw body, streamed in chunks (*progress* gets each chunk's size)."""
        size = package.stat().st_size

        def chunks() -> Iterable[bytes]:
            with open(package, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
                    if progress is not None:
                        progress(len(chunk))

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        return self.call(
            "POST", path, query=[("filename", package.name), *query], body=chunks(), headers=headers
        )


def error_of(response: Response) -> CtlError:
    """The error a failed response stands for, with every problem the server listed."""
    data = response.data
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        message = str(error.get("message") or f"HTTP {response.status}")
        problems = data.get("errors") or ()
        # The problems are listed below: keep the message's own lines (a summary, what to do),
        # not its indented list of them.
        text = [line for line in message.splitlines() if not line.startswith(" ")] if problems else [message]
        lines = text[:1]
        for problem in problems:
            where = problem.get("field") or ""
            if problem.get("path") and problem["path"] != f"/{where}":
                where += problem["path"]
            lines.append(f"  {where}: {problem.get('message')}" if where else f"  {problem.get('message')}")
        lines += text[1:]
        return CtlError("\n".join(lines), status=response.status, body=data)
    detail = data.strip() if isinstance(data, str) else ""
    return CtlError(
        f"HTTP {response.status} from the server{': ' + detail[:500] if detail else ''}",
        status=response.status,
    )
