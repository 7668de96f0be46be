"""What the application knows about its dependencies: where each was imported from."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DEPENDENCIES", "Finding", "findings", "speedups"]

DEPENDENCIES = {"markupsafe": "MarkupSafe", "translationstring": "translationstring"}
"""Import name -> distribution name of each dependency metadata.yaml declares."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One imported dependency."""

    module: str
    distribution: str
    version: str
    file: str
    path_entry: str
    """The ``sys.path`` entry the module was found under."""
    in_interpreter: bool
    """Whether that entry belongs to the interpreter (it should not: the dependencies are the app's own)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _path_entry(file: str) -> str:
    real = os.path.realpath(file)
    for entry in sys.path:
        if entry and real.startswith(os.path.realpath(entry) + os.sep):
            return entry
    return ""


def _in_interpreter(entry: str) -> bool:
    if not entry:
        return False
    real = os.path.realpath(entry)
    bases = {
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    return any(real == b or real.startswith(b + os.sep) for b in bases)


def findings() -> list[Finding]:
    """Import every dependency and say where it came from."""
    out = []
    for module_name, distribution in DEPENDENCIES.items():
        module = importlib.import_module(module_name)
        file = module.__file__ or ""
        entry = _path_entry(file)
        out.append(
            Finding(
                module=module_name,
                distribution=distribution,
                version=importlib.metadata.version(distribution),
                file=file,
                path_entry=entry,
                in_interpreter=_in_interpreter(entry),
            )
        )
    return out


def speedups() -> dict[str, Any]:
    """Whether markupsafe escapes with its compiled extension module, and which file that is."""
    import markupsafe

    module = sys.modules.get("markupsafe._speedups")
    file = getattr(module, "__file__", None) or ""
    compiled = file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    # markupsafe falls back to pure Python silently; the escaping function says which one it uses.
    escape = getattr(markupsafe, "_escape_inner", None) or markupsafe.escape
    return {
        "compiled": compiled and getattr(escape, "__module__", "") == "markupsafe._speedups",
        "file": file,
        "escape_module": getattr(escape, "__module__", ""),
    }
