"""apppackage: read, validate and run pyapp application packages (spec/pyapp-1.1.md).

Names are re-exported lazily so that ``import apppackage`` stays cheap: YAML,
packaging and jsonschema are imported only when a package is read.
"""

from __future__ import annotations

# Not imported from typing: that import alone would double the cost of ``import apppackage``.
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "SPEC_VERSION",
    "AppPackage",
    "AppPackageError",
    "CommandFailed",
    "ConfigSpec",
    "Description",
    "Environment",
    "Field",
    "HookFailed",
    "HostPaths",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidDescription",
    "InvalidPackage",
    "Launcher",
    "LoadError",
    "Problem",
    "RunResult",
    "UnsafeArchive",
    "__version__",
]

_LAZY = {
    "SPEC_VERSION": "_versions",
    "AppPackage": "package",
    "ConfigSpec": "configspec",
    "Field": "configspec",
    "Description": "description",
    "Environment": "environment",
    "HostPaths": "environment",
    "Launcher": "hooks",
    "RunResult": "hooks",
    "AppPackageError": "errors",
    "CommandFailed": "errors",
    "HookFailed": "errors",
    "IntegrityError": "errors",
    "InvalidConfiguration": "errors",
    "InvalidDescription": "errors",
    "InvalidPackage": "errors",
    "LoadError": "errors",
    "Problem": "errors",
    "UnsafeArchive": "errors",
}

if TYPE_CHECKING:
    from typing import Any

    from ._versions import SPEC_VERSION
    from .configspec import ConfigSpec, Field
    from .description import Description
    from .environment import Environment, HostPaths
    from .errors import (
        AppPackageError,
        CommandFailed,
        HookFailed,
        IntegrityError,
        InvalidConfiguration,
        InvalidDescription,
        InvalidPackage,
        LoadError,
        Problem,
        UnsafeArchive,
    )
    from .hooks import Launcher, RunResult
    from .package import AppPackage


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'apppackage' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
