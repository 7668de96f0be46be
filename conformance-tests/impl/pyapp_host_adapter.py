"""The conformance process contract answered by :mod:`pyapp_runtime`, this project's host.

:func:`answer` takes one case request of the ``lifecycle`` or the ``host`` area (see
``conformance-tests/README.md``) and answers it by doing it: it builds the case's packages,
installs, updates, rolls back and removes them on a scratch host
(:class:`hostkit.ScratchHost`: a :class:`pyapp_runtime.Host` in a temporary directory,
with its own supervisord and no web server, removed before the answer) and reports
what it observed. ``pyapp-host-impl`` is the process around it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import host_area
import host_lifecycle

__all__ = ["SKIPS", "answer", "main"]

SKIPS: dict[str, str] = {}
"""Cases this host does not pass yet: case description -> its bug (answered as ``{"skip": reason}``,
unless ``PYAPP_CONFORMANCE_STRICT=1``: the test suite then checks that each still fails)."""

_HANDLERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "lifecycle": host_lifecycle.answer,
    "host": host_area.answer,
}


def answer(request: Mapping[str, Any], *, skips: bool = True) -> dict[str, Any]:
    """The answer document for one case *request*; with *skips*, a skip for the cases in :data:`SKIPS`."""
    reason = SKIPS.get(str(request.get("case", "")))
    if skips and reason is not None:
        return {"skip": reason}
    handler = _HANDLERS.get(str(request.get("area")))
    if handler is None:
        return {"skip": f"area {request.get('area')!r} is not what this host implementation answers"}
    return handler(request)


def main() -> int:
    """Read one request from stdin, write its answer to stdout (the process contract)."""
    import sys

    request = json.load(sys.stdin)
    strict = os.environ.get("PYAPP_CONFORMANCE_STRICT") == "1"
    json.dump(answer(request, skips=not strict), sys.stdout)
    sys.stdout.write("\n")
    return 0
