"""What ``pyapp run --reload`` watches, and the watching itself (hupper's polling file monitor).

A checkout's code (every file under its ``paths``), its description (``metadata.yaml`` and
the files a checkout draws it from: ``pyproject.toml``, ``setup.cfg``, ``setup.py``), its
configuration spec, its requirements file and the ``--config`` file; for a ``.pyapp``, the
package file itself (a new build restarts the app from it). Static directories are not
watched: their files are read on each request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

from apppackage.checkout import CHECKOUT_FILES
from apppackage.package import METADATA

from .running import LocalRun

__all__ = ["POLL", "Watcher", "watched_files"]

POLL = 1.0
"""Seconds between two looks at the watched files."""
_SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~")


def watched_files(path: Path, run: LocalRun) -> list[Path]:
    """The files whose change restarts the run of *path* (a checkout or a ``.pyapp``) prepared as *run*."""
    if path.is_file():
        return [path.resolve()]
    root = run.package.root
    description = run.package.description
    files = [root / METADATA, root / description.config_file, *(root / name for name in CHECKOUT_FILES)]
    if description.dependencies.requirements:
        files.append(root / description.dependencies.requirements)
    for entry in description.paths:
        files += _tree(root / entry)
    return list(dict.fromkeys(p.resolve() for p in files))


def _tree(top: Path) -> list[Path]:
    out = []
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        out += [Path(folder, n) for n in names if not n.endswith(_SKIP_SUFFIXES)]
    return out


class Watcher:
    """Sets :attr:`changed` (and *wake*) when a watched file changes; :meth:`take` says which did.

    A file that does not exist yet is watched too: its creation counts as a change.
    """

    def __init__(self, wake: threading.Event | None = None, interval: float = POLL) -> None:
        from hupper.polling import PollingFileMonitor  # type: ignore[import-untyped]

        self.changed = threading.Event()
        self._wake = wake
        self._paths: list[str] = []
        self._lock = threading.Lock()
        self._monitor = PollingFileMonitor(self._on_change, interval=interval)
        self._monitor.daemon = True  # a run that ends by an error must not wait for it
        self._monitor.start()

    def watch(self, files: Iterable[Path]) -> None:
        """Watch *files* too (those watched already stay watched), from their state now."""
        paths = [str(file) for file in files]
        for path in paths:
            self._monitor.add_path(path)
        # Their times are taken now, not at the monitor's next look: an edit made meanwhile counts.
        self._monitor.check_reload(paths)

    def _on_change(self, path: str) -> None:
        with self._lock:
            if path not in self._paths:
                self._paths.append(path)
        self.changed.set()
        if self._wake is not None:
            self._wake.set()

    def take(self) -> list[str]:
        """The files changed since the last call, and no longer :attr:`changed`.

        The bytecode cached for a changed module is removed: Python checks it by the source's
        size and modification time in whole seconds, so an edit of the same size within the
        second would otherwise run the old code.
        """
        with self._lock:
            paths, self._paths = self._paths, []
            self.changed.clear()
        for path in paths:
            source = Path(path)
            if source.suffix == ".py":
                for cached in source.parent.glob(f"__pycache__/{source.stem}.*.pyc"):
                    cached.unlink(missing_ok=True)
        return paths

    def stop(self) -> None:
        self._monitor.stop()
