"""What the runner reads from the packages a builder wrote (the ``builder`` area, sections 2.1 - 2.3, 3.5).

A builder answers with the bytes of what it built (``packages``: base64, one per build);
the runner reads them here, with the standard library only, so that every builder is
judged by the same reading. :func:`views` adds these fields to the answer, which a case's
``expect`` then compares like any other:

| field | what |
| --- | --- |
| ``entries`` | the entry names, in archive order |
| ``entry_info`` | entry name -> ``{"date", "mode", "method", "utf8", "encrypted"}`` |
| ``files`` | entry name -> its text, for the entries that are UTF-8 text (wheels left out) |
| ``record_paths`` | the paths of ``RECORD``'s rows, in order |
| ``record_problems`` | what verifying ``RECORD`` against the entries finds (2.3, 2.6); ``[]``: it verifies |
| ``deps`` | the names of the entries under ``deps/``, sorted |
| ``lock`` | the pins of ``deps/requirements.txt``, ``name==version`` (with ``; marker``), sorted |
| ``lock_problems`` | what checking the lock against the wheels of ``deps/`` finds (3.5); ``[]``: it holds |
| ``identical`` | whether every build gave the same bytes (with more than one build) |

``RECORD.sig`` is the one file ``RECORD`` does not list (2.6); its signature is not checked here (the
standard library has no Ed25519). A package that is not a readable zip gives only ``entries: null`` and
a ``record_problems`` naming why.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import re
import zipfile
from typing import Any

__all__ = ["views"]

_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)\s*(;.*)?$")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _record(zf: zipfile.ZipFile, names: list[str]) -> tuple[list[str], list[str]]:
    """RECORD's paths in order, and every problem of verifying it (section 2.3)."""
    if "RECORD" not in names:
        return [], ["the package has no RECORD"]
    text = zf.read("RECORD").decode("utf-8", "replace")
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    problems = [f"line {i}: {len(row)} fields, not 3" for i, row in enumerate(rows, 1) if len(row) != 3]
    rows = [row for row in rows if len(row) == 3]
    paths = [row[0] for row in rows]
    files = {n for n in names if not n.endswith("/") and n not in ("RECORD", "RECORD.sig")}
    seen: set[str] = set()
    for path, digest, size in rows:
        if path in seen:
            problems.append(f"{path}: listed twice")
        seen.add(path)
        if path == "RECORD.sig":
            problems.append("RECORD.sig: listed, but RECORD must not list the signature of itself (2.6)")
            continue
        if path == "RECORD":
            if (digest, size) != ("", ""):
                problems.append("RECORD lists itself with a digest or size: RECORD,, expected")
            continue
        if path not in files:
            problems.append(f"{path}: listed, but the package has no such file")
            continue
        data = zf.read(path)
        if size != str(len(data)):
            problems.append(f"{path}: size {size} listed, {len(data)} bytes in the package")
        if digest != _digest(data):
            problems.append(f"{path}: digest {digest} listed, {_digest(data)} computed")
    problems += [f"{name}: not listed in RECORD" for name in sorted(files - seen)]
    if "RECORD" not in seen:
        problems.append("RECORD does not list itself (RECORD,,)")
    return paths, problems


def _lock(zf: zipfile.ZipFile, names: list[str]) -> tuple[list[str] | None, list[str]]:
    """The lock's pins, and every problem of checking it against the wheels of ``deps/`` (section 3.5)."""
    wheels = {n: zf.read(n) for n in names if n.startswith("deps/") and n.endswith(".whl")}
    if "deps/requirements.txt" not in names:
        return None, [f"{name}: no lock (deps/requirements.txt) pins it" for name in sorted(wheels)]
    text = zf.read("deps/requirements.txt").decode("utf-8", "replace")
    logical = re.sub(r"\\\n", " ", text)
    pins, problems, covered, seen = [], [], set(), set()
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pin, _, hashes = line.partition("--hash")
        hashes = "--hash" + hashes if hashes else ""
        match = _PIN.match(pin.strip())
        if match is None:
            problems.append(f"{line!r}: not 'name==version [; marker] --hash=sha256:<hex> ...'")
            continue
        name, version, marker = match.groups()
        pins.append(f"{name}=={version}" + (f" {marker.strip()}" if marker else ""))
        if _normalized(name) in seen:
            problems.append(f"{name}: pinned twice")
        seen.add(_normalized(name))
        digests = re.findall(r"--hash=sha256:([0-9a-f]{64})(?=\s|$)", hashes)
        if not digests or len(digests) != len(hashes.split()):
            problems.append(f"{name}: every --hash must be sha256:<64 lower-case hex digits>")
        for digest in digests:
            found = [
                wheel
                for wheel, data in wheels.items()
                if hashlib.sha256(data).hexdigest() == digest
                and _normalized(wheel[5:].split("-")[0]) == _normalized(name)
                and wheel[5:].split("-")[1] == version
            ]
            if not found:
                problems.append(f"{name}=={version}: no wheel of deps/ of that name and version has {digest}")
            covered.update(found)
    problems += [f"{wheel}: no line of the lock pins it" for wheel in sorted(set(wheels) - covered)]
    return pins, problems


def _info(info: zipfile.ZipInfo) -> dict[str, Any]:
    y, mo, d, h, mi, s = info.date_time
    return {
        "date": f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}",
        "mode": format((info.external_attr >> 16) & 0o7777, "o"),
        "method": _METHODS.get(info.compress_type, str(info.compress_type)),
        "utf8": bool(info.flag_bits & 0x800),
        "encrypted": bool(info.flag_bits & 0x1),
    }


def views(answer: dict[str, Any]) -> dict[str, Any]:
    """The fields the runner reads from the answer's ``packages`` (none when it has none)."""
    packages = answer.get("packages")
    if not isinstance(packages, list) or not packages:
        return {}
    try:
        blobs = [base64.b64decode(p, validate=True) for p in packages]
    except (binascii.Error, TypeError, ValueError):
        return {"entries": None, "record_problems": ["packages: not base64"]}
    out: dict[str, Any] = {"identical": all(b == blobs[0] for b in blobs)} if len(blobs) > 1 else {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(blobs[0]))
    except zipfile.BadZipFile as exc:
        return {**out, "entries": None, "record_problems": [f"not a zip: {exc}"]}
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        files = {}
        for info in infos:
            if info.filename.endswith((".whl", "/")):
                continue
            try:
                files[info.filename] = zf.read(info).decode("utf-8")
            except (UnicodeDecodeError, zipfile.BadZipFile, OSError):
                continue
        record_paths, record_problems = _record(zf, names)
        lock, lock_problems = _lock(zf, names)
        return {
            **out,
            "entries": names,
            "entry_info": {i.filename: _info(i) for i in infos},
            "files": files,
            "record_paths": record_paths,
            "record_problems": record_problems,
            "deps": sorted(n for n in names if n.startswith("deps/")),
            "lock": sorted(lock, key=str.lower) if lock is not None else None,
            "lock_problems": lock_problems,
        }
