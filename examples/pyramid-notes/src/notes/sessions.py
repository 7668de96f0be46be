"""Server-side sessions: the data in the ``sessions`` writable dir, only a signed id in the cookie.

The cookie holds ``<id>.<signature>``, the signature an HMAC of the id with the
``session_secret`` setting; each session is one JSON file, written atomically.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from pyramid.interfaces import ISession
from zope.interface import implementer

__all__ = ["COOKIE_NAME", "MAX_AGE", "FileSession", "SessionStore", "prune_sessions", "session_factory"]

COOKIE_NAME = "notes_session"
MAX_AGE = 14 * 24 * 3600
_ID = re.compile(r"[A-Za-z0-9_-]{43}")


class SessionStore:
    """Session files in *directory*; ids signed with *secret*."""

    def __init__(self, directory: str | os.PathLike[str], secret: str, max_age: int = MAX_AGE) -> None:
        if len(secret) < 16:
            raise ValueError("session_secret: needs at least 16 characters")
        self.directory = Path(directory)
        self.key = secret.encode("utf-8")
        self.max_age = max_age

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(32)

    def sign(self, sid: str) -> str:
        mac = hmac.new(self.key, sid.encode("ascii"), hashlib.sha256).digest()
        return f"{sid}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"

    def unsign(self, value: str) -> str | None:
        """The id in a cookie *value*, or ``None`` when it is malformed or not signed with our secret."""
        sid, _, _ = value.partition(".")
        if not _ID.fullmatch(sid):
            return None
        return sid if hmac.compare_digest(self.sign(sid), value) else None

    def _path(self, sid: str) -> Path:
        return self.directory / f"{sid}.json"

    def load(self, sid: str) -> tuple[dict[str, Any], float] | None:
        """The data and creation time of session *sid*; ``None`` when missing or expired."""
        path = self._path(sid)
        try:
            if time.time() - path.stat().st_mtime > self.max_age:
                return None
            stored = json.loads(path.read_text(encoding="utf-8"))
            os.utime(path)  # the modification time is the last use; prune() goes by it
        except (OSError, ValueError):
            return None
        return dict(stored["data"]), float(stored["created"])

    def save(self, sid: str, data: dict[str, Any], created: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"created": created, "data": data}, f)
        os.replace(tmp, self._path(sid))

    def delete(self, sid: str) -> None:
        self._path(sid).unlink(missing_ok=True)

    def prune(self, now: float | None = None) -> int:
        """Delete sessions unused for longer than ``max_age``; return how many."""
        return prune_sessions(self.directory, self.max_age, now)


def prune_sessions(
    directory: str | os.PathLike[str], max_age: int = MAX_AGE, now: float | None = None
) -> int:
    """Delete the session files in *directory* unused for longer than *max_age* seconds."""
    now = time.time() if now is None else now
    removed = 0
    for path in Path(directory).glob("*.json"):
        try:
            if now - path.stat().st_mtime > max_age:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@implementer(ISession)
class FileSession(dict[str, Any]):
    """A Pyramid session (``ISession``) saved by :class:`SessionStore` when the response goes out."""

    def __init__(self, request: Any, store: SessionStore, sid: str | None) -> None:
        loaded = store.load(sid) if sid else None
        super().__init__(loaded[0] if loaded else {})
        self.store = store
        self.new = loaded is None
        self.sid = sid if loaded and sid else store.new_id()
        self.created = loaded[1] if loaded else time.time()
        self._changed = False
        request.add_response_callback(self._respond)

    # Every change marks the session for saving.
    def changed(self) -> None:
        self._changed = True

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changed()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.changed()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self.changed()
        return super().popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.changed()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.changed()

    def clear(self) -> None:
        super().clear()
        self.changed()

    def invalidate(self) -> None:
        """Forget this session; anything stored afterwards goes to a new one with a new id."""
        self.store.delete(self.sid)
        super().clear()
        self.sid = self.store.new_id()
        self.created = time.time()
        self.new = True
        self.changed()

    def flash(self, msg: str, queue: str = "", allow_duplicate: bool = True) -> None:
        messages = self.setdefault("_f_" + queue, [])
        if allow_duplicate or msg not in messages:
            messages.append(msg)
            self.changed()

    def pop_flash(self, queue: str = "") -> list[str]:
        return list(self.pop("_f_" + queue, []))

    def peek_flash(self, queue: str = "") -> list[str]:
        return list(self.get("_f_" + queue, []))

    def new_csrf_token(self) -> str:
        token = secrets.token_hex(20)
        self["_csrft_"] = token
        return token

    def get_csrf_token(self) -> str:
        return self.get("_csrft_") or self.new_csrf_token()

    def _respond(self, request: Any, response: Any) -> None:
        if not self._changed:
            return
        path = request.script_name or "/"
        if self:
            self.store.save(self.sid, dict(self), self.created)
            response.set_cookie(
                COOKIE_NAME,
                self.store.sign(self.sid),
                max_age=self.store.max_age,
                path=path,
                httponly=True,
                samesite="Lax",
                secure=request.scheme == "https",
            )
        else:
            self.store.delete(self.sid)
            response.delete_cookie(COOKIE_NAME, path=path)


def session_factory(store: SessionStore) -> Any:
    """The session factory for ``config.set_session_factory``."""

    def factory(request: Any) -> FileSession:
        cookie = request.cookies.get(COOKIE_NAME)
        return FileSession(request, store, store.unsign(cookie) if cookie else None)

    return factory
