#!/usr/bin/env python3
"""Build the zip archives the ``archive`` cases describe (spec section 2.2 and 2.3).

Archive cases never store opaque binaries: a case gives a declarative entry list and
this module writes the zip, byte for byte, at run time. It is a zip writer of its
own (not :mod:`zipfile`) so that it can write what a careful writer never would:
repeated names, absolute and ``..`` names, symbolic links, the encrypted flag, and
sizes in the headers that differ from the data.

An archive description is a JSON object::

    {"entries": [ENTRY, ...],
     "record": "generate" | "omit" | {"extra_lines": ["path,hash,size", ...]},
     "raw": "text",          # instead of entries: a file that is not a zip at all
     "truncate": 100}        # cut the finished zip after this many bytes

and an ENTRY::

    {"name": "src/demo/app.py",          # the name stored in the archive
     "text": "..." | "base64": "..." | "fill": {"byte": 0, "size": 8388608},
     "directory": true,                  # a directory entry (the name should end in "/")
     "symlink": "target",                # a symbolic link to target
     "mode": "100755",                   # unix mode in octal, file type bits included
     "compression": "deflated" | "stored",
     "encrypted": true,                  # set the "encrypted" flag bit (the data is not encrypted)
     "declared_size": 123,               # uncompressed size written in the headers
     "declared_compressed_size": 123,    # compressed size written in the headers
     "recorded_text": "...",             # RECORD lists this content instead of the real one
     "unrecorded": true}                 # RECORD does not list this entry

``record`` "generate" (the default) appends a ``RECORD`` listing every file entry
(``path,sha256=<urlsafe base64 digest without padding>,size``, sorted by path, then
``RECORD,,``); "omit" writes none (give your own as an entry); ``extra_lines`` are
written after the generated lines, before ``RECORD,,``.

Command line: ``make_archive.py ARCHIVE.json OUT.pyapp`` builds one archive;
``make_archive.py --case-file CASES.json OUTDIR`` writes every archive of a case file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build", "record_text"]

_FILE_MODE = 0o100644
_DIR_MODE = 0o040755
_LINK_MODE = 0o120777
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, so that archives are reproducible
_DOS_TIME = 0


def _content(entry: dict[str, Any]) -> bytes:
    if "symlink" in entry:
        return str(entry["symlink"]).encode("utf-8")
    if entry.get("directory"):
        return b""
    if "text" in entry:
        return str(entry["text"]).encode("utf-8")
    if "base64" in entry:
        return base64.b64decode(entry["base64"])
    if "fill" in entry:
        fill = entry["fill"]
        byte = fill.get("byte", 0)
        value = byte if isinstance(byte, int) else ord(byte)
        return bytes([value]) * int(fill["size"])
    return b""


def _mode(entry: dict[str, Any]) -> int:
    if "mode" in entry:
        return int(str(entry["mode"]), 8)
    if "symlink" in entry:
        return _LINK_MODE
    if entry.get("directory"):
        return _DIR_MODE
    return _FILE_MODE


def _is_file(entry: dict[str, Any]) -> bool:
    return not entry.get("directory") and "symlink" not in entry


def _hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def record_text(entries: list[dict[str, Any]], extra_lines: Sequence[str] = ()) -> str:
    """The ``RECORD`` of *entries* (section 2.3), with *extra_lines* before its own line."""
    rows = []
    for entry in entries:
        if not _is_file(entry) or entry.get("unrecorded") or entry["name"] == "RECORD":
            continue
        data = str(entry["recorded_text"]).encode("utf-8") if "recorded_text" in entry else _content(entry)
        rows.append(f"{_csv_field(entry['name'])},{_hash(data)},{len(data)}")
    return "".join(f"{line}\n" for line in [*sorted(rows), *extra_lines, "RECORD,,"])


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_zip(entries: list[dict[str, Any]]) -> bytes:
    out = bytearray()
    central = bytearray()
    for entry in entries:
        name = str(entry["name"]).encode("utf-8")
        data = _content(entry)
        crc = zlib.crc32(data)
        method = 8 if entry.get("compression", "deflated") == "deflated" and _is_file(entry) else 0
        if method == 8:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            stored = packer.compress(data) + packer.flush()
        else:
            stored = data
        flags = 0x800 if not name.isascii() else 0
        if entry.get("encrypted"):
            flags |= 0x1
        size = int(entry.get("declared_size", len(data)))
        csize = int(entry.get("declared_compressed_size", len(stored)))
        mode = _mode(entry)
        external = (mode << 16) | (0x10 if entry.get("directory") else 0)
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            20,
            flags,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            csize,
            size,
            len(name),
            0,
        )
        out += name + stored
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            (3 << 8) | 20,  # made by: unix, so that the mode bits are read
            20,
            flags,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            csize,
            size,
            len(name),
            0,
            0,
            0,
            0,
            external,
            offset,
        )
        central += name
    count = len(entries)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def build(spec: dict[str, Any]) -> bytes:
    """The bytes of the archive *spec* describes."""
    if "raw" in spec:
        return str(spec["raw"]).encode("utf-8")
    entries = [dict(e) for e in spec.get("entries", [])]
    record = spec.get("record", "generate")
    if record != "omit":
        extra = list(record.get("extra_lines", [])) if isinstance(record, dict) else []
        entries.append({"name": "RECORD", "text": record_text(entries, extra)})
    data = _write_zip(entries)
    if "truncate" in spec:
        data = data[: int(spec["truncate"])]
    return data


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the zip archives that archive cases describe.")
    parser.add_argument("--case-file", action="store_true", help="SOURCE is a case file: build all of it")
    parser.add_argument("source", type=Path, help="an archive description (JSON), or a case file")
    parser.add_argument("out", type=Path, help="the archive to write, or a directory with --case-file")
    args = parser.parse_args(argv)
    document = json.loads(args.source.read_text("utf-8"))
    if not args.case_file:
        args.out.write_bytes(build(document))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for group in document:
        for test in group["tests"]:
            spec = {**group.get("request", {}), **test.get("request", {})}.get("archive")
            if spec is not None:
                target = args.out / f"{_slug(test['description'])}.pyapp"
                target.write_bytes(build(spec))
                print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
