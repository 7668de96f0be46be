"""A small, fast wheel unpacker (the binary distribution format, PEP 427 / PEP 491).

:func:`install_wheel` unpacks a wheel into a :class:`Scheme`, checking every file
against the wheel's own RECORD while it writes it, and writes ``INSTALLER`` and
the installed ``RECORD``. It does not compile bytecode (the interpreter caches it
on first import) and generates no console-script launchers: an app's processes
start through the host, never through scripts on ``PATH``.

Wheel names and WHEEL are read here, and a pure-Python wheel known to install without ``sys_tags()``:
``packaging.tags`` and ``packaging.utils`` are imported inside the functions that need them (a compiled
wheel, an unusual file name), so that installing pure-Python wheels, the common case, does not pay for them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from apppackage.pypa import CanonicalName, canonical_name
from apppackage.record import hash_bytes, record_hash

from ..errors import WheelError

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = [
    "INSTALLER",
    "InstalledWheel",
    "Scheme",
    "TagTriple",
    "WheelFile",
    "canonical_name",
    "install_wheel",
    "read_headers",
    "supported_tags",
]

INSTALLER = "pyapp"
_BIG = 8 * 1024 * 1024
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")

TagTriple = tuple[str, str, str]
"""A wheel tag as ``(interpreter, abi, platform)``, lower-cased as :class:`packaging.tags.Tag` holds it."""


@cache
def supported_tags() -> dict[Tag, int]:
    """The tags this interpreter installs, each with its rank (0 is the most specific)."""
    from packaging.tags import sys_tags

    return {tag: rank for rank, tag in enumerate(sys_tags())}


@cache
def _ranks() -> dict[TagTriple, int]:
    """:func:`supported_tags` by :data:`TagTriple`."""
    return {(t.interpreter, t.abi, t.platform): rank for t, rank in supported_tags().items()}


@cache
def _pure_python_tags() -> frozenset[TagTriple]:
    """Pure-Python tags that ``sys_tags()`` lists on every interpreter (its last part, ``compatible_tags()``):
    ``py3-none-any`` and ``py3X-none-any`` up to this Python."""
    major, minor = sys.version_info[:2]
    versions = [f"py{major}", *(f"py{major}{m}" for m in range(minor + 1))]
    return frozenset((v, "none", "any") for v in versions)


# A wheel file name without build tag whose parts packaging accepts as they are: an ASCII name, one version
# (checked with Version), and interpreter (identifiers), ABI and platform tags with no empty component.
_WHEEL_NAME = re.compile(
    r"(?P<name>[A-Za-z0-9._]+)-(?P<version>[^-]+)"
    r"-(?P<interpreters>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
    r"-(?P<abis>\w+(?:\.\w+)*)-(?P<platforms>\w+(?:\.\w+)*)\.whl",
    re.ASCII,
)


def _parse_wheel_name(filename: str) -> tuple[CanonicalName, Version, frozenset[TagTriple]]:
    """Name, version and tags of a wheel file name, as :func:`packaging.utils.parse_wheel_filename` says.

    A usual name is read here; any other (a build tag, a name packaging refuses) is left to packaging,
    and an invalid one refused with :class:`WheelError`, saying what packaging found wrong.
    """
    match = _WHEEL_NAME.fullmatch(filename)
    if match is not None and "__" not in match["name"]:
        try:
            version = Version(match["version"])
        except InvalidVersion:
            pass  # packaging says why
        else:
            tags = frozenset(
                (interpreter.lower(), abi.lower(), platform.lower())
                for interpreter in match["interpreters"].split(".")
                for abi in match["abis"].split(".")
                for platform in match["platforms"].split(".")
            )
            return canonical_name(match["name"]), version, tags
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _build, parsed = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{filename}: not a wheel file name: {exc}") from None
    return canonical_name(name), version, frozenset((t.interpreter, t.abi, t.platform) for t in parsed)


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    """A ``.whl`` file and what its name says (name, version, tags)."""

    path: Path
    name: CanonicalName
    version: Version
    tags: frozenset[TagTriple]

    @classmethod
    def from_path(cls, path: Path) -> WheelFile:
        name, version, tags = _parse_wheel_name(path.name)
        return cls(path=path, name=name, version=version, tags=tags)

    @property
    def rank(self) -> int | None:
        """How well this interpreter supports the wheel (lower is better), ``None`` when it cannot."""
        ranks = _ranks()
        found = [ranks[t] for t in self.tags if t in ranks]
        return min(found) if found else None

    @property
    def installable(self) -> bool:
        """Whether this interpreter installs the wheel (``rank is not None``), known without ``sys_tags()``
        for a pure-Python wheel tagged for this Python."""
        return not self.tags.isdisjoint(_pure_python_tags()) or self.rank is not None

    @property
    def pure(self) -> bool:
        return all(abi == "none" and platform == "any" for _interpreter, abi, platform in self.tags)

    @property
    def key(self) -> str:
        """The directory name of its shared copy: ``<name>-<version>``, plus the best tag when compiled."""
        base = f"{self.name}-{self.version}"
        if self.pure:
            return base
        ranks = _ranks()
        best = min(self.tags, key=lambda t: ranks.get(t, len(ranks)))
        return f"{base}-{'-'.join(best)}"


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
        c for c in candidates if canonical_name(c[: -len(".dist-info")].rsplit("-", 1)[0]) == wheel.name
    ]
    if len(matching) != 1:
        raise WheelError(
            f"{label}: expected one {wheel.name}-<version>.dist-info directory, found {sorted(candidates)}"
        )
    return matching[0]


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")


def read_headers(text: str) -> dict[str, str]:
    """The headers of an RFC 822 style file such as WHEEL by lower-cased name, each as
    ``email.parser.HeaderParser().parsestr(text).get(name)`` returns it (the first of a name; continuation
    lines kept; the headers end at a line that is neither a header nor a continuation; a ``From `` line
    or one starting with a colon is no header, and ends the one before it)."""
    found: dict[str, str] = {}
    name, value = "", [""]
    for line in _LINE.findall(text):
        if not _HEADER_LINE.match(line):
            break
        if line[0] in " \t":
            if name:
                value.append(line)
            continue
        if name:
            found.setdefault(name.lower(), "".join(value).rstrip("\r\n"))
        name = ""
        colon = line.find(":")
        if colon > 0 and not line.startswith("From "):
            name, value = line[:colon], [line[colon + 1 :].lstrip(" \t")]
    if name:
        found.setdefault(name.lower(), "".join(value).rstrip("\r\n"))
    return found


def _check_wheel_metadata(zf: zipfile.ZipFile, dist_info: str, label: str) -> bool:
    """Read WHEEL; return Root-Is-Purelib. Refuse a wheel format this unpacker does not know."""
    try:
        headers = read_headers(zf.read(f"{dist_info}/WHEEL").decode("utf-8"))
    except KeyError:
        raise WheelError(f"{label}: {dist_info}/WHEEL is missing") from None
    version = (headers.get("wheel-version") or "").strip()
    if not version.startswith("1."):
        raise WheelError(f"{label}: Wheel-Version {version or '(none)'} is not supported (1.x is)")
    return (headers.get("root-is-purelib") or "").strip().lower() == "true"


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
