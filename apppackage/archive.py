"""Safe reading and extraction of ``.pyapp`` archives (spec section 2.2).

An archive is refused, before anything is written, when an entry has an absolute
path, a ``..`` component, a backslash or drive letter, is a symbolic link or a
special file, is encrypted, repeats a name, or when sizes pass :class:`Limits`.
Extraction writes only below its target, and stops when an entry inflates past
its declared size.
"""

from __future__ import annotations

import errno
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import Problem, UnsafeArchive

__all__ = ["CORRUPT_ENTRY", "DEFAULT_LIMITS", "Limits", "check_entries", "corrupt", "extract", "open_archive"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """How large an archive may be once extracted (section 2.2)."""

    max_entries: int = 100_000
    max_file_size: int = 1024**3
    max_total_size: int = 4 * 1024**3
    max_ratio: int = 250
    """Largest uncompressed/compressed ratio allowed for entries over 1 MiB."""


DEFAULT_LIMITS = Limits()
_CHUNK = 1024 * 1024
# What zipfile raises for an entry whose data does not match its headers (a bad CRC, a
# local header naming another file, broken deflate data, data past its declared size).
CORRUPT_ENTRY = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if not name or "\0" in name:
        return "has an empty or NUL-containing name"
    if "\\" in name:
        return "contains a backslash; archives use '/' separators"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    parts = PurePosixPath(name).parts
    if ".." in parts:
        return "contains a '..' component"
    # Writers that record only permission bits (ZipFile.writestr among them) leave the type 0.
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "is not a regular file or directory"
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def check_entries(zf: zipfile.ZipFile, archive: str, limits: Limits | None = None) -> list[Problem]:
    """Every reason *zf* is unsafe to read or extract (within *limits*, by default :data:`DEFAULT_LIMITS`)."""
    limits = limits or DEFAULT_LIMITS
    problems = []
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        return [
            Problem(file=archive, path="", message=f"has {len(infos)} entries (limit {limits.max_entries})")
        ]
    seen: set[str] = set()
    files: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        where = _where(info)
        reason = _entry_problem(info)
        if reason:
            problems.append(Problem(file=archive, path=where, message=f"entry {info.filename!r} {reason}"))
            continue
        norm = str(PurePosixPath(info.filename))
        if norm in seen:
            problems.append(
                Problem(file=archive, path=where, message=f"entry {info.filename!r} appears twice")
            )
        seen.add(norm)
        if not info.is_dir():
            files.setdefault(norm, info)
        if info.file_size > limits.max_file_size:
            problems.append(
                Problem(
                    file=archive,
                    path=where,
                    message=f"entry {info.filename!r} is {info.file_size} bytes "
                    f"(limit {limits.max_file_size})",
                )
            )
        if info.file_size > _CHUNK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            problems.append(
                Problem(
                    file=archive,
                    path=where,
                    message=f"entry {info.filename!r} compresses more than "
                    f"{limits.max_ratio}:1 (a zip bomb?)",
                )
            )
        total += info.file_size
    problems += _tree_problems(files, seen, archive)
    if total > limits.max_total_size:
        problems.append(
            Problem(
                file=archive, path="", message=f"extracts to {total} bytes (limit {limits.max_total_size})"
            )
        )
    return problems


def _tree_problems(files: dict[str, zipfile.ZipInfo], names: set[str], archive: str) -> list[Problem]:
    """The file entries no directory could hold beside the others (a package is a tree of files,
    section 2.1): one named ``.``, the root itself, and one whose name is a directory of another
    entry (``src`` beside ``src/app.py``). Their extraction could only fail, or replace the target."""
    directories = {str(parent) for name in names for parent in PurePosixPath(name).parents}
    problems = []
    for norm, info in files.items():
        if norm == ".":
            reason = "names the package's root, not a file in it"
        elif norm in directories:
            reason = "is a file, but other entries are inside it as in a directory"
        else:
            continue
        problems.append(Problem(file=archive, path=_where(info), message=f"entry {info.filename!r} {reason}"))
    return problems


def open_archive(path: str | os.PathLike[str], limits: Limits | None = None) -> zipfile.ZipFile:
    """Open a ``.pyapp`` zip and check every entry; raise :class:`UnsafeArchive` with every problem."""
    name = os.fspath(path)
    label = os.path.basename(name)
    try:
        zf = zipfile.ZipFile(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(
            [Problem(file=label, path="", message=f"is not a readable zip archive: {exc}")]
        ) from None
    problems = check_entries(zf, label, limits)
    if problems:
        zf.close()
        raise UnsafeArchive(problems, f"{label} is refused:")
    return zf


def extract(zf: zipfile.ZipFile, target: str | os.PathLike[str], limits: Limits | None = None) -> Path:
    """Extract a checked archive into *target* (created; must be empty); return its path.

    Files get mode 0644 (0755 when the entry is executable), directories 0755. On any
    failure the partly written *target* is removed.
    """
    import shutil

    root = Path(target)
    label = os.path.basename(zf.filename or "archive")
    limits = limits or DEFAULT_LIMITS
    problems = check_entries(zf, label, limits)
    if problems:
        raise UnsafeArchive(problems, f"{label} is refused:")
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise UnsafeArchive([Problem(file=str(root), path="", message="extraction target is not empty")])
    resolved_root = root.resolve()
    total = 0
    try:
        for info in zf.infolist():
            try:
                total = _extract_entry(zf, info, resolved_root, label, total, limits)
            except OSError as exc:
                if exc.errno not in _NAME_ERRORS:
                    raise  # the host's trouble (a full disk...), not the archive's
                message = f"entry {info.filename!r} cannot be written: {exc.strerror}"
                raise UnsafeArchive([Problem(file=label, path=_where(info), message=message)]) from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


# What writing a file fails with because of its name (a name too long for the file system...).
_NAME_ERRORS = frozenset({errno.ENAMETOOLONG, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EILSEQ})


def _extract_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, label: str, total: int, limits: Limits
) -> int:
    """Write one entry below *root*; the bytes written so far by the whole extraction."""
    dest = (root / info.filename).resolve()
    if root not in dest.parents and not (dest == root and info.is_dir()):
        raise UnsafeArchive([Problem(file=label, path=_where(info), message="escapes the target")])
    if info.is_dir():
        dest.mkdir(mode=0o755, parents=True, exist_ok=True)
        return total
    dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    written = 0
    with _entry(zf, info, label) as src, open(dest, "xb") as out:
        while chunk := _read(src, info, label):
            written += len(chunk)
            total += len(chunk)
            if written > info.file_size or total > limits.max_total_size:
                message = "inflates past its declared size"
                raise UnsafeArchive([Problem(file=label, path=_where(info), message=message)])
            out.write(chunk)
    executable = (info.external_attr >> 16) & 0o111
    os.chmod(dest, 0o755 if executable else 0o644)
    return total


def _where(info: zipfile.ZipInfo) -> str:
    """The JSON pointer of an entry: its whole name as one token."""
    return "/" + info.filename.replace("~", "~0").replace("/", "~1")


def corrupt(info: zipfile.ZipInfo, label: str, exc: BaseException) -> UnsafeArchive:
    """The error for an entry whose data does not match its headers."""
    message = f"entry {info.filename!r} is damaged or was tampered with: {exc}"
    return UnsafeArchive([Problem(file=label, path=_where(info), message=message)], f"{label} is refused:")


def _entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> IO[bytes]:
    try:
        return zf.open(info)
    except CORRUPT_ENTRY as exc:
        raise corrupt(info, label, exc) from None


def _read(src: IO[bytes], info: zipfile.ZipInfo, label: str) -> bytes:
    try:
        return src.read(_CHUNK)
    except CORRUPT_ENTRY as exc:
        raise corrupt(info, label, exc) from None
