"""The names of the files a package is known by (spec sections 2.3, 2.5, 2.6 and 3)."""

from __future__ import annotations

__all__ = ["METADATA", "PYPROJECT", "RECORD", "RECORD_SIG"]

METADATA = "metadata.yaml"
PYPROJECT = "pyproject.toml"
RECORD = "RECORD"
RECORD_SIG = "RECORD.sig"
"""The detached signature of RECORD (section 2.6): at the root, never listed in RECORD."""
