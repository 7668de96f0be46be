"""Receiving a package to install: an upload (raw body or multipart) or a path on the server.

``application/octet-stream``
    the body is the ``.pyapp``; options in the query (``filename``, ``force``, ``ignore_requirements``,
    ``set=KEY=VALUE``, ``service=NAME=VALUE``, ``trust_key``...)
``multipart/form-data``
    the file in the field ``package``; options as form fields
``application/json``
    ``{"path": "/abs/path/app.pyapp", "force": false, "ignore_requirements": false,
    "settings": ["KEY=VALUE"], "services": ["NAME=VALUE"], "trust_key": "SHA256:..."}``: a file on the
    server, in the drop folder
    or the upload directory (:func:`server_package`; anywhere else is refused with 403)

Uploads larger than ``max_upload_size`` are refused with 413 before they are read when
their length is announced, and as soon as they pass the limit otherwise. Each upload is
staged in a private directory under ``<data>/server/uploads/`` and deleted after its job.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pyapp_runtime.errors import DiskFull
from pyramid.request import Request

from .bodies import body_limit, json_object, too_large
from .errors import ApiError

__all__ = [
    "ReceivedPackage",
    "assignments",
    "flag_value",
    "receive_package",
    "server_package",
    "trust_key_value",
    "uploaded_package",
]

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True, kw_only=True)
class ReceivedPackage:
    path: Path
    staged: bool
    """Whether *path* is a staged upload (deleted once used) rather than a file of the server's."""
    force: bool = False
    ignore_requirements: bool = False
    """Install even though requirements of the package are not met on the host (spec section 3.3)."""
    settings: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    """``NAME=VALUE`` values of the app's services (spec section 3.9)."""
    trust_key: str | None = None
    """Re-pin the app to the package's signer: its fingerprint, or ``unsigned`` (spec section 2.6)."""


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


