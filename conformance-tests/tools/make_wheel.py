"""Build the small wheels that ``builder`` cases offer a builder as its only source of dependencies.

A case describes each wheel instead of storing it::

    {"name": "tinydep",                     # the distribution name
     "version": "1.0",
     "requires": ["otherdep>=1"],           # its Requires-Dist lines (optional)
     "files": {"tinydep/__init__.py": "VALUE = 1\\n"}}   # its importable files (optional)

:func:`build` writes a pure-Python wheel (PEP 427) of it, ``<name>-<version>-py3-none-any.whl``,
with its ``.dist-info`` (``METADATA``, ``WHEEL``, ``RECORD``), byte for byte the same on every run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import make_archive

__all__ = ["build", "file_name"]


def _escaped(name: str) -> str:
    """A distribution name as a wheel file name writes it (PEP 427: runs of ``-_.`` become ``_``)."""
    return re.sub(r"[-_.]+", "_", name)


def file_name(wheel: dict[str, Any]) -> str:
    """The file name of the wheel *wheel* describes."""
    return f"{_escaped(wheel['name'])}-{wheel['version']}-py3-none-any.whl"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build(wheel: dict[str, Any]) -> bytes:
    """The bytes of the wheel *wheel* describes."""
    info = f"{_escaped(wheel['name'])}-{wheel['version']}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {wheel['name']}", f"Version: {wheel['version']}"]
    metadata += [f"Requires-Dist: {r}" for r in wheel.get("requires", [])]
    files = dict(wheel.get("files", {}))
    files[f"{info}/METADATA"] = "\n".join(metadata) + "\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: conformance-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    rows = [f"{name},{_digest(text.encode())},{len(text.encode())}" for name, text in sorted(files.items())]
    files[f"{info}/RECORD"] = "".join(f"{row}\n" for row in [*rows, f"{info}/RECORD,,"])
    entries = [{"name": name, "text": text, "compression": "stored"} for name, text in sorted(files.items())]
    return make_archive.build({"entries": entries, "record": "omit"})
