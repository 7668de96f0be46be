"""The cache of ``.pyapp`` packages prepared for ``pyapp run``: extracted, with their wheels installed.

Each package gets ``$XDG_CACHE_HOME/pyapp/run/<sha256>/`` (``~/.cache`` when
``XDG_CACHE_HOME`` is unset), keyed by the sha256 of the ``.pyapp`` file:

``app/``            the package, extracted safely after checking it against RECORD
``site-packages/``  the wheels of ``deps/``, installed offline with ``installer`` (never pip)
``server-packages/`` links to the waitress and WhiteNoise the tools run with (see :func:`server_packages`);
                    ``server-packages-asgi/`` to their uvicorn (and what it needs) and WhiteNoise
``checked.json``    the description and configuration spec, checked once when the entry was prepared

A run holds a shared lock on its entry; when an entry is prepared, entries not
used recently (all but the :data:`KEEP` most recent) that no run holds are removed,
so the cache does not grow without bound.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apppackage import AppPackage, AppPackageError
from apppackage.files import replace_link, sha256_hex
from apppackage.hooks import serving_modules
from apppackage.safeyaml import load_yaml

__all__ = [
    "KEEP",
    "SERVING",
    "SERVING_ASGI",
    "CachedPackage",
    "cache_root",
    "clean",
    "install_wheels",
    "prepared",
    "server_packages",
]

KEEP = 5
"""How many recently used packages the run cache keeps."""
CHECKED = "checked.json"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/pyapp/run`` (default ``~/.cache/pyapp/run``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyapp" / "run"


@dataclass(frozen=True, kw_only=True)
class CachedPackage:
    """A package ready to run: its extracted root and its own site-packages."""

    entry: Path
    sha256: str

    @property
    def root(self) -> Path:
        return self.entry / "app"

    @property
    def site_packages(self) -> Path:
        return self.entry / "site-packages"

    def package(self) -> AppPackage:
        """The extracted package, with the description and spec checked when the entry was prepared."""
        checked = json.loads((self.entry / CHECKED).read_text(encoding="utf-8"))
        return AppPackage.trusted(self.root, checked["description"], checked["config_spec"])


def install_wheels(wheels: list[Path], target: Path) -> None:
    """Install *wheels* into the site-packages dir *target* with ``installer`` (no network, no pip)."""
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename

    from ..building.builder import DEPS_DIR

    supported = set(sys_tags())
    base = target.parent
    scheme = {
        "purelib": str(target),
        "platlib": str(target),
        "headers": str(base / "include"),
        "scripts": str(base / "bin"),
        "data": str(base / "data"),
    }
    destination = SchemeDictionaryDestination(
        scheme, interpreter=sys.executable, script_kind="posix", bytecode_optimization_levels=()
    )
    target.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        _, _, _, tags = parse_wheel_filename(wheel.name)
        if not tags & supported:
            raise AppPackageError(
                f"{DEPS_DIR}/{wheel.name} does not fit this Python ({sys.implementation.name} "
                f"{sys.version_info.major}.{sys.version_info.minor} on {sys.platform}): "
                "rebuild the package with pyapp-build on a host like this one"
            )
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={"INSTALLER": b"pyapp\n"})


SERVING = serving_modules(asgi=False, static=True)
"""The packages of the tools' environment a run's WSGI server may use: the server, and what serves
the static directories (spec section 3.10); :data:`SERVING_ASGI` for an ASGI app (section 3.16)."""
SERVING_ASGI = serving_modules(asgi=True, static=True)


def server_packages(entry: Path, *, asgi: bool = False) -> Path:
    """A directory holding only links to the packages of :data:`SERVING` (with *asgi*, of
    :data:`SERVING_ASGI`) the tools themselves run with.

    It goes on the application's ``sys.path`` after the app's own entries (its
    "server-packages", section 5.2), so that ``pyapp run`` can serve an app that
    does not bundle them without exposing anything else of the tools' environment;
    when a link cannot be made, the directory holding them is used.
    """
    import importlib

    target = entry / ("server-packages-asgi" if asgi else "server-packages")
    target.mkdir(parents=True, exist_ok=True)
    fallback = None
    for module in SERVING_ASGI if asgi else SERVING:
        found = Path(str(importlib.import_module(module).__file__)).resolve()
        # A package is its directory; a module of one file (typing_extensions) is that file.
        source = found.parent if found.name == "__init__.py" else found
        link = target / source.name
        try:
            if not (link.is_symlink() and Path(os.readlink(link)) == source):
                replace_link(link, source)
        except OSError:
            fallback = source.parent
    return fallback or target


def _prepare(pyapp: Path, entry: Path, sha256: str) -> None:
    for part in ("app", "site-packages", "bin", "include", "data"):
        shutil.rmtree(entry / part, ignore_errors=True)
    with AppPackage(pyapp) as package:
        package.check_integrity()
        description = package.check()
        file = description.config_file
        spec = load_yaml(package.read_bytes(file), file) if package.config_spec.fields else None
        package.extract(entry / "app")
    # What later runs start from without reading YAML or loading JSON Schema again.
    checked = {"description": dict(description.to_dict()), "config_spec": spec}
    (entry / CHECKED).write_text(json.dumps(checked), encoding="utf-8")
    from ..building.builder import DEPS_DIR

    wheels = sorted((entry / "app" / DEPS_DIR).glob("*.whl"))
    (entry / "site-packages").mkdir()
    install_wheels(wheels, entry / "site-packages")
    (entry / ".complete").write_text(sha256 + "\n")


def _is_complete(entry: Path) -> bool:
    return (entry / ".complete").exists() and (entry / CHECKED).exists()


@contextmanager
def prepared(pyapp: str | os.PathLike[str], root: Path | None = None) -> Iterator[CachedPackage]:
    """The cache entry of the ``.pyapp`` at *pyapp*, prepared once and held for the ``with`` block."""
    path = Path(pyapp)
    sha256 = sha256_hex(path)
    base = root or cache_root()
    entry = base / sha256
    entry.mkdir(parents=True, exist_ok=True)
    with open(entry / ".lock", "a+b") as lock:
        # Shared while it runs, so that any number of runs of one package go on at once and
        # cleaning skips the entry; exclusive only to prepare it.
        fcntl.flock(lock, fcntl.LOCK_SH)
        if not _is_complete(entry):
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not _is_complete(entry):
                    _prepare(path, entry, sha256)
            except BaseException:
                (entry / ".complete").unlink(missing_ok=True)
                raise
            fcntl.flock(lock, fcntl.LOCK_SH)
        os.utime(entry / ".complete")
        clean(base, keep=KEEP)
        yield CachedPackage(entry=entry, sha256=sha256)


def clean(base: Path, keep: int = KEEP) -> list[Path]:
    """Remove all but the *keep* most recently used entries that no run holds; return the removed."""
    if not base.is_dir():
        return []

    def last_used(entry: Path) -> float:
        try:
            return (entry / ".complete").stat().st_mtime
        except OSError:
            try:
                return entry.stat().st_mtime
            except OSError:
                return 0.0

    # Names starting with a dot are not entries: what the entries share, or one being staged.
    entries = sorted(
        (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")), key=last_used, reverse=True
    )
    removed = []
    for entry in entries[keep:]:
        if time.time() - last_used(entry) < 60 and not (entry / ".complete").exists():
            continue  # being prepared right now
        try:
            with open(entry / ".lock", "a+b") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        except OSError:
            continue
    return removed
