"""Small file helpers every part of pyapp uses: an atomic writer, an atomic link switch, a streamed sha256.

:func:`write_atomic` writes through a temporary file in the same directory and
``os.replace``: a reader sees the old content or the new, never a part;
:func:`replace_link` does the same for a symbolic link. :func:`sha256_file` reads a
file of any size in chunks.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

__all__ = ["replace_link", "sha256_file", "sha256_hex", "write_atomic"]

_CHUNK = 1024 * 1024


def write_atomic(
    path: str | os.PathLike[str], data: str | bytes, *, mode: int = 0o600, durable: bool = False
) -> None:
    """Write *data* (text is UTF-8) to *path* with permissions *mode*, atomically.

    The parent directory is created when it is missing. The temporary file is
    ``.<name>.*.tmp`` beside *path*, private from its creation, and removed when the
    write fails. *durable* flushes it to disk before the rename (a crash of the
    machine then leaves the old content or the new).
    """
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_link(link: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Point the symbolic link *link* at *target* atomically: a new link is renamed over it.

    Whoever follows *link* meanwhile finds the old target or the new one, never none.
    """
    path = Path(link)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    os.symlink(target, temp)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """The sha256 digest of the file at *path* and its size in bytes (read in 1 MiB chunks)."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.digest(), size


def sha256_hex(path: str | os.PathLike[str]) -> str:
    """The sha256 of the file at *path* as 64 hex digits."""
    return sha256_file(path)[0].hex()
