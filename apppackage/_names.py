"""The names of the files a package is known by (spec sections 2.3, 2.5 and 3)."""

from __future__ import annotations

__all__ = ["METADATA", "PYPROJECT", "RECORD"]

METADATA = "metadata.yaml"
PYPROJECT = "pyproject.toml"
RECORD = "RECORD"
