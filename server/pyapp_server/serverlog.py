"""The server's log: one line per request, and what went wrong.

A request's line is ``<client address> <method> <path> <status> <actor> <time taken>``,
e.g. ``127.0.0.1 POST /api/v1/apps 401 - 2ms``: the address is the peer of the connection
(``REMOTE_ADDR``; never a forwarding header a client can write), the actor is the token's
name. Secrets never reach it: requests are logged without their query string or headers,
characters that are not printable are escaped (no forged lines), and a filter masks
anything shaped like a token (``pyapp_...``) and the configured ``admin_token`` in every
record, should one slip into a message.

The file is rotated by size (:class:`logging.handlers.RotatingFileHandler`): once it would
pass ``log_max_size`` it becomes ``server.log.1`` (the older ones ``.2`` ...), and
``log_backups`` of them are kept; every file is created owner-only (0600).
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

__all__ = ["PrivateRotatingFileHandler", "RedactingFilter", "configure_logging", "includeme"]

access = logging.getLogger("pyapp_server.access")
_TOKEN = re.compile(r"pyapp_[A-Za-z0-9_-]{16,}")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


class RedactingFilter(logging.Filter):
    """Replace token-shaped strings and the given *secrets* in every record by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True

    def _clean(self, text: str) -> str:
        text = _TOKEN.sub("pyapp_***", text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A :class:`RotatingFileHandler` whose files (the log and each new one after a rotation) are 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def configure_logging(
    log_file: Path,
    level: str,
    *,
    secrets: Iterable[str] = (),
    stream: bool = True,
    max_size: int = 0,
    backups: int = 0,
) -> None:
    """Send the server's records to *log_file* (mode 0600) and, with *stream*, to stderr.

    The file is rotated once it would pass *max_size* bytes, keeping *backups* old ones
    (either 0: never rotated).
    """
    log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    redact = RedactingFilter(secrets)
    file_handler = PrivateRotatingFileHandler(
        log_file, maxBytes=max_size, backupCount=backups, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if stream:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redact)
        root.addHandler(handler)
    logging.getLogger("pyapp_server").setLevel(level.upper())
    logging.getLogger("waitress").setLevel(logging.WARNING if level != "debug" else logging.DEBUG)
    root.setLevel(logging.WARNING)


def _printable(text: str) -> str:
    """*text* with spaces, controls and non-ASCII escaped (``%20``...), so that a line stays one line."""
    return _UNPRINTABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), text)


def access_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[..., Response]:
    def access_tween(request: Request) -> Response:
        started = time.monotonic()
        response = handler(request)
        if access.isEnabledFor(logging.INFO):
            actor = getattr(request.identity, "name", None) or "-"
            access.info(
                "%s %s %s %s %s %.0fms",
                _printable(request.remote_addr or "-"),
                _printable(request.method),
                _printable(request.path),
                response.status_code,
                _printable(actor),
                (time.monotonic() - started) * 1000,
            )
        return response

    return access_tween


def includeme(config: Configurator) -> None:
    """Log every request (without query string or headers)."""
    config.add_tween("pyapp_server.serverlog.access_tween_factory")