def assignments(values: Any, field: str = "settings", form: str = "KEY=VALUE") -> tuple[str, ...]:
    """*values*, which must be a list of ``KEY=VALUE`` strings (422 naming *field* otherwise)."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) and "=" in v for v in values):
        raise ApiError(
            f"{field} must be a list of '{form}' strings",
            status=422,
            code="invalid-request",
            errors=[{"field": field, "path": "", "message": f"must be a list of '{form}' strings"}],
        )
    return tuple(values)


def _services(values: Any) -> tuple[str, ...]:
    return assignments(values, "services", "NAME=VALUE")


def trust_key_value(value: Any) -> str | None:
    """*value* as the key to trust (a fingerprint, or ``unsigned``); absent or empty: ``None``; 422 naming
    ``trust_key`` otherwise."""
    from pyapp_runtime.errors import HostError
    from pyapp_runtime.lifecycle.trust import parse_trust_key

    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise HostError("trust_key must be a string: a key's fingerprint (SHA256:...) or 'unsigned'")
        return parse_trust_key(value)
    except HostError as exc:
        message = "must be a key's fingerprint (SHA256:...) or 'unsigned'"
        raise ApiError(
            str(exc), status=422, code="invalid-request",
            errors=[{"field": "trust_key", "path": "/trust_key", "message": message}],
        ) from None  # fmt: skip


def _stage(uploads: Path, filename: str) -> Path:
    name = _UNSAFE.sub("_", os.path.basename(filename or "")).lstrip(".") or "upload.pyapp"
    directory = uploads / secrets.token_hex(8)
    directory.mkdir(mode=0o700, parents=True)
    return directory / name


def _copy(source: IO[bytes], target: Path, limit: int, *, admin: bool) -> None:
    """Copy *source* to *target*, refusing (413, *target*'s directory removed) past *limit* bytes, or
    when the disk is full (507: the path is told to admins only)."""
    total = 0
    try:
        with open(target, "wb") as out:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise too_large(limit, upload=True)
                out.write(chunk)
    except BaseException as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        if DiskFull.caused(exc):
            where = f" ({target.parent.parent})" if admin else ""
            raise ApiError(
                f"the disk is full: the server has no space left to store the upload{where}; "
                "ask its administrator to free some",
                status=507,
                code="disk-full",
            ) from None
        raise


def server_package(value: Any, *, roots: Sequence[Path], admin: bool) -> Path:
    """The package file *value* names, which must be inside one of *roots* (after following links).

    A path elsewhere is refused (403) without a word on whether it exists; only an
    admin is told the server's paths (the roots, the path) in the error.
    """
    where = "the server's drop folder or upload directory"
    if admin:
        where += " (" + ", ".join(str(r) for r in roots) + ")"
    if not isinstance(value, str) or not os.path.isabs(value):
        raise ApiError(
            f"path must be the absolute path of a package in {where}",
            status=422,
            code="invalid-request",
            errors=[{"field": "path", "path": "/path", "message": "must be an absolute path on the server"}],
        )
    target = Path(os.path.realpath(value))
    if not any(target.is_relative_to(os.path.realpath(root)) for root in roots):
        shown = f"{value}: " if admin else ""
        raise ApiError(
            f"{shown}packages are installed from a server path only from {where}; "
            "copy the package there, or upload it instead",
            status=403,
            code="path-not-allowed",
            errors=[{"field": "path", "path": "/path", "message": f"must be in {where}"}],
        )
    if not target.is_file():
        shown = f"{value}: " if admin else ""
        raise ApiError(
            f"{shown}no such package file in {where}",
            status=422,
            code="invalid-request",
            errors=[{"field": "path", "path": "/path", "message": "no such file"}],
        )
    return target


def _from_json(request: Request, roots: Sequence[Path], admin: bool) -> ReceivedPackage:
    data = json_object(request)
    unknown = sorted(
        set(data) - {"path", "force", "ignore_requirements", "settings", "services", "trust_key"}
    )
    problems = [{"field": k, "path": f"/{k}", "message": "unknown property"} for k in unknown]
    if "path" not in data:
        problems.append({"field": "path", "path": "/path", "message": "is required"})
    if problems:
        raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
    return ReceivedPackage(
        path=server_package(data["path"], roots=roots, admin=admin),
        staged=False,
        force=flag_value(data.get("force", False), "force"),
        ignore_requirements=flag_value(data.get("ignore_requirements", False), "ignore_requirements"),
        settings=assignments(data.get("settings", [])),
        services=_services(data.get("services", [])),
        trust_key=trust_key_value(data.get("trust_key")),
    )


def receive_package(
    request: Request, *, uploads: Path, max_upload_size: int, roots: Sequence[Path], admin: bool
) -> ReceivedPackage:
    """The package a request carries (see the module docstring); raise :class:`ApiError` (4xx).

    *roots* are the folders a server path may name (:func:`server_package`); *admin*, whether
    the request's errors may show the server's paths.
    """
    content_type = request.content_type
    if content_type == "application/json":
        return _from_json(request, roots, admin)
    limit, _upload = body_limit(content_type, max_upload_size)
    length = request.content_length
    if length is not None and length > limit:
        raise too_large(max_upload_size, upload=True, length=length)
    if content_type == "application/octet-stream":
        target = _stage(uploads, request.GET.get("filename", ""))
        _copy(request.body_file, target, max_upload_size, admin=admin)
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
        _copy(field.file, target, max_upload_size, admin=admin)
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
            ignore_requirements=flag_value(options.get("ignore_requirements", ""), "ignore_requirements"),
            settings=assignments(list(options.getall("set")) if hasattr(options, "getall") else []),
            services=_services(list(options.getall("service")) if hasattr(options, "getall") else []),
            trust_key=trust_key_value(options.get("trust_key")),
        )
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise


def uploaded_package(request: Request) -> ReceivedPackage:
    """:func:`receive_package` of *request* by the server's settings and its caller (only an admin is told
    the server's paths): what the API's install and update and the web interface's upload forms take."""
    settings = request.services.settings
    identity = request.identity
    return receive_package(
        request,
        uploads=settings.upload_dir,
        max_upload_size=settings.max_upload_size,
        roots=settings.package_roots,
        admin=identity is not None and identity.role == "admin",
    )
