"""API tokens: stored hashed, shown once, roles, the local token file."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest
from pyapp_server._db import Database
from pyapp_server.tokens import NoSuchToken, TokenError, TokenStore


def test_only_the_hash_of_a_secret_is_stored(tmp_path: Path) -> None:
    store = TokenStore(Database(tmp_path / "s.sqlite"))
    new = store.create("deployer", "ci")
    assert new.secret.startswith("pyapp_") and len(new.secret) > 40
    raw = (tmp_path / "s.sqlite").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("s.sqlite-*"))
    assert new.secret.encode() not in raw
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:
        (stored,) = conn.execute("SELECT hash FROM tokens").fetchone()
    assert stored == hashlib.sha256(new.secret.encode()).hexdigest()
    assert store.authenticate(new.secret).role == "deployer"
    assert store.authenticate(new.secret + "x") is None
    assert store.list()[0].last_used is not None
    assert stat.S_IMODE((tmp_path / "s.sqlite").stat().st_mode) == 0o600


def test_roles_and_revocation(tmp_path: Path) -> None:
    store = TokenStore(Database(tmp_path / "s.sqlite"))
    viewer = store.create("viewer", "v").token
    assert (viewer.allows("read"), viewer.allows("deploy"), viewer.allows("admin")) == (True, False, False)
    admin = store.create("admin", "a")
    assert all(admin.token.allows(p) for p in ("read", "deploy", "admin"))
    store.revoke(admin.token.id)
    assert store.authenticate(admin.secret) is None
    with pytest.raises(NoSuchToken, match="token list"):
        store.revoke(admin.token.id)
    with pytest.raises(TokenError, match="role 'root'"):
        store.create("root", "x")


def test_the_local_token_file_is_private_and_reused_while_valid(tmp_path: Path) -> None:
    store = TokenStore(Database(tmp_path / "s.sqlite"))
    file = tmp_path / "server" / "local-token"
    first = store.ensure_local(file)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert store.ensure_local(file).id == first.id
    assert not store.has_remote_auth()
    store.revoke(first.id)
    second = store.ensure_local(file)
    assert second.id != first.id
    assert store.authenticate(file.read_text().strip()).id == second.id
    assert [t.name for t in store.list()] == ["local"]
    assert TokenStore(store.db, extra_admin_secret="configured").has_remote_auth()
