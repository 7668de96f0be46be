"""The server's log: one line per request (method, path, status, actor, time taken), and what went wrong.

Secrets never reach it: requests are logged without their query string or headers,
and a filter masks anything shaped like a token (``pyapp_...``) and the configured
``admin_token`` in every record, should one slip into a message.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

__all__ = ["RedactingFilter", "configure_logging", "includeme"]

access = logging.getLogger("pyapp_server.access")
_TOKEN = re.compile(r"pyapp_[A-Za-z0-9_-]{16,}")
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


def configure_logging(
    log_file: Path, level: str, *, secrets: Iterable[str] = (), stream: bool = True
) -> None:
    """Send the server's records to *log_file* (mode 0600) and, with *stream*, to stderr."""
    log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_file.touch(mode=0o600, exist_ok=True)
    redact = RedactingFilter(secrets)
    handlers: list[logging.Handler] = [logging.FileHandler(log_file, encoding="utf-8")]
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


def access_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[..., Response]:
    def access_tween(request: Request) -> Response:
        started = time.monotonic()
        response = handler(request)
        if access.isEnabledFor(logging.INFO):
            actor = getattr(request.identity, "name", None) or "-"
            access.info(
                "%s %s %s %s %.0fms",
                request.method,
                request.path,
                response.status_code,
                actor,
                (time.monotonic() - started) * 1000,
            )
        return response

    return access_tween


def includeme(config: Configurator) -> None:
    """Log every request (without query string or headers)."""
    config.add_tween("pyapp_server.serverlog.access_tween_factory")
