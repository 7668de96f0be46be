"""API tokens: a role and a name each, stored as the sha256 of a random secret shown once.

Roles, each allowing what the one before allows:

``viewer``
    read: apps, configuration (secrets masked), events, jobs
``deployer``
    deploy: install, update, rollback, start, stop, restart, back up, configure
``admin``
    everything: also remove apps and manage tokens
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apppackage.errors import AppPackageError
from apppackage.files import write_atomic

from ._db import Database, utc_now

__all__ = [
    "LOCAL_TOKEN_NAME",
    "PERMISSIONS",
    "ROLES",
    "NewToken",
    "NoSuchToken",
    "Token",
    "TokenError",
    "TokenStore",
    "hash_secret",
]

ROLES = ("viewer", "deployer", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "deployer": frozenset({"read", "deploy"}),
    "admin": frozenset({"read", "deploy", "admin"}),
}
LOCAL_TOKEN_NAME = "local"  # noqa: S105 (a name)
"""The admin token the server writes for its own user at start (``<data>/server/local-token``)."""
SECRET_PREFIX = "pyapp_"  # noqa: S105 (what every secret starts with)


class TokenError(AppPackageError, ValueError):
    """A token cannot be made as asked (unknown role, bad name)."""


class NoSuchToken(TokenError, LookupError):
    """No token has that id."""

    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        super().__init__(f"no token has the id {token_id!r} (see: pyapp-server token list)")


def hash_secret(secret: str) -> str:
    """The stored form of a token: the hex sha256 of its secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Token:
    """A token as stored (never its secret)."""

    id: str
    name: str
    role: str
    created: str
    last_used: str | None = None

    def allows(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "last_used": self.last_used,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Token:
        return cls(
            id=row["id"],
            name=row["name"],
            role=row["role"],
            created=row["created"],
            last_used=row["last_used"],
        )


_SETTINGS_TOKEN = Token(id="settings", name="admin_token (settings)", role="admin", created="")
"""The token ``admin_token`` stands for (it has no row: the setting is its only record)."""


@dataclass(frozen=True, kw_only=True)
class NewToken:
    """A token just made, with its secret (shown this once, never stored)."""

    token: Token
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.token.to_dict(), "secret": self.secret}


def _check(role: str, name: str) -> None:
    problems = []
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 64 or not name.isprintable():
        problems.append(f"name {name!r} must be 1 to 64 printable characters")
    if problems:
        raise TokenError("; ".join(problems))


class TokenStore:
    """The tokens in the server's database."""

    def __init__(self, db: Database, *, extra_admin_secret: str = "") -> None:
        self.db = db
        self._extra = extra_admin_secret

    def create(self, role: str, name: str) -> NewToken:
        """Make a token; the secret is returned once and only its hash is kept."""
        _check(role, name)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        token = Token(id=secrets.token_hex(4), name=name.strip(), role=role, created=utc_now())
        with self.db.connect() as conn:
            conn.execute(
                "INSERT INTO tokens (id, name, role, hash, created) VALUES (?, ?, ?, ?, ?)",
                (token.id, token.name, token.role, hash_secret(secret), token.created),
            )
        return NewToken(token=token, secret=secret)

    def list(self) -> list[Token]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT * FROM tokens ORDER BY created, id").fetchall()
        return [Token._from_row(r) for r in rows]

    def revoke(self, token_id: str) -> Token:
        """Delete the token *token_id*; requests using it are refused from now on."""
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
            if row is None:
                raise NoSuchToken(token_id)
            conn.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
        return Token._from_row(row)

    def authenticate(self, secret: str) -> Token | None:
        """The token whose secret is *secret*, or ``None``."""
        if not secret:
            return None
        if self._extra and hmac.compare_digest(secret.encode(), self._extra.encode()):
            return _SETTINGS_TOKEN
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE hash = ?", (hash_secret(secret),)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (utc_now(), row["id"]))
        return Token._from_row(row)

    def peek(self, secret: str | None) -> Token | None:
        """The token whose secret is *secret*, or ``None``, read without writing (``last_used`` unchanged).

        For the servers' loops, which decide from a request's headers whether to read its body
        and must never wait for the database's write lock.
        """
        if not secret:
            return None
        if self._extra and hmac.compare_digest(secret.encode(), self._extra.encode()):
            return _SETTINGS_TOKEN
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE hash = ?", (hash_secret(secret),)).fetchone()
        return None if row is None else Token._from_row(row)

    def find(self, token_id: str) -> Token | None:
        """The token whose id is *token_id*, or ``None`` (revoked), read without writing."""
        if token_id == _SETTINGS_TOKEN.id:
            return _SETTINGS_TOKEN if self._extra else None
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
        return None if row is None else Token._from_row(row)

    def has_remote_auth(self) -> bool:
        """Whether a token other than the local one exists (or ``admin_token`` is set)."""
        return bool(self._extra) or any(t.name != LOCAL_TOKEN_NAME for t in self.list())

    def ensure_local(self, path: str | os.PathLike[str]) -> Token:
        """Keep the admin token in *path* (mode 0600) valid: reuse it, or replace it with a new one."""
        file = Path(path)
        try:
            existing = self.authenticate(file.read_text("utf-8").strip())
        except OSError:
            existing = None
        if existing is not None and existing.name == LOCAL_TOKEN_NAME and existing.role == "admin":
            file.chmod(0o600)
            return existing
        for token in self.list():
            if token.name == LOCAL_TOKEN_NAME:
                self.revoke(token.id)
        new = self.create("admin", LOCAL_TOKEN_NAME)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(file, new.secret + "\n")
        return new.token
