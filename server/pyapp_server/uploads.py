"""Receiving a package to install: an upload (raw body or multipart) or a path on the server.

``application/octet-stream``
    the body is the ``.pyapp``; options in the query (``filename``, ``force``, ``set=KEY=VALUE``,
    ``service=NAME=VALUE``...)
``multipart/form-data``
    the file in the field ``package``; options as form fields
``application/json``
    ``{"path": "/abs/path/app.pyapp", "force": false, "settings": ["KEY=VALUE"],
    "services": ["NAME=VALUE"]}``: a file the server can read

Uploads larger than ``max_upload_size`` are refused with 413 before they are read when
their length is announced, and as soon as they pass the limit otherwise. Each upload is
staged in a private directory under ``<data>/server/uploads/`` and deleted after its job.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pyramid.request import Request

from .errors import ApiError

__all__ = ["ReceivedPackage", "flag_value", "json_object", "receive_package"]

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True, kw_only=True)
class ReceivedPackage:
    path: Path
    staged: bool
    """Whether *path* is a staged upload (deleted once used) rather than a file of the server's."""
    force: bool = False
    settings: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    """``NAME=VALUE`` values of the app's services (spec section 3.9)."""


def _too_large(limit: int) -> ApiError:
    return ApiError(
        f"the upload is larger than this server accepts ({limit} bytes, setting max_upload_size)",
        status=413,
        code="payload-too-large",
        extra={"limit": limit},
    )


def flag_value(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ApiError(
        f"{name}={value!r} is not a boolean (true or false)",
        status=422,
        code="invalid-request",
        errors=[{"field": name, "path": "", "message": "must be true or false"}],
    )


def _settings(values: Any, field: str = "settings", form: str = "KEY=VALUE") -> tuple[str, ...]:
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) and "=" in v for v in values):
        raise ApiError(
            f"{field} must be a list of '{form}' strings",
            status=422,
            code="invalid-request",
            errors=[{"field": field, "path": "", "message": f"must be a list of '{form}' strings"}],
        )
    return tuple(values)


def _services(values: Any) -> tuple[str, ...]:
    return _settings(values, "services", "NAME=VALUE")


def _stage(uploads: Path, filename: str) -> Path:
    name = _UNSAFE.sub("_", os.path.basename(filename or "")).lstrip(".") or "upload.pyapp"
    directory = uploads / secrets.token_hex(8)
    directory.mkdir(mode=0o700, parents=True)
    return directory / name


def _copy(source: IO[bytes], target: Path, limit: int) -> None:
    total = 0
    try:
        with open(target, "wb") as out:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise _too_large(limit)
                out.write(chunk)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise


def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON body, which must be an object (400 otherwise)."""
    if not request.body and optional:
        return {}
    if request.content_type != "application/json":
        raise ApiError(
            "expected a JSON body (Content-Type: application/json), "
            f"not {request.content_type or 'nothing'!r}",
            status=415,
            code="unsupported-media-type",
        )
    try:
        data = request.json_body
    except ValueError as exc:
        raise ApiError(f"the body is not valid JSON: {exc}", code="malformed-json") from None
    if not isinstance(data, dict):
        raise ApiError("the JSON body must be an object", code="malformed-json")
    return data


def _from_json(request: Request) -> ReceivedPackage:
    data = json_object(request)
    unknown = sorted(set(data) - {"path", "force", "settings", "services"})
    problems = [{"field": k, "path": f"/{k}", "message": "unknown property"} for k in unknown]
    path = data.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        problems.append(
            {"field": "path", "path": "/path", "message": "must be an absolute path on the server"}
        )
    if problems or not isinstance(path, str):
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    target = Path(path)
    if not target.exists():
        raise ApiError(
            f"{target}: no such file on the server",
            status=422,
            code="invalid-request",
            errors=[{"field": "path", "path": "/path", "message": "no such file"}],
        )
    return ReceivedPackage(
        path=target,
        staged=False,
        force=flag_value(data.get("force", False), "force"),
        settings=_settings(data.get("settings", [])),
        services=_services(data.get("services", [])),
    )


def receive_package(request: Request, *, uploads: Path, limit: int) -> ReceivedPackage:
    """The package a request carries (see the module docstring); raise :class:`ApiError` (4xx)."""
    content_type = request.content_type
    if content_type == "application/json":
        return _from_json(request)
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    if content_type == "application/octet-stream":
        target = _stage(uploads, request.GET.get("filename", ""))
        _copy(request.body_file, target, limit)
        options: Mapping[str, Any] = request.GET
    elif content_type == "multipart/form-data":
        if length is None:
            raise ApiError("a multipart upload needs a Content-Length", status=411, code="length-required")
        field = request.POST.get("package")
        if field is None or not hasattr(field, "file"):
            raise ApiError(
                "the multipart body has no file in the field 'package'",
                status=422,
                code="invalid-request",
                errors=[{"field": "package", "path": "", "message": "is required (a file)"}],
            )
        target = _stage(uploads, field.filename or "")
        _copy(field.file, target, limit)
        options = request.POST
    else:
        raise ApiError(
            f"send the package as application/octet-stream or multipart/form-data (field 'package'), or "
            f'JSON {{"path": ...}}; not {content_type or "an empty body"!r}',
            status=415,
            code="unsupported-media-type",
        )
    try:
        return ReceivedPackage(
            path=target,
            staged=True,
            force=flag_value(options.get("force", ""), "force"),
            settings=_settings(list(options.getall("set")) if hasattr(options, "getall") else []),
            services=_services(list(options.getall("service")) if hasattr(options, "getall") else []),
        )
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
