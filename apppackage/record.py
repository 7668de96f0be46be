"""``RECORD``, the integrity manifest of a package (spec section 2.3).

One CSV line per file: ``path,sha256=<urlsafe base64, no padding>,size`` (the
wheel RECORD format); ``RECORD`` itself is listed with empty hash and size. ``RECORD.sig``,
the signature of RECORD (section 2.6), is the one file it never lists.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._names import RECORD, RECORD_SIG
from .errors import Problem
from .files import sha256_file

__all__ = [
    "RECORD",
    "RECORD_SIG",
    "RecordEntry",
    "hash_bytes",
    "hash_file",
    "parse_record",
    "record_hash",
    "render_record",
    "verify_files",
]


@dataclass(frozen=True, kw_only=True)
class RecordEntry:
    path: str
    hash: str
    size: int | None


def record_hash(digest: bytes) -> str:
    """A sha256 *digest* as RECORD writes it: ``sha256=`` and the urlsafe base64 without padding."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_bytes(data: bytes) -> str:
    """The RECORD hash of *data* (see :func:`record_hash`)."""
    return record_hash(hashlib.sha256(data).digest())


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The RECORD hash and the size of the file at *path*, read in chunks."""
    digest, size = sha256_file(path)
    return record_hash(digest), size


def render_record(files: Mapping[str, bytes] | Iterable[tuple[str, str, int]]) -> str:
    """The text of a RECORD for *files* (name -> content, or (name, hash, size) rows), sorted.

    ``RECORD`` is listed last with no hash; ``RECORD.sig``, which signs this text, is left out.
    """
    if isinstance(files, Mapping):
        rows = [(name, hash_bytes(data), len(data)) for name, data in files.items()]
    else:
        rows = list(files)
    rows = [row for row in rows if row[0] not in (RECORD, RECORD_SIG)]
    lines = [_csv_line(name, digest, str(size)) for name, digest, size in sorted(rows)]
    return "".join([*lines, _csv_line(RECORD, "", "")])


def _csv_line(*fields: str) -> str:
    """One RFC 4180 line: a field holding a ``,``, ``"``, ``\r`` or ``\n`` quoted.

    (``csv.writer`` with ``\n`` line ends leaves a ``\r`` unquoted, which a reader takes for a line end.)
    """
    quoted = ['"' + f.replace('"', '""') + '"' if any(c in f for c in ',"\r\n') else f for f in fields]
    return ",".join(quoted) + "\n"


def parse_record(text: str, file: str = RECORD) -> tuple[dict[str, RecordEntry], list[Problem]]:
    """Read RECORD text; return the entries and every malformed line."""
    entries: dict[str, RecordEntry] = {}
    problems = []
    # newline="": the csv module reads the line ends itself, "\r" in a field included (RFC 4180).
    rows = csv.reader(io.StringIO(text, newline=""))
    for lineno in itertools.count(1):
        where = f"/{lineno}"
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(file=file, path=where, message=f"not a CSV line: {exc}"))
            break  # the reader cannot find where the next line starts
        if not row:
            continue
        if len(row) != 3:
            problems.append(Problem(file=file, path=where, message="expected path,hash,size"))
            continue
        path, digest, size = row
        if not path:
            problems.append(Problem(file=file, path=where, message="a row without a path"))
            continue
        if path in entries:
            problems.append(Problem(file=file, path=where, message=f"{path} is listed twice"))
            continue
        if path == RECORD:
            entries[path] = RecordEntry(path=path, hash="", size=None)
            continue
        if path == RECORD_SIG:
            message = (
                f"{RECORD_SIG} signs RECORD and must not be listed in it (section 2.6): rebuild the package"
            )
            problems.append(Problem(file=file, path=where, message=message))
            continue
        # A size of more digits than any file has is no size (int() refuses past 4300 digits).
        if not digest.startswith("sha256=") or not (size.isascii() and size.isdigit() and len(size) <= 20):
            problems.append(
                Problem(file=file, path=where, message=f"{path}: expected sha256=<digest> and a size")
            )
            continue
        entries[path] = RecordEntry(path=path, hash=digest, size=int(size))
    return entries, problems


def verify_files(record: Mapping[str, RecordEntry], actual: Mapping[str, tuple[str, int]]) -> list[Problem]:
    """Compare RECORD entries with *actual* files (name -> (hash, size)); name each mismatch.

    ``RECORD`` and ``RECORD.sig`` are not compared: the signature checks RECORD (:mod:`apppackage.signing`).
    """
    problems = []
    for name in sorted(set(record) | set(actual)):
        if name in (RECORD, RECORD_SIG):
            continue
        entry = record.get(name)
        found = actual.get(name)
        if entry is None:
            problems.append(Problem(file=name, path="", message="is not listed in RECORD"))
        elif found is None:
            problems.append(Problem(file=name, path="", message="is listed in RECORD but missing"))
        elif found[1] != entry.size:
            problems.append(
                Problem(file=name, path="", message=f"size {found[1]} does not match RECORD ({entry.size})")
            )
        elif found[0] != entry.hash:
            problems.append(Problem(file=name, path="", message="sha256 does not match RECORD"))
    return problems
