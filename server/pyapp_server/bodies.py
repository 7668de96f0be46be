"""Request bodies within limits: how large each kind may be, and how deeply JSON may nest.

A package upload (``application/octet-stream``, or ``multipart/form-data`` with its framing)
may be ``max_upload_size`` bytes; any other body (JSON, an XML-RPC call) at most
:data:`MAX_BODY`. A JSON body or XML-RPC call may nest at most :data:`MAX_DEPTH` arrays and
objects deep. Past a limit the answer is a 413 or 400 naming it, never a 500, and nothing
of the request is kept. The servers apply the size limits before reading a body
(:mod:`pyapp_server.gate`); the functions here apply them again to what is read.
"""

from __future__ import annotations

import json
from typing import Any

from pyramid.request import Request

from .errors import ApiError

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "MULTIPART_SLACK",
    "UPLOAD_TYPES",
    "body_limit",
    "deeper_than",
    "json_object",
    "read_body",
    "too_deep",
    "too_large",
]

MAX_BODY = 1024 * 1024
"""The largest body other than a package upload (JSON, XML-RPC), in bytes."""
MAX_DEPTH = 64
"""How many arrays and objects (structs) a JSON body or XML-RPC call may nest."""
MULTIPART_SLACK = 64 * 1024
"""What multipart framing (boundaries, part headers, form fields) may add to the largest package."""
UPLOAD_TYPES = ("application/octet-stream", "multipart/form-data")


def body_limit(content_type: str, max_upload_size: int) -> tuple[int, bool]:
    """The most a body of *content_type* may be, and whether it is a package upload."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/octet-stream":
        return max_upload_size, True
    if media == "multipart/form-data":
        return max_upload_size + MULTIPART_SLACK, True
    return MAX_BODY, False


def too_large(limit: int, *, upload: bool, length: int | None = None) -> ApiError:
    """413: the body is over *limit*; the message says which limit and what to do."""
    size = f" ({length} bytes)" if length is not None else ""
    if upload:
        message = (
            f"the upload{size} is larger than this server accepts: at most {limit} bytes (the server "
            "setting max_upload_size); send a smaller package, or ask an admin to raise max_upload_size"
        )
        extra: dict[str, Any] = {"limit": limit, "setting": "max_upload_size"}
    else:
        message = (
            f"the body{size} is larger than {limit} bytes, the most a JSON body or XML-RPC call may be; "
            "send packages as uploads (application/octet-stream or multipart/form-data), whose limit is "
            "the server setting max_upload_size"
        )
        extra = {"limit": limit}
    return ApiError(message, status=413, code="payload-too-large", extra=extra)


def too_deep(limit: int = MAX_DEPTH) -> ApiError:
    """400: the body nests arrays and objects deeper than *limit*."""
    return ApiError(
        f"the body nests arrays and objects more than {limit} levels deep, the most this server reads; "
        "send a flatter document",
        code="too-deep",
        extra={"limit": limit},
    )


def read_body(request: Request, limit: int, *, upload: bool = False) -> bytes:
    """The request's body, at most *limit* bytes (413 past it, announced or not)."""
    length = request.content_length
    if length is not None and length > limit:
        raise too_large(limit, upload=upload, length=length)
    data: bytes = request.body_file.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit, upload=upload)
    return data


def deeper_than(value: Any, limit: int) -> bool:
    """Whether *value* nests lists, tuples and dicts more than *limit* deep (iteratively: any depth)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON body, an object within :data:`MAX_BODY` and :data:`MAX_DEPTH` (4xx otherwise)."""
    if optional and request.content_type != "application/json" and not read_body(request, MAX_BODY):
        return {}
    if request.content_type != "application/json":
        raise ApiError(
            "expected a JSON body (Content-Type: application/json), "
            f"not {request.content_type or 'nothing'!r}",
            status=415,
            code="unsupported-media-type",
        )
    raw = read_body(request, MAX_BODY)
    if not raw.strip() and optional:
        return {}
    try:
        data = json.loads(raw)
    except RecursionError:
        raise too_deep() from None
    except ValueError as exc:
        raise ApiError(f"the body is not valid JSON: {exc}", code="malformed-json") from None
    if deeper_than(data, MAX_DEPTH):
        raise too_deep()
    if not isinstance(data, dict):
        raise ApiError("the JSON body must be an object", code="malformed-json")
    return data
