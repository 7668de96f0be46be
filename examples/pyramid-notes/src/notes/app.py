"""The pyapp WSGI factory (metadata.yaml: ``wsgi: {app: notes.app:make_app, factory: true}``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import main

__all__ = ["make_app"]


def make_app(config: Mapping[str, Any]) -> Any:
    """The Pyramid application for the host's filled-in *config* (spec section 6.6).

    The settings become Pyramid settings under ``notes.``; the data directories come
    from the writable dirs the host gives (``PYAPP_WRITABLE_NOTES`` and ``..._SESSIONS``).
    """
    return main({}, **{f"notes.{key}": value for key, value in config.items()})
