"""A small, fast wheel unpacker (the binary distribution format, PEP 427 / PEP 491).

:func:`install_wheel` unpacks a wheel into a :class:`Scheme`, checking every file
against the wheel's own RECORD while it writes it, and writes ``INSTALLER`` and
the installed ``RECORD``. It does not compile bytecode (the interpreter caches it
on first import) and generates no console-script launchers: an app's processes
start through the host, never through scripts on ``PATH``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from functools import cache
from pathlib import Path

from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from apppackage.record import hash_bytes, record_hash

from ..errors import WheelError

__all__ = [
    "INSTALLER",
    "InstalledWheel",
    "Scheme",
    "WheelFile",
    "install_wheel",
    "supported_tags",
]

INSTALLER = "pyapp"
_BIG = 8 * 1024 * 1024
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")


@cache
def supported_tags() -> dict[Tag, int]:
    """The tags this interpreter installs, each with its rank (0 is the most specific)."""
    return {tag: rank for rank, tag in enumerate(sys_tags())}


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    """A ``.whl`` file and what its name says (name, version, tags)."""

    path: Path
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]

    @classmethod
    def from_path(cls, path: Path) -> WheelFile:
        try:
            name, version, _build, tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename as exc:
            raise WheelError(f"{path.name}: not a wheel file name: {exc}") from None
        return cls(path=path, name=name, version=version, tags=tags)

    @property
    def rank(self) -> int | None:
        """How well this interpreter supports the wheel (lower is better), ``None`` when it cannot."""
        ranks = supported_tags()
        found = [ranks[t] for t in self.tags if t in ranks]
        return min(found) if found else None

    @property
    def pure(self) -> bool:
        return all(t.abi == "none" and t.platform == "any" for t in self.tags)

    @property
    def key(self) -> str:
        """The directory name of its shared copy: ``<name>-<version>``, plus the best tag when compiled."""
        base = f"{self.name}-{self.version}"
        if self.pure:
            return base
        ranks = supported_tags()
        best = min(self.tags, key=lambda t: ranks.get(t, len(ranks)))
        return f"{base}-{best}"


@dataclass(frozen=True, kw_only=True)
class Scheme:
    """Where each part of a wheel goes (PEP 427 install schemes) for one site directory.

    ``purelib`` and ``platlib`` are the site dir itself; a wheel's ``.data/`` scripts,
    headers and data go to hidden, unimportable folders inside it.
    """

    site: Path

    def relative(self, kind: str) -> str:
        """Where *kind* goes, relative to the site dir (``""`` or ending with ``/``)."""
        if kind in ("purelib", "platlib"):
            return ""
        if kind in ("scripts", "headers", "data"):
            return f".scheme/{kind}/"
        raise KeyError(kind)

    def path(self, kind: str) -> Path:
        return self.site / self.relative(kind)


@dataclass(frozen=True, kw_only=True)
class InstalledWheel:
    """What :func:`install_wheel` did: the distribution, its dist-info dir, files and bytes written."""

    name: str
    version: str
    dist_info: str
    files: int
    size: int


def _check_names(zf: zipfile.ZipFile, label: str) -> None:
    """Refuse entries that could write outside the site dir, links and special files.

    (Many real wheels store a RECORD with permission bits but no file-type bits: those are regular files.)
    """
    for info in zf.infolist():
        name = info.filename
        mode = info.external_attr >> 16
        if (
            not name
            or "\0" in name
            or "\\" in name
            or name.startswith("/")
            or (len(name) > 1 and name[1] == ":")
            or ".." in name.split("/")
        ):
            raise WheelError(f"{label}: entry {name!r} would be written outside the target")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise WheelError(f"{label}: entry {name!r} is a link or special file")


def _read_record(zf: zipfile.ZipFile, dist_info: str, label: str) -> dict[str, str]:
    try:
        text = zf.read(f"{dist_info}/RECORD").decode("utf-8")
    except KeyError:
        raise WheelError(f"{label}: {dist_info}/RECORD is missing") from None
    hashes = {}
    for row in csv.reader(io.StringIO(text)):
        if row:
            hashes[row[0]] = row[1] if len(row) > 1 else ""
    return hashes


def _dist_info(zf: zipfile.ZipFile, wheel: WheelFile, label: str) -> str:
    candidates = {n.split("/", 1)[0] for n in zf.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
    matching = [
        c for c in candidates if canonicalize_name(c[: -len(".dist-info")].rsplit("-", 1)[0]) == wheel.name
    ]
    if len(matching) != 1:
        raise WheelError(
            f"{label}: expected one {wheel.name}-<version>.dist-info directory, found {sorted(candidates)}"
        )
    return matching[0]


def _check_wheel_metadata(zf: zipfile.ZipFile, dist_info: str, label: str) -> bool:
    """Read WHEEL; return Root-Is-Purelib. Refuse a wheel format this unpacker does not know."""
    try:
        headers = HeaderParser().parsestr(zf.read(f"{dist_info}/WHEEL").decode("utf-8"))
    except KeyError:
        raise WheelError(f"{label}: {dist_info}/WHEEL is missing") from None
    version = (headers.get("Wheel-Version") or "").strip()
    if not version.startswith("1."):
        raise WheelError(f"{label}: Wheel-Version {version or '(none)'} is not supported (1.x is)")
    return (headers.get("Root-Is-Purelib") or "").strip().lower() == "true"


def install_wheel(wheel: WheelFile, scheme: Scheme, *, python: str | None = None) -> InstalledWheel:
    """Unpack *wheel* into *scheme*, verifying each file against the wheel's RECORD as it is written.

    Raises :class:`WheelError` naming the wheel and the file on any mismatch; the
    caller installs into a staging directory and discards it on failure.
    """
    label = wheel.path.name
    try:
        zf = zipfile.ZipFile(wheel.path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WheelError(f"{label}: not a readable wheel: {exc}") from None
    with zf:
        _check_names(zf, label)
        dist_info = _dist_info(zf, wheel, label)
        _check_wheel_metadata(zf, dist_info, label)
        expected = _read_record(zf, dist_info, label)
        data_prefix = dist_info[: -len(".dist-info")] + ".data/"
        record_name = f"{dist_info}/RECORD"
        interpreter = (python or sys.executable).encode()
        made: set[str] = set()
        rows: list[tuple[str, str, int]] = []
        total = 0
        site = str(scheme.site)
        # Plain strings, not Path objects: this loop runs once per file of every wheel.
        for info in zf.infolist():
            name = info.filename
            if name.endswith("/"):
                continue
            if name == record_name or name in (f"{dist_info}/{s}" for s in _SIGNATURES):
                continue
            digest = expected.get(name)
            if not digest:
                raise WheelError(f"{label}: {name} is not listed (with a hash) in {record_name}")
            if name.startswith(data_prefix):
                kind, _, rest = name[len(data_prefix) :].partition("/")
                try:
                    rel = scheme.relative(kind) + rest
                except KeyError:
                    raise WheelError(f"{label}: {name}: unknown .data directory {kind!r}") from None
            else:
                kind, rel = "purelib", name
            dest = os.path.join(site, rel)
            parent = os.path.dirname(dest)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            written = digest
            if info.file_size > _BIG:
                actual = _copy_big(zf, info, dest)
            else:
                data = zf.read(info)
                actual = hash_bytes(data)
                if actual == digest and kind == "scripts" and data.startswith(b"#!python"):
                    data = b"#!" + interpreter + data[len(b"#!python") :]
                    written = hash_bytes(data)
                executable = kind == "scripts" or (info.external_attr >> 16) & 0o111
                _write(dest, data, 0o755 if executable else 0o644)
            if actual != digest:
                raise WheelError(
                    f"{label}: {name} does not match its hash in {record_name} (a tampered wheel?)"
                )
            total += info.file_size
            rows.append((rel, written, info.file_size))
        _write_metadata(scheme.site / dist_info, rows)
    return InstalledWheel(
        name=str(wheel.name), version=str(wheel.version), dist_info=dist_info, files=len(rows), size=total
    )


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write(dest: str, data: bytes, mode: int) -> None:
    """Write a file with raw system calls (no buffered file object: this runs for every file)."""
    fd = os.open(dest, _FLAGS, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _copy_big(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str) -> str:
    h = hashlib.sha256()
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(1024 * 1024):
            h.update(chunk)
            out.write(chunk)
    if (info.external_attr >> 16) & 0o111:
        os.chmod(dest, 0o755)  # noqa: S103 - the wheel marks it executable
    return record_hash(h.digest())


def _write_metadata(dist_info_dir: Path, rows: Iterable[tuple[str, str, int]]) -> None:
    """Write ``INSTALLER`` and the installed ``RECORD`` (paths relative to the site dir)."""
    dist_info_dir.mkdir(parents=True, exist_ok=True)
    installer = f"{INSTALLER}\n".encode()
    (dist_info_dir / "INSTALLER").write_bytes(installer)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    rel = dist_info_dir.name
    writer.writerow([f"{rel}/INSTALLER", hash_bytes(installer), len(installer)])
    writer.writerow([f"{rel}/RECORD", "", ""])
    (dist_info_dir / "RECORD").write_text(out.getvalue(), "utf-8")
