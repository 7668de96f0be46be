"""Changes waiting for their confirmation: what a form asked, kept on the server between the page that
shows the change and the request that confirms it (so that a new secret never travels back to the
browser in a hidden field).

Each change is kept for :data:`KEEP` seconds at most, for the sign-in that asked it and the page it
belongs to; confirming takes it (once). Only the last :data:`MOST` changes are kept.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["KEEP", "MOST", "Pending"]

KEEP = 15 * 60
MOST = 200


@dataclass(frozen=True, kw_only=True)
class _Change:
    owner: str
    where: str
    payload: Any
    until: float


class Pending:
    """Changes waiting to be confirmed, by a random id."""

    def __init__(self) -> None:
        self._changes: OrderedDict[str, _Change] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, owner: str, where: str, payload: Any) -> str:
        """Keep *payload*, asked by *owner* (a token id) on the page *where*; its id."""
        change_id = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, c in self._changes.items() if c.until < now]:
                del self._changes[key]
            while len(self._changes) >= MOST:
                self._changes.popitem(last=False)
            self._changes[change_id] = _Change(owner=owner, where=where, payload=payload, until=now + KEEP)
        return change_id

    def take(self, change_id: str, owner: str, where: str) -> Any | None:
        """The payload kept as *change_id* by *owner* for *where* (forgotten from now on), or ``None``."""
        with self._lock:
            change = self._changes.get(change_id)
            if change is None or change.owner != owner or change.where != where:
                return None
            del self._changes[change_id]
        return change.payload if change.until >= time.monotonic() else None
