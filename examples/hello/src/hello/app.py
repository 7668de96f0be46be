"""A WSGI application that greets, counts its visits and shows what the host gave it."""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from . import settings

__version__ = os.environ.get("PYAPP_VERSION", "dev")

# -- the visit counter ----------------------------------------------------------------


def _count_visit() -> int:
    """Add one visit to the counter in the ``counters`` writable dir; the new count (0 without one).

    A host serves the app with several threads, or several processes (``method: processes``),
    all counting in the same file. Each visit holds an exclusive ``flock`` on a lock file beside
    the counter for its read-add-write: a ``flock`` lock belongs to an open file, so it excludes
    the other threads of this process as well as other processes (an ``fcntl.lockf`` lock, which
    belongs to the process, would not). The new count is written to another file and renamed
    over the counter, so that no one ever reads half a number, even after a crash.
    """
    counters = os.environ.get("PYAPP_WRITABLE_COUNTERS")
    if not counters:
        return 0
    path = Path(counters) / "visits"
    with open(path.with_name(".visits.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        try:
            visits = int(path.read_text()) + 1
        except FileNotFoundError:
            visits = 1
        new = path.with_name(".visits.new")
        new.write_text(str(visits))
        os.replace(new, path)
    return visits


# -- what /env shows --------------------------------------------------------------------

MASK = "****"
# The variables of spec section 5.3: names, a version and paths, none of them a secret.
_PLAIN = frozenset(
    {
        "PYAPP_NAME", "PYAPP_VERSION", "PYAPP_ROOT", "PYAPP_CONFIG_FILE", "PYAPP_DATA_PATH",
        "PYAPP_TMP_PATH", "PYAPP_LOG_PATH", "PYAPP_PROCESS", "PYAPP_PORT", "PYAPP_SOCKET",
        "PYAPP_MOUNT_PATH",
    }
)  # fmt: skip
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def mask(value: str) -> str:
    """*value* fit to show: a URL without its password and query values; anything else ``****``."""
    if not _URL.match(value):
        return MASK
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
    except ValueError:
        return MASK
    if "@" in value[len(parts.scheme) + 3 + len(parts.netloc) :]:
        # An unescaped "/", "?" or "#" in a password ends the host part early: hide it all.
        return f"{parts.scheme}://{MASK}"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = hostport
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{user}@{hostport}"
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.query:
        # Tokens travel in query strings as often as passwords do in the user part.
        shown += "?" + "&".join(f"{item.partition('=')[0]}={MASK}" for item in parts.query.split("&"))
    if parts.fragment:
        shown += f"#{MASK}"
    return shown


def shown_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``PYAPP_`` variables of *environ* as ``/env`` shows them to any visitor.

    Those of section 5.3 as they are; every other one is a service's value (section 3.9), a URL
    that carries its credentials, or something this app does not know: shown masked.
    """
    return {
        key: value if key in _PLAIN or key.startswith("PYAPP_WRITABLE_") else mask(value)
        for key, value in environ.items()
        if key.startswith("PYAPP_")
    }


# -- the application --------------------------------------------------------------------


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/") or "/"
    script_name = environ.get("SCRIPT_NAME", "")
    if path == "/health":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path == "/env":
        body = json.dumps(
            {
                "script_name": script_name,
                "path_info": path,
                "variables": shown_variables(os.environ),
            },
            indent=2,
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    greeting = html.escape(settings.load()["greeting"])
    visits = _count_visit()
    name = html.escape(os.environ.get("PYAPP_NAME", "hello"))
    body = (
        "<!doctype html><title>hello</title>"
        f"<h1>{greeting} from {name} {html.escape(__version__)}</h1>"
        f"<p>Visit number {visits}.</p>"
        f'<p><a href="{html.escape(script_name)}/env">What the host gave this app</a></p>'
    ).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]
