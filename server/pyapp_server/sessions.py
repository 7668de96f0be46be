"""Sign-in sessions of the web interface: a browser exchanges an API token for a session.

A session is a row of the server's database: the sha256 of a random id, the id of the token it
was opened with, and when it was opened. The browser holds the id inside Pyramid's signed
session cookie (:mod:`pyapp_server.ui.session`), whose signing key :func:`session_secret` makes
once and keeps in ``<data>/server/session-secret`` (mode 0600). A session ends when it is
closed (signing out), when its token is revoked, or :data:`MAX_AGE` seconds after it opened,
whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path

from ._db import Database
from .tokens import Token, TokenStore

__all__ = ["MAX_AGE", "SECRET_FILE", "SessionStore", "session_secret"]

MAX_AGE = 12 * 3600
"""How long a session lasts at most, in seconds, however active it is."""
SECRET_FILE = "session-secret"  # noqa: S105 (a file name)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore:
    """The open sessions in *db*, each standing for a token of *tokens*."""

    def __init__(self, db: Database, tokens: TokenStore) -> None:
        self.db = db
        self.tokens = tokens

    def open(self, token: Token) -> str:
        """A new session for *token*; its id (kept only as a hash here) goes into the browser's cookie."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.connect() as conn:
            conn.execute("DELETE FROM sessions WHERE opened < ?", (now - MAX_AGE,))
            conn.execute(
                "INSERT INTO sessions (id, token, opened) VALUES (?, ?, ?)", (_key(session_id), token.id, now)
            )
        return session_id

    def token_of(self, session_id: str) -> Token | None:
        """The token session *session_id* stands for, or ``None`` (closed, too old, its token revoked).

        Read without writing: the servers' loops ask it before reading a request's body.
        """
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT token, opened FROM sessions WHERE id = ?", (_key(session_id),)
            ).fetchone()
        if row is None or time.time() - row["opened"] > MAX_AGE:
            return None
        return self.tokens.find(row["token"])

    def close(self, session_id: str) -> None:
        """End session *session_id*: its cookie is worth nothing from now on."""
        with self.db.connect() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (_key(session_id),))


def session_secret(state_dir: Path) -> str:
    """The key that signs the session cookie: read from ``state_dir/session-secret``, made there once."""
    path = state_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text("ascii").strip()
        if len(secret) >= 64:
            return secret
        path.unlink()  # empty or cut short (a crash while it was written): make a new one
        return session_secret(state_dir)
    secret = secrets.token_hex(32)
    try:
        os.write(fd, (secret + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return secret
