"""Where a package's files come from: a directory or a ``.pyapp`` zip, behind one interface (section 2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import AppPackageError

if TYPE_CHECKING:
    from .archive import Limits

__all__ = ["ArchiveSource", "DirectorySource", "Source", "open_source"]

# Never part of a package's content, in a checkout or anywhere else (section 2.1).
IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
# Virtualenvs and build output of a checkout: left out at its root only, since deeper
# down a directory of these names is the application's own (a package called "build").
IGNORED_ROOT_DIRS = frozenset({".venv", "venv", "dist", "build", ".eggs"})
IGNORED_SUFFIXES = (".pyc", ".pyo")


class Source(Protocol):
    """Read access to the files of a package, named by '/'-separated relative paths."""

    location: Path

    def exists(self, name: str) -> bool: ...

    def is_dir(self, name: str) -> bool: ...

    def read_bytes(self, name: str) -> bytes: ...

    def names(self) -> list[str]: ...

    def close(self) -> None: ...


class DirectorySource:
    """A package, or a source checkout, on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.location = Path(root)

    def exists(self, name: str) -> bool:
        return (self.location / name).exists()

    def is_dir(self, name: str) -> bool:
        return (self.location / name).is_dir()

    def read_bytes(self, name: str) -> bytes:
        return (self.location / name).read_bytes()

    def names(self) -> list[str]:
        """Every regular file, sorted, leaving out VCS dirs, caches, virtualenvs and build output."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.location):
            at_root = Path(dirpath) == self.location
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in IGNORED_DIRS
                and not (at_root and d in IGNORED_ROOT_DIRS)
                and not d.endswith(".egg-info")
                and not (Path(dirpath, d) / "pyvenv.cfg").exists()
            )
            rel = Path(dirpath).relative_to(self.location)
            for f in filenames:
                path = Path(dirpath, f)
                if f.endswith(IGNORED_SUFFIXES) or path.is_symlink() or not path.is_file():
                    continue
                out.append((rel / f).as_posix())
        return sorted(out)

    def close(self) -> None:
        pass


class ArchiveSource:
    """A ``.pyapp`` zip, checked on opening and read without extracting."""

    def __init__(self, path: str | os.PathLike[str], limits: Limits | None = None) -> None:
        from .archive import open_archive

        self.location = Path(path)
        self.limits = limits
        self.zip = open_archive(path, limits)
        self._names = {i.filename: i for i in self.zip.infolist()}

    def exists(self, name: str) -> bool:
        return name in self._names or self.is_dir(name)

    def is_dir(self, name: str) -> bool:
        if name.strip("/") in ("", "."):
            return True  # the package root ("paths: ['.']")
        prefix = name.rstrip("/") + "/"
        return any(n.startswith(prefix) for n in self._names)

    def read_bytes(self, name: str) -> bytes:
        info = self._names.get(name)
        if info is None or info.is_dir():
            raise FileNotFoundError(f"{name} is not in {self.location.name}")
        from .archive import CORRUPT_ENTRY, corrupt

        try:
            return self.zip.read(info)
        except CORRUPT_ENTRY as exc:
            raise corrupt(info, self.location.name, exc) from None

    def names(self) -> list[str]:
        return sorted(n for n, i in self._names.items() if not i.is_dir())

    def close(self) -> None:
        self.zip.close()


def open_source(path: str | os.PathLike[str], limits: Limits | None = None) -> Source:
    """A :class:`DirectorySource` or :class:`ArchiveSource` for *path*."""
    p = Path(path)
    if p.is_dir():
        return DirectorySource(p)
    if p.is_file():
        import zipfile

        if not zipfile.is_zipfile(p):
            raise AppPackageError(
                f"{p}: not a package (expected a directory with metadata.yaml or a .pyapp zip)"
            )
        return ArchiveSource(p, limits)
    raise AppPackageError(f"{p}: no such file or directory")
