"""The notes, kept in one SQLite file in the ``notes`` writable dir (standard library only).

Commands, hooks and the task import this module without Pyramid, so they start fast.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DB_NAME",
    "MAX_TEXT",
    "Note",
    "add",
    "backup",
    "connect",
    "count",
    "get",
    "install",
    "open_db",
    "page",
    "prune",
]

DB_NAME = "notes.sqlite"
MAX_TEXT = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    tag TEXT,
    author TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_created ON notes (created);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, kw_only=True)
class Note:
    id: int
    text: str
    tag: str | None
    author: str
    created: float


def open_db(data_dir: str | Path) -> sqlite3.Connection:
    """A connection to the notes database in *data_dir*, its tables created if missing."""
    conn = sqlite3.connect(Path(data_dir) / DB_NAME, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def connect(data_dir: str | Path) -> Iterator[sqlite3.Connection]:
    """:func:`open_db` for a ``with`` block: one transaction, committed at its end, then closed."""
    with closing(open_db(data_dir)) as conn, conn:
        yield conn


def install(data_dir: str | Path, site_title: str = "Notes") -> bool:
    """Create the database and its welcome note; ``False`` when it was already installed."""
    with connect(data_dir) as conn:
        if conn.execute("SELECT 1 FROM meta WHERE key = 'installed'").fetchone():
            return False
        conn.execute("INSERT INTO meta (key, value) VALUES ('installed', ?)", (str(time.time()),))
        add(
            conn,
            f"Welcome to {site_title}. This note was written when the application was installed.",
            author="install",
        )
        return True


def add(
    conn: sqlite3.Connection,
    text: str,
    *,
    tag: str | None = None,
    author: str,
    created: float | None = None,
) -> int:
    """Store a note and return its id; ``ValueError`` when the text is empty or too long."""
    text = text.strip()
    if not text:
        raise ValueError("a note needs some text")
    if len(text) > MAX_TEXT:
        raise ValueError(f"a note has at most {MAX_TEXT} characters, this one has {len(text)}")
    cursor = conn.execute(
        "INSERT INTO notes (text, tag, author, created) VALUES (?, ?, ?, ?)",
        (text, tag or None, author, time.time() if created is None else created),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def count(conn: sqlite3.Connection, tag: str | None = None) -> int:
    if tag:
        row = conn.execute("SELECT count(*) FROM notes WHERE tag = ?", (tag,)).fetchone()
    else:
        row = conn.execute("SELECT count(*) FROM notes").fetchone()
    return int(row[0])


def page(conn: sqlite3.Connection, *, offset: int, limit: int, tag: str | None = None) -> list[Note]:
    """Notes newest first, *limit* of them from *offset*."""
    where, params = ("WHERE tag = ?", [tag]) if tag else ("", [])
    rows = conn.execute(
        f"SELECT id, text, tag, author, created FROM notes {where} ORDER BY created DESC, id DESC "
        "LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [Note(id=r[0], text=r[1], tag=r[2], author=r[3], created=r[4]) for r in rows]


def get(conn: sqlite3.Connection, note_id: int) -> Note | None:
    r = conn.execute("SELECT id, text, tag, author, created FROM notes WHERE id = ?", (note_id,)).fetchone()
    return Note(id=r[0], text=r[1], tag=r[2], author=r[3], created=r[4]) if r else None


def prune(conn: sqlite3.Connection, older_than: float) -> int:
    """Delete the notes created before the timestamp *older_than*; return how many."""
    return conn.execute("DELETE FROM notes WHERE created < ?", (older_than,)).rowcount


def backup(data_dir: str | Path, target: str | Path) -> Path:
    """Copy the database to the file *target* with SQLite's online backup (safe while it is in use)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with connect(data_dir) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target
