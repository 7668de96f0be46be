"""Opening what a user points the tools at: a ``.pyapp``, a package directory or a source checkout.

A checkout's description is ``metadata.yaml`` with the keys it leaves out taken
from ``pyproject.toml`` (spec section 2.5, done by :class:`apppackage.AppPackage`)
and then from ``setup.cfg`` and a literal ``setup.py``
(:mod:`pyapp_tools._setupcfg`), each merged the same way: the first file that
gives a key wins.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from apppackage import AppPackage, InvalidPackage, Problem
from apppackage._pyproject import from_pyproject, merge_pyproject
from apppackage.checks import check_description
from apppackage.package import METADATA, PYPROJECT
from apppackage.safeyaml import load_yaml

from ._setupcfg import from_setup_cfg, from_setup_py

__all__ = ["Checkout", "open_package"]

SETUP_FILES = ("setup.cfg", "setup.py")


class Checkout(AppPackage):
    """A source checkout whose description also draws on ``setup.cfg`` / ``setup.py``."""

    @cached_property
    def _checked(self) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
        try:
            raw = load_yaml(self.source.read_bytes(METADATA), METADATA)
        except InvalidPackage as exc:
            return list(exc.problems), [], {}
        if isinstance(raw, dict):
            if self.source.exists(PYPROJECT):
                try:
                    extra = from_pyproject(self.source.read_bytes(PYPROJECT).decode("utf-8"), PYPROJECT)
                except InvalidPackage as exc:
                    return list(exc.problems), [], {}
                raw = merge_pyproject(raw, extra)
            raw = merge_pyproject(raw, from_setup_cfg(self.root))
            raw = merge_pyproject(raw, from_setup_py(self.root))
        return check_description(raw, METADATA)


def open_package(path: str | os.PathLike[str]) -> AppPackage:
    """An :class:`AppPackage` for *path*; a :class:`Checkout` when a directory has setup files."""
    p = Path(path)
    if p.is_dir() and any((p / f).is_file() for f in SETUP_FILES):
        return Checkout(p)
    return AppPackage(p)
