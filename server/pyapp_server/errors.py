"""Errors as the API reports them: an HTTP status, a short code, a message, and every problem found.

Every error response has the body ``{"error": {"status", "code", "message"}, "errors": [...]}``
where each entry of ``errors`` is ``{"field", "path", "message"}`` (a setting's name or a
package file, and the JSON pointer inside it). The library's exceptions map to a status
here, in one place, for the JSON API, XML-RPC and jobs alike.
"""

from __future__ import annotations

import logging
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import HTTPException
from pyramid.request import Request
from pyramid.response import Response

from apppackage.errors import AppPackageError, HookFailed, InvalidConfiguration, InvalidPackage

__all__ = [
    "ApiError",
    "AppBusy",
    "NoSuchJob",
    "NotSupported",
    "ServerStopping",
    "classify",
    "error_body",
    "error_response",
    "error_text",
    "includeme",
]

log = logging.getLogger("pyapp_server")


class ApiError(AppPackageError):
    """A request the server refuses; *status* and *code* say how, *errors* list every problem."""

    status = 400
    code = "bad-request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.errors = list(errors or [])
        self.extra = dict(extra or {})


class AppBusy(ApiError, LookupError):
    """Another job is deploying the same app (409): deploys of one app never overlap."""

    status = 409
    code = "app-busy"

    def __init__(self, app: str, job_id: str, kind: str) -> None:
        super().__init__(
            f"app {app!r} is busy: job {job_id} ({kind}) is working on it; wait for it to finish "
            f"(GET /api/v1/jobs/{job_id}, or: pyapp-ctl jobs wait {job_id}) and try again",
            extra={"job": job_id},
        )
        self.app = app
        self.job_id = job_id


class NoSuchJob(ApiError, LookupError):
    status = 404
    code = "not-found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job has the id {job_id!r} (see: GET /api/v1/jobs)")


class NotSupported(ApiError):
    """The runtime cannot do this yet (501)."""

    status = 501
    code = "not-implemented"


class ServerStopping(ApiError):
    status = 503
    code = "stopping"

    def __init__(self) -> None:
        super().__init__("the server is stopping and takes no new jobs; try again once it is back")


def _status_of(exc: BaseException) -> tuple[int, str]:
    from pyapp_runtime import errors as host_errors
    from pyapp_runtime.web.verify import RouteNotServed

    from .tokens import NoSuchToken

    if isinstance(exc, ApiError):
        return exc.status, exc.code
    if isinstance(
        exc, (host_errors.NoSuchApp, host_errors.NoSuchRelease, host_errors.NoSuchProcess, NoSuchToken)
    ):
        return 404, "not-found"
    if isinstance(exc, (host_errors.AppLocked, host_errors.NotAnUpgrade)):
        return 409, "conflict"
    if isinstance(exc, host_errors.UntrustedSigner):
        return 409, "untrusted-signer"
    if isinstance(exc, host_errors.DataVersionTooLow):
        return 409, "data-version"
    if isinstance(exc, RouteNotServed):
        return 409, "route-not-served"
    if isinstance(exc, host_errors.DiskFull):
        return 507, "disk-full"
    if isinstance(exc, InvalidConfiguration):
        return 422, "invalid-configuration"
    if isinstance(exc, InvalidPackage):
        return 422, "invalid-package"
    if isinstance(exc, HookFailed):
        return 422, "hook-failed"
    if isinstance(exc, (host_errors.RequirementsNotMet, host_errors.DependenciesMissing)):
        return 422, "requirements-not-met"
    return 400, "bad-request"


def classify(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and error code for *exc* (500 ``internal`` for anything not ours)."""
    if isinstance(exc, AppPackageError):
        return _status_of(exc)
    return 500, "internal"


def problems_of(exc: BaseException) -> list[dict[str, Any]]:
    """Every problem *exc* carries, as ``{"field", "path", "message"}``."""
    if isinstance(exc, ApiError):
        return list(exc.errors)
    if isinstance(exc, InvalidConfiguration):
        out = []
        for p in exc.problems:
            name = p.path.lstrip("/").split("/", 1)[0].replace("~1", "/").replace("~0", "~")
            out.append({"field": name or None, "path": p.path, "message": p.message})
        return out
    if isinstance(exc, InvalidPackage):
        return [{"field": p.file, "path": p.path, "message": p.message} for p in exc.problems]
    return []


def error_body(exc: BaseException, *, message: str | None = None) -> dict[str, Any]:
    """The JSON body of an error response for *exc*."""
    status, code = classify(exc)
    text = message if message is not None else (str(exc) if status != 500 else "internal server error")
    body: dict[str, Any] = {
        "error": {"status": status, "code": code, "message": text, "type": type(exc).__name__},
        "errors": problems_of(exc),
    }
    if isinstance(exc, ApiError):
        body["error"].update(exc.extra)
    return body


def error_text(message: str, problems: list[dict[str, Any]]) -> str:
    """An error as text: the message (its first line when the problems follow), then one line per problem."""
    if not problems:
        return message
    lines = [message.splitlines()[0] if message else "invalid"]
    for p in problems:
        where = p.get("field") or ""
        if p.get("path") and p["path"] != f"/{where}":
            where += p["path"]
        lines.append(f"  {where}: {p.get('message')}" if where else f"  {p.get('message')}")
    return "\n".join(lines)


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    """A JSON error response built from parts (for errors that are not exceptions of ours)."""
    body = {"error": {"status": status, "code": code, "message": message, **extra}, "errors": []}
    return Response(json_body=body, status=status, charset="utf-8")


def _app_error_view(exc: AppPackageError, request: Request) -> Response:
    body = error_body(exc)
    return Response(json_body=body, status=body["error"]["status"], charset="utf-8")


def _http_error_view(exc: HTTPException, request: Request) -> Response:
    if isinstance(exc, PredicateMismatch):
        return error_response(405, "method-not-allowed", f"{request.method} is not allowed on {request.path}")
    code = exc.title.lower().replace(" ", "-") if exc.title else "error"
    message = exc.detail or exc.explanation or exc.title
    if exc.code == 404:
        message = f"no such resource: {request.path} (see /api/v1/openapi.json)"
    response = error_response(exc.code or 500, code, str(message))
    for name in ("Location", "Allow", "WWW-Authenticate"):
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


def _internal_error_view(exc: Exception, request: Request) -> Response:
    log.error("internal error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal", "internal server error (the server's log has the details)")


def includeme(config: Configurator) -> None:
    """Every error becomes a JSON response with the status :func:`classify` gives."""
    config.add_exception_view(_app_error_view, context=AppPackageError)
    config.add_exception_view(_http_error_view, context=HTTPException)
    config.add_exception_view(_internal_error_view, context=Exception)
